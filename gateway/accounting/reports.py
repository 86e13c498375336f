"""Usage reports from the ledger: grouped totals and CSV export.

Both backends hand over the matching records in time order; grouping is done here, so
the two report the same numbers by construction. Costs are summed in nano-dollars and
converted once at the end.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from gateway.errors import InvalidRequestError
from gateway.state.records import UsageRecord

_FORMULA_STARTS = frozenset("=+-@\t\r")
GROUPS = ("team", "key", "model", "target", "endpoint", "status", "day", "hour")
CSV_COLUMNS = (
    "time",
    "request_id",
    "team",
    "key_id",
    "model",
    "target",
    "endpoint",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cost_usd",
    "cache",
    "latency_ms",
    "status",
    "estimated",
    "stream",
)


def parse_groups(value: str | None) -> list[str]:
    groups = [g.strip() for g in (value or "team").split(",") if g.strip()]
    for group in groups:
        if group not in GROUPS:
            raise InvalidRequestError(
                f"Invalid 'group_by' value '{group}'; use any of {', '.join(GROUPS)}.",
                param="group_by",
            )
    return groups


def _group_value(record: UsageRecord, group: str) -> Any:
    if group == "key":
        return record.key_id
    if group == "day":
        return datetime.fromtimestamp(record.time, UTC).strftime("%Y-%m-%d")
    if group == "hour":
        return datetime.fromtimestamp(record.time, UTC).strftime("%Y-%m-%dT%H:00Z")
    return getattr(record, group)


class _Totals:
    __slots__ = ("cached", "completion", "cost", "errors", "estimated", "prompt", "requests")

    def __init__(self) -> None:
        self.requests = self.prompt = self.completion = self.cached = 0
        self.cost = self.estimated = self.errors = 0

    def add(self, record: UsageRecord) -> None:
        self.requests += 1
        self.prompt += record.prompt_tokens
        self.completion += record.completion_tokens
        self.cached += record.cached_tokens
        self.cost += record.cost_nano
        self.estimated += record.estimated
        self.errors += record.status >= 400

    def view(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "prompt_tokens": self.prompt,
            "completion_tokens": self.completion,
            "total_tokens": self.prompt + self.completion,
            "cached_tokens": self.cached,
            "cost_usd": round(self.cost / 1e9, 9),
            "estimated_requests": self.estimated,
            "error_requests": self.errors,
        }


async def summarize(
    records: AsyncIterator[UsageRecord], groups: Sequence[str]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(totals, one row per group) over ``records``; rows by descending cost."""
    total = _Totals()
    by_group: dict[tuple[Any, ...], _Totals] = {}
    async for record in records:
        total.add(record)
        key = tuple(_group_value(record, g) for g in groups)
        bucket = by_group.get(key)
        if bucket is None:
            bucket = by_group[key] = _Totals()
        bucket.add(record)
    rows = [
        {**dict(zip(groups, key, strict=True)), **bucket.view()}
        for key, bucket in sorted(by_group.items(), key=lambda item: -item[1].cost)
    ]
    return total.view(), rows


def record_view(record: UsageRecord) -> dict[str, Any]:
    return {
        "time": record.time,
        "request_id": record.request_id,
        "team": record.team,
        "key_id": record.key_id,
        "model": record.model,
        "target": record.target,
        "endpoint": record.endpoint,
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "cached_tokens": record.cached_tokens,
        "cost_usd": round(record.cost_usd, 9),
        "cache": record.cache,
        "latency_ms": record.latency_ms,
        "status": record.status,
        "estimated": record.estimated,
        "stream": record.stream,
        **({"pipeline": msgspec.to_builtins(record.pipeline)} if record.pipeline else {}),
    }


async def csv_lines(records: AsyncIterator[UsageRecord]) -> AsyncIterator[bytes]:
    """The export, one line at a time (no report is held in memory whole)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield _take(buffer)
    async for record in records:
        row = record_view(record)
        row["time"] = datetime.fromtimestamp(record.time, UTC).isoformat(timespec="milliseconds")
        row["cost_usd"] = f"{record.cost_nano / 1e9:.9f}"
        row["estimated"] = str(record.estimated).lower()
        row["stream"] = str(record.stream).lower()
        writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
        yield _take(buffer)


def _cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (model names and request ids come
    from clients) is quoted with a leading apostrophe."""
    if isinstance(value, str) and value[:1] in _FORMULA_STARTS:
        return "'" + value
    return value


def _take(buffer: io.StringIO) -> bytes:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode("utf-8")

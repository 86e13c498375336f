"""Per-variant experiment statistics from the ledger and the feedback store.

Counts with 95% confidence intervals: Wilson score intervals for rates (errors, cache
hits, guard actions, good feedback), normal intervals of the mean for latency, tokens
and cost. Computed from the ledger (every replica's requests, restarts included), so
it agrees with the Prometheus series over the same window only up to their resets.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from gateway.experiments.config import Experiment
from gateway.feedback.records import FeedbackRecord
from gateway.state.records import UsageRecord

_Z = 1.959964


def wilson(successes: int, n: int) -> list[float] | None:
    if n == 0:
        return None
    p = successes / n
    denominator = 1 + _Z * _Z / n
    centre = (p + _Z * _Z / (2 * n)) / denominator
    half = _Z * math.sqrt(p * (1 - p) / n + _Z * _Z / (4 * n * n)) / denominator
    return [round(max(0.0, centre - half), 6), round(min(1.0, centre + half), 6)]


@dataclass(slots=True)
class _Moments:
    n: int = 0
    total: float = 0.0
    squares: float = 0.0

    def add(self, value: float) -> None:
        self.n += 1
        self.total += value
        self.squares += value * value

    def view(self, digits: int = 6) -> dict[str, Any]:
        if self.n == 0:
            return {"mean": None, "ci95": None}
        mean = self.total / self.n
        variance = max(0.0, self.squares / self.n - mean * mean) * self.n / max(1, self.n - 1)
        half = _Z * math.sqrt(variance / self.n)
        return {
            "mean": round(mean, digits),
            "ci95": [round(mean - half, digits), round(mean + half, digits)],
        }


@dataclass(slots=True)
class _Variant:
    requests: int = 0
    errors: int = 0
    cache_hits: int = 0
    guarded: int = 0
    assignment: dict[str, int] = field(default_factory=dict)
    latency: _Moments = field(default_factory=_Moments)
    input_tokens: _Moments = field(default_factory=_Moments)
    output_tokens: _Moments = field(default_factory=_Moments)
    cost: _Moments = field(default_factory=_Moments)
    good: int = 0
    bad: int = 0

    def add(self, record: UsageRecord) -> None:
        note = record.pipeline
        self.requests += 1
        self.errors += record.status >= 400
        self.cache_hits += record.cache in ("hit", "semantic")
        self.guarded += bool(note and note.guard_actions)
        how = (note.assignment if note else "") or "user"
        self.assignment[how] = self.assignment.get(how, 0) + 1
        self.latency.add(record.latency_ms)
        self.input_tokens.add(record.prompt_tokens)
        self.output_tokens.add(record.completion_tokens)
        self.cost.add(record.cost_usd)

    def view(self) -> dict[str, Any]:
        rated = self.good + self.bad

        def rate(k: int, n: int) -> dict[str, Any]:
            return {"count": k, "rate": round(k / n, 6) if n else None, "ci95": wilson(k, n)}

        return {
            "requests": self.requests,
            "assignment": self.assignment,
            "errors": rate(self.errors, self.requests),
            "cache_hits": rate(self.cache_hits, self.requests),
            "guard_actions": rate(self.guarded, self.requests),
            "latency_ms": self.latency.view(3),
            "input_tokens": self.input_tokens.view(3),
            "output_tokens": self.output_tokens.view(3),
            "cost_usd": {**self.cost.view(9), "total": round(self.cost.total, 9)},
            "feedback": {"good": self.good, "bad": self.bad, **_good(self.good, rated)},
        }


def _good(good: int, rated: int) -> dict[str, Any]:
    return {"good_rate": round(good / rated, 6) if rated else None, "ci95": wilson(good, rated)}


async def summarize(
    name: str,
    experiment: Experiment,
    active: bool,
    records: AsyncIterator[UsageRecord],
    feedback: Iterable[FeedbackRecord],
) -> dict[str, Any]:
    variants = {v.name: _Variant() for v in experiment.variants}
    async for record in records:
        note = record.pipeline
        if note is None or note.experiment != name:
            continue
        variants.setdefault(note.variant, _Variant()).add(record)
    for item in feedback:
        bucket = variants.get(item.variant)
        if bucket is not None:
            bucket.good += item.rating == "good"
            bucket.bad += item.rating == "bad"
    total = sum(v.requests for v in variants.values())
    weights = sum(v.weight for v in experiment.variants)
    return {
        "object": "experiment",
        "name": name,
        "model": experiment.model,
        "active": active,
        "requests": total,
        "variants": [
            {
                "name": v.name,
                "model": v.model,
                "weight": v.weight,
                "expected_share": round(v.weight / weights, 6),
                "share": round(variants[v.name].requests / total, 6) if total else None,
                **variants[v.name].view(),
            }
            for v in experiment.variants
        ],
    }

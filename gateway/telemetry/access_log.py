"""One structured JSON line per request, written when the request is finished.

Fields are ids, names, numbers and statuses only: never a key, a prompt or an answer.
``key_id`` is a digest prefix (not the key); ``label_id`` is the answer's GB 45438
ProduceID, so a label found in the wild leads back to this line (the labeling measures
ask providers to keep such logs for six months).
"""

from __future__ import annotations

import logging
import time

import msgspec

from gateway.auth.keys import PRINCIPAL
from gateway.pipeline.context import RequestContext
from gateway.routing.models import ROUTE, TARGET
from gateway.telemetry.events import decisions
from gateway.telemetry.line_handler import LineHandler

log = logging.getLogger("gateway.access")
_encode = msgspec.json.Encoder().encode
_INFO = logging.INFO


class _Clock:
    """The RFC 3339 second, formatted once per second rather than once per line."""

    __slots__ = ("_second", "_text")

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
        return self._text


class AccessLogger:
    """Writes the line; one per process (it only caches the formatted second)."""

    def __init__(self) -> None:
        self._clock = _Clock()

    def write(
        self, ctx: RequestContext, latency: float, ttft: float | None, trace_id: str | None
    ) -> None:
        handler = LineHandler.taking_lines(log, _INFO)
        if handler is not None:
            handler.append(_line(ctx, latency, ttft, trace_id, self._clock.now()))
        elif log.isEnabledFor(_INFO):
            line = _line(ctx, latency, ttft, trace_id, self._clock.now())
            # makeRecord + handle: what log.info does, minus the stack walk for the
            # caller's file and line, which an access line never shows.
            log.handle(log.makeRecord(log.name, _INFO, "", 0, line, (), None))


def _line(
    ctx: RequestContext, latency: float, ttft: float | None, trace_id: str | None, now: str
) -> str:
    usage = ctx.usage
    principal = PRINCIPAL.get(ctx)
    route, target = ROUTE.get(ctx), TARGET.get(ctx)
    decided = decisions(ctx)
    record = {
        "time": now,
        "request_id": ctx.request_id,
        "trace_id": trace_id,
        "team": principal.team if principal else None,
        "key_id": principal.key_id if principal else None,
        "endpoint": ctx.surface or ctx.endpoint.value,
        # The requested name when no route was resolved (a 404 or a 400 before it).
        "model": route.name if route else (ctx.model or None),
        "target": target.label if target else None,
        "attempts": ctx.attempts,
        "stream": ctx.stream,
        "status": ctx.status,
        "error_code": ctx.error.code if ctx.error else None,
        "latency_ms": round(latency * 1000, 2),
        "ttft_ms": round(ttft * 1000, 2) if ttft is not None else None,
        "overhead_ms": round(ctx.overhead_ms(), 3),
        "prompt_tokens": usage.prompt_tokens if usage else None,
        "completion_tokens": usage.completion_tokens if usage else None,
        "cached_tokens": usage.cached_tokens if usage else None,
        "usage_estimated": usage.estimated if usage else None,
        "cost_usd": decided.cost_usd,
        "cache": decided.cache,
        "guard_actions": decided.guard_actions or None,
        "refusal": decided.refusal,
        "label_id": decided.label_id,
    }
    return _encode(record).decode()

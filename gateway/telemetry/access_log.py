"""One structured JSON line per request, written when the request is finished.

Fields are ids, names, numbers and statuses only: never a key, a prompt or an answer.
"""

from __future__ import annotations

import logging
import time

import msgspec

from gateway.pipeline.context import RequestContext
from gateway.pipeline.stages import Stage

log = logging.getLogger("gateway.access")
_encode = msgspec.json.Encoder().encode


class AccessLog(Stage):
    async def finish(self, ctx: RequestContext) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        usage = ctx.usage
        principal = ctx.principal
        record = {
            "request_id": ctx.request_id,
            "team": principal.team if principal else None,
            "key_id": principal.key_id if principal else None,
            "endpoint": ctx.endpoint.value,
            "model": ctx.model,
            "target": ctx.target.label if ctx.target else None,
            "attempts": ctx.attempts,
            "stream": ctx.stream,
            "status": ctx.status,
            "error_code": ctx.error.code if ctx.error else None,
            "latency_ms": round((time.perf_counter() - ctx.started) * 1000, 2),
            "overhead_ms": round(ctx.overhead_ms(), 3),
            "prompt_tokens": usage.prompt_tokens if usage else None,
            "completion_tokens": usage.completion_tokens if usage else None,
            "usage_estimated": usage.estimated if usage else None,
        }
        log.info(_encode(record).decode())

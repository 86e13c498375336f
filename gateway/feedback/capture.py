"""Transcript capture: keeps a request's prompt and answer for teams that opt in.

Off by default (``teams.<t>.feedback.retain_content``). The prompt is the one forwarded
upstream, so input guardrails have already redacted it; the answer is the first
choice's text as the client received it from the gate (before output guardrails put
restored values back). Only completed, successful answers are kept. A store failure
is logged and never fails the request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from gateway.auth.keys import PRINCIPAL
from gateway.feedback.records import Transcript
from gateway.feedback.store import FeedbackStore
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import ChunkStream, Completion, Reply, StreamItem
from gateway.pipeline.stages import Stage
from gateway.state.base import StateError
from gateway.wire.types import Endpoint

log = logging.getLogger("gateway.feedback")
_DAY_S = 86_400.0


class CaptureTranscript(Stage):
    def __init__(self, store: FeedbackStore) -> None:
        self._store = store

    async def leave(self, ctx: RequestContext, reply: Reply) -> Reply:
        principal = PRINCIPAL.get(ctx)
        settings = principal.team_settings if principal is not None else None
        wanted = settings.feedback if settings is not None else None
        if wanted is None or not wanted.retain_content or ctx.endpoint is not Endpoint.CHAT:
            return reply
        days = wanted.retention_days
        if isinstance(reply, Completion):
            await self._keep(ctx, days, _answer(reply.body))
            return reply
        return ChunkStream(self._gather(ctx, days, reply.chunks))

    async def _gather(
        self, ctx: RequestContext, days: int, chunks: AsyncIterator[StreamItem]
    ) -> AsyncIterator[StreamItem]:
        parts: list[str] = []
        async for item in chunks:
            if isinstance(item, dict):
                for choice in item.get("choices") or ():
                    if isinstance(choice, dict) and choice.get("index", 0) == 0:
                        delta = choice.get("delta")
                        text = delta.get("content") if isinstance(delta, dict) else None
                        if isinstance(text, str):
                            parts.append(text)
            yield item
        await self._keep(ctx, days, "".join(parts))

    async def _keep(self, ctx: RequestContext, days: int, answer: str | None) -> None:
        principal = PRINCIPAL.get(ctx)
        assert principal is not None
        messages = ctx.body.get("messages")
        if answer is None or not isinstance(messages, list):
            return
        now = time.time()
        transcript = Transcript(
            team=principal.team_id,
            request_id=ctx.request_id,
            time=now,
            expires_at=now + days * _DAY_S,
            messages=[m for m in messages if isinstance(m, dict)],
            answer=answer,
        )
        try:
            await self._store.put_transcript(transcript)
        except StateError as exc:
            log.warning("transcript of request %s not kept: %s", ctx.request_id, exc)


def _answer(body: dict[str, Any]) -> str | None:
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    message = choices[0].get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else None

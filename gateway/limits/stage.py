"""The admission stage: after the model is known to be allowed, before any upstream work.

Fails closed on a limit (429 with OpenAI's headers, nothing sent upstream) and, when the
shared store is down, as configured (``on_store_error``). ``finish`` settles: it always
runs once, also on a client disconnect, and after accounting's ``Settle`` (an inner
stage, so it finishes first): a stream cut short without a usage chunk has the usage
accounting counted for it by then, so the reservation is replaced by what was really
delivered instead of being held for the rest of the window.
"""

from __future__ import annotations

from gateway.limits.limiter import RateLimiter
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import Reply
from gateway.pipeline.stages import Stage


class Admit(Stage):
    def __init__(self, limiter: RateLimiter) -> None:
        self._limiter = limiter

    async def enter(self, ctx: RequestContext) -> Reply | None:
        await self._limiter.admit(ctx)
        return None

    async def leave(self, ctx: RequestContext, reply: Reply) -> Reply:
        self._limiter.note_reply(ctx)
        return reply

    async def finish(self, ctx: RequestContext) -> None:
        error = ctx.error
        if error is not None and ctx.response_headers:
            # A request admitted and then failed upstream still reports its limits.
            for name, value in ctx.response_headers.items():
                if name.startswith("x-ratelimit-"):
                    error.headers.setdefault(name, value)
        await self._limiter.settle(ctx)

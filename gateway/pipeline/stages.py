"""The stage seam and the runner that strings stages around the upstream call.

A stage may act on the way in (``enter``: check, fill in the context, or answer early,
e.g. a cache hit), on the way out (``leave``: transform a body or wrap a stream, e.g.
output guards and labels), and at the very end (``finish``: always runs exactly once,
after the last chunk, an error, or a client disconnect, e.g. settling usage and
releasing reservations). Stages keep no per-request state on ``self``.

    enter: s1 → s2 → … → call          leave: … → s2 → s1          finish: … → s2 → s1

``leave`` and ``finish`` both unwind in reverse, like nested context managers: a stage
that reserves in ``enter`` settles in its own ``finish`` after every stage inside it
did, so one feature is exactly one stage (the first stage finishes last, with the
final word on status, usage and cost).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import anyio

from gateway.errors import GatewayError
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import ChunkStream, Completion, Reply, StreamItem

log = logging.getLogger("gateway.pipeline")

Call = Callable[[RequestContext], Awaitable[Reply]]
_FINISH_TIMEOUT_S = 10.0


class Stage:
    async def enter(self, ctx: RequestContext) -> Reply | None:
        return None

    async def leave(self, ctx: RequestContext, reply: Reply) -> Reply:
        return reply

    async def finish(self, ctx: RequestContext) -> None:
        return None


class Pipeline:
    def __init__(self, stages: Sequence[Stage], call: Call) -> None:
        self._stages = tuple(stages)
        self._call = call
        # Only stages that override a hook are awaited for it: the hot path skips no-ops.
        self._enters = tuple(s for s in self._stages if _overrides(s, "enter"))
        self._leaves = tuple(s for s in reversed(self._stages) if _overrides(s, "leave"))
        self._finishes = tuple(s for s in reversed(self._stages) if _overrides(s, "finish"))

    async def run(self, ctx: RequestContext) -> Reply:
        try:
            reply: Reply | None = None
            for stage in self._enters:
                reply = await stage.enter(ctx)
                if reply is not None:
                    break
            if reply is None:
                reply = await self._call(ctx)
            for stage in self._leaves:
                reply = await stage.leave(ctx, reply)
        except BaseException as exc:
            _note_failure(ctx, exc)
            await self._finish(ctx)
            raise
        if isinstance(reply, Completion):
            await self._finish(ctx)
            return reply
        return ChunkStream(self._finishing(ctx, reply.chunks))

    async def _finishing(
        self, ctx: RequestContext, chunks: AsyncIterator[StreamItem]
    ) -> AsyncIterator[StreamItem]:
        try:
            async for item in chunks:
                yield item
        except BaseException as exc:
            _note_failure(ctx, exc)
            raise
        finally:
            await _close(chunks)
            await self._finish(ctx)

    async def _finish(self, ctx: RequestContext) -> None:
        # Shielded: a client disconnect cancels the request's task, but usage must still
        # be settled and reservations released.
        # One scope for both (half the cost of a shield plus move_on_after).
        deadline = anyio.current_time() + _FINISH_TIMEOUT_S
        with anyio.CancelScope(shield=True, deadline=deadline):
            for stage in self._finishes:
                try:
                    await stage.finish(ctx)
                except Exception:
                    log.exception("stage %s failed to finish", type(stage).__name__)


def _note_failure(ctx: RequestContext, exc: BaseException) -> None:
    if isinstance(exc, GatewayError):
        ctx.error = exc
        ctx.status = exc.status_code
    elif isinstance(exc, GeneratorExit | anyio.get_cancelled_exc_class()):
        ctx.status = 499  # the client went away
    else:
        ctx.status = 500


async def _close(chunks: AsyncIterator[StreamItem]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        with anyio.CancelScope(shield=True):
            await aclose()


def _overrides(stage: Stage, hook: str) -> bool:
    return getattr(type(stage), hook) is not getattr(Stage, hook)

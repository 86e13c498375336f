"""Settlement: usage -> cost -> one ledger record per request, and the budget hold released.

``leave`` sees the answer as the upstream produced it (this stage is the innermost, so
output guards and labels come after): for a stream it gathers the text of each chunk
as it passes, without holding any back; when the stream ends without the upstream
having reported usage (llama.cpp, an upstream that ignores ``stream_options``), it
counts the usage with tiktoken and, if the client asked for ``include_usage``, sends
the usage chunk the upstream did not.

``finish`` runs exactly once however the request ended (completed, failed, client gone
mid-stream): it takes the upstream's usage, else counts what was delivered (the prompt
is charged only once the upstream started answering), prices it at the target that
answered, puts the cost in ``x-gateway-cost-usd`` (non-streaming answers; a stream's
headers are gone by then) and queues the record. The write is idempotent on the
request's ``usage_id``, so it is never recorded twice. Requests without a valid key
are not recorded (the access log has them).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from gateway.accounting.budget import new_usage_id
from gateway.accounting.prices import Rate
from gateway.accounting.service import Accounting
from gateway.accounting.state import ACCOUNTING, AccountingState
from gateway.accounting.usage import (
    estimate,
    gather_body,
    gather_chunk,
    reported,
    usage_chunk,
    usage_json,
)
from gateway.auth.keys import PRINCIPAL
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import ChunkStream, Completion, Reply, StreamItem
from gateway.pipeline.stages import Stage
from gateway.routing.models import CALLS, TARGET, RouteTarget
from gateway.state.records import PipelineNote, Settlement, UsageRecord
from gateway.telemetry.events import NOTE, charged, decisions
from gateway.wire.types import Usage

COST_HEADER = "x-gateway-cost-usd"
_CACHE_HITS = frozenset({"hit", "semantic"})


class Settle(Stage):
    def __init__(self, accounting: Accounting) -> None:
        self._accounting = accounting

    async def leave(self, ctx: RequestContext, reply: Reply) -> Reply:
        state = _state(ctx)
        if isinstance(reply, Completion):
            if not reported(ctx.usage):
                gather_body(reply.body, state.delivered)
                ctx.usage = await estimate(ctx, state.delivered)
                # The body's usage was missing or zeros: show the client the count.
                reply.body["usage"] = usage_json(ctx.usage, ctx.endpoint)
            return reply
        return ChunkStream(self._observe(ctx, state, reply.chunks))

    async def _observe(
        self, ctx: RequestContext, state: AccountingState, chunks: AsyncIterator[StreamItem]
    ) -> AsyncIterator[StreamItem]:
        delivered = state.delivered
        last: dict[str, object] | None = None
        async for item in chunks:
            if isinstance(item, dict):
                last = item
                if item.get("usage") is not None:
                    state.usage_seen = True
                gather_chunk(item, delivered)
            yield item
        # The upstream finished its stream; the dispatcher has stored its usage, if any.
        if not reported(ctx.usage):
            ctx.usage = await estimate(ctx, delivered)
            if ctx.include_usage and not state.usage_seen and last is not None:
                yield usage_chunk(last, ctx.usage, ctx.endpoint)

    async def finish(self, ctx: RequestContext) -> None:
        principal = PRINCIPAL.get(ctx)
        if principal is None:
            return  # refused before authentication: nothing held, nobody to charge
        state = _state(ctx)
        cache = ctx.response_headers.get("x-gateway-cache", "")
        usage = ctx.usage
        if not reported(usage) and (state.delivered or _upstream_answering(ctx)):
            usage = ctx.usage = await estimate(ctx, state.delivered)
        usage = usage or Usage()
        cost = 0
        target = TARGET.get(ctx)
        if target is not None and cache not in _CACHE_HITS:
            cost = self._cost(ctx, target, usage)
        charged(ctx, cost / 1e9)
        ctx.response_headers[COST_HEADER] = format_usd(cost)
        record = UsageRecord(
            usage_id=state.usage_id,
            time=time.time(),
            request_id=ctx.request_id,
            team=principal.team,
            team_id=principal.team_id,
            key_id=principal.key_id,
            model=ctx.model,
            target=target.label if target is not None else "",
            endpoint=ctx.endpoint.value,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cached_tokens=usage.cached_tokens,
            cost_nano=cost,
            cache=cache,
            latency_ms=round((time.perf_counter() - ctx.started) * 1000, 3),
            status=ctx.status,
            estimated=usage.estimated,
            stream=ctx.stream,
            pipeline=_pipeline_note(ctx),
        )
        self._accounting.state.settle(
            Settlement(
                record=record,
                scopes=("team:" + principal.team_id, principal.key_scope),
                periods=self._accounting.clock.periods().ids,
                hold=state.hold,
            )
        )

    def _cost(self, ctx: RequestContext, target: RouteTarget, usage: Usage) -> int:
        """Each upstream call at its own target's price: the calls before the last at the
        usage they reported, the last (the one ``target`` names) at what remains."""
        prices = self._accounting.prices
        calls = CALLS.get(ctx) or []
        cost = 0
        for call in calls[:-1]:
            if call.usage is not None:
                cost += _priced(prices.for_target(call.target, ctx.model), call.usage)
                usage = _minus(usage, call.usage)
        return cost + _priced(prices.for_target(target, ctx.model), usage)


def _priced(rate: Rate, usage: Usage) -> int:
    return rate.cost(usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens)


def _minus(total: Usage, part: Usage) -> Usage:
    return Usage(
        prompt_tokens=max(total.prompt_tokens - part.prompt_tokens, 0),
        completion_tokens=max(total.completion_tokens - part.completion_tokens, 0),
        cached_tokens=max(total.cached_tokens - part.cached_tokens, 0),
        estimated=total.estimated,
    )


def format_usd(nano: int) -> str:
    """Nano-dollars as a plain decimal: ``0.0000375``, ``0``."""
    text = f"{nano / 1e9:.9f}".rstrip("0").rstrip(".")
    return text or "0"


def _state(ctx: RequestContext) -> AccountingState:
    state = ACCOUNTING.get(ctx)
    if state is None:
        state = ACCOUNTING.set(ctx, AccountingState(usage_id=new_usage_id()))
    return state


def _pipeline_note(ctx: RequestContext) -> PipelineNote | None:
    note = NOTE.get(ctx)
    if note is None:
        return None
    note.guard_actions = len(decisions(ctx).guard_actions)
    return note


def _upstream_answering(ctx: RequestContext) -> bool:
    """The client left while the upstream was working on the answer: the provider bills
    the prompt even though nothing reached the client."""
    return TARGET.get(ctx) is not None and ctx.status == 499

"""The cache stage: answer from the cache before routing, store finished answers after.

Place it after authentication, model access, admission and the input guard (a hit is
still an admitted, guarded request) and before ``Settle``. ``enter`` looks up the exact
key, then the semantic index, and on a hit short-circuits with the stored body (or its
chunks, for a streaming request). ``leave`` only watches: it keeps the body, or folds a
stream's chunks as they pass. ``finish`` decides: the answer is stored only when the
request finished normally (status 200, no error, the stream ran to its end, every
choice finished with ``stop``/``length``/``tool_calls``) and no output guard acted on
it. Stores run in the background; nothing here ever fails a request.

Per request (for other stages and the ledger):

- the cache result, ``"hit"`` | ``"semantic"`` | ``"miss"`` | ``"bypass"`` (reported
  through ``telemetry.events.cache_result``), None when the cache is off for the team;
- response headers ``x-gateway-cache`` (same values but bypass) and, for semantic hits,
  ``x-gateway-cache-similarity``; ``x-gateway-cache-threshold`` (the team's effective
  threshold; once the query is embedded, the similarity it needed: lower for a
  Latin-script query that the verifier judges) whenever a semantic lookup applies;
  ``x-gateway-cache-refused`` on a miss whose closest candidate was refused
  (``direction; similarity=0.9712``, ``below-threshold; similarity=0.81``,
  ``verifier; similarity=0.80``); ``x-gateway-cache-key`` on a miss that will be
  stored (``GET /v1/cache/entries/{key}`` says when it is stored and searchable);
- on a hit ``ctx.usage`` is the stored answer's usage and no ``TARGET`` is set:
  the ledger records zero upstream cost, and those tokens priced at the model's rate
  are the cost the hit saved.

Request headers: ``Cache-Control: no-cache`` skips the lookup (the answer is still
stored), ``no-store`` skips storing (the lookup still happens).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.auth.keys import PRINCIPAL
from gateway.cache import keys, replay
from gateway.cache.service import Lookup, Miss, ResponseCache
from gateway.pipeline.context import RequestContext, Slot
from gateway.pipeline.reply import ChunkStream, Completion, Reply, StreamItem
from gateway.pipeline.stages import Stage
from gateway.telemetry.events import cache_result, decisions
from gateway.wire.types import Endpoint

if TYPE_CHECKING:
    from gateway.cache.semantic import Query

CACHE_HEADER = "x-gateway-cache"
SIMILARITY_HEADER = "x-gateway-cache-similarity"
THRESHOLD_HEADER = "x-gateway-cache-threshold"
REFUSED_HEADER = "x-gateway-cache-refused"
KEY_HEADER = "x-gateway-cache-key"


@dataclass(slots=True)
class CacheState:
    """One request's cache bookkeeping (its ``CACHE`` slot)."""

    plan: keys.Plan
    no_store: bool
    query: Query | None = None
    body: dict[str, Any] | None = None
    assembler: replay.Assembler | None = None
    stream_done: bool = False


CACHE: Slot[CacheState] = Slot("cache")


class CacheStage(Stage):
    def __init__(self, cache: ResponseCache) -> None:
        self._cache = cache

    async def enter(self, ctx: RequestContext) -> Reply | None:
        principal = PRINCIPAL.get(ctx)
        if principal is None:
            return None
        policy = self._cache.policy(principal)
        if policy is None:
            return None
        no_cache, no_store = _directives(ctx.client_headers.get("cache-control", ""))
        plan = keys.plan(
            principal.team_id, ctx.endpoint, ctx.model, ctx.body, policy, self._cache.embedder_name
        )
        if plan is None:
            cache_result(ctx, "bypass")
            return None
        state = CacheState(plan, no_store)
        CACHE.set(ctx, state)
        found: Lookup | None = None
        if plan.namespace is not None and self._cache.semantic is not None:
            ctx.response_headers[THRESHOLD_HEADER] = f"{plan.policy.threshold:.4f}"
        if not no_cache:
            found = await self._cache.exact(plan)
            if found is None and self._cache.may_match(plan):
                state.query = await self._cache.embed(plan.query)
                if state.query is not None:
                    floor = self._cache.floor(plan, state.query)
                    ctx.response_headers[THRESHOLD_HEADER] = f"{floor:.4f}"
                    result = await self._cache.similar(plan, state.query)
                    if isinstance(result, Miss):
                        ctx.response_headers[REFUSED_HEADER] = _refusal(result)
                    else:
                        found = result
            elif found is None and THRESHOLD_HEADER in ctx.response_headers:
                ctx.response_headers[REFUSED_HEADER] = "empty"  # nothing comparable cached
        if found is None:
            cache_result(ctx, "miss")
            ctx.response_headers[CACHE_HEADER] = "miss"
            if not no_store:
                ctx.response_headers[KEY_HEADER] = plan.exact_key
            return None
        return self._replay(ctx, found)

    async def leave(self, ctx: RequestContext, reply: Reply) -> Reply:
        state = CACHE.get(ctx)
        if state is None or decisions(ctx).cache != "miss" or state.no_store:
            return reply
        if isinstance(reply, Completion):
            state.body = reply.body
            return reply
        state.assembler = replay.Assembler(ctx.endpoint)
        return ChunkStream(self._watch(state, reply.chunks))

    async def finish(self, ctx: RequestContext) -> None:
        state = CACHE.get(ctx)
        if state is None or decisions(ctx).cache != "miss" or state.no_store:
            return
        if ctx.status != 200 or ctx.error is not None:
            return
        if any(action.startswith("output:") for action in decisions(ctx).guard_actions):
            return  # an output guard changed or judged it: never replay it blind
        body = state.body
        if state.assembler is not None:
            body = state.assembler.body() if state.stream_done else None
        if body is None or not replay.storable(ctx.endpoint, body):
            return
        self._cache.store_later(state.plan, body, state.query)

    async def _watch(
        self, state: CacheState, chunks: AsyncIterator[StreamItem]
    ) -> AsyncIterator[StreamItem]:
        assembler = state.assembler
        assert assembler is not None
        async for item in chunks:
            if isinstance(item, dict):
                assembler.add(item)
            yield item
        state.stream_done = True

    def _replay(self, ctx: RequestContext, found: Lookup) -> Reply:
        cache_result(ctx, "semantic" if found.status == "semantic" else "hit", found.similarity)
        ctx.response_headers[CACHE_HEADER] = found.status
        if found.similarity is not None:
            ctx.response_headers[SIMILARITY_HEADER] = f"{found.similarity:.4f}"
        body = replay.fresh(found.body, ctx.endpoint)
        ctx.usage = replay.usage_of(body)
        if ctx.usage is not None and ctx.endpoint is Endpoint.EMBEDDINGS:
            ctx.usage.completion_tokens = 0
        if ctx.stream and ctx.endpoint is not Endpoint.EMBEDDINGS:
            return ChunkStream(replay.chunks(body, ctx.endpoint, ctx.include_usage))
        return Completion(body)


def _refusal(miss: Miss) -> str:
    """``direction; similarity=0.9712``: the guard rule (or ``below-threshold``,
    ``empty``, ``expired``) that kept the closest candidate from being served."""
    if miss.similarity is None:
        return miss.reason
    return f"{miss.reason}; similarity={miss.similarity:.4f}"


def _directives(value: str) -> tuple[bool, bool]:
    """(no-cache, no-store) from a Cache-Control request header."""
    if not value:
        return False, False
    parts = {p.strip().lower().split("=", 1)[0] for p in value.split(",")}
    return "no-cache" in parts, "no-store" in parts

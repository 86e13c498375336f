"""The response cache: policies, store and (optionally) the semantic index, built once.

Lookup order: the exact key first (a dictionary or Redis GET), then, for requests the
team's policy allows, the semantic index (embed → search → guard → fetch the body).
Stores run as background tasks after the response has finished, so a miss pays only
for its lookup. Any failure of the store or the embedder is logged and counts as a
miss: the upstream answer is always a correct answer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from gateway.auth.per_team import PerTeam
from gateway.cache.config import CacheConfig
from gateway.cache.keys import Plan, Policy, resolve_policy, uses_semantic
from gateway.cache.store import CacheStore, MemoryStore, SharedRecord
from gateway.config.schema import Team
from gateway.extras import require
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import Completion, Reply
from gateway.routing.models import ROUTE
from gateway.wire.types import Endpoint

if TYPE_CHECKING:
    from gateway.cache.semantic import Query, SemanticIndex
    from gateway.embedding.service import Embedders

log = logging.getLogger("gateway.cache")
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(dict[str, Any]).decode
_MAX_PENDING = 1_000  # background stores beyond this are dropped, not queued

Dispatch = Callable[[RequestContext], Awaitable[Reply]]
Resolve = Callable[[str], Any]


class Lookup(msgspec.Struct, frozen=True):
    body: dict[str, Any]
    status: str  # "hit" | "semantic"
    similarity: float | None = None


class Miss(msgspec.Struct, frozen=True):
    """A semantic lookup that served nothing: why its closest candidate was refused
    (a guard rule, "below-threshold", or "empty" when nothing comparable is cached)."""

    reason: str
    similarity: float | None = None


class ResponseCache:
    def __init__(
        self,
        config: CacheConfig,
        policies: PerTeam[Policy | None],
        store: CacheStore,
        semantic: SemanticIndex | None,
    ) -> None:
        self.config = config
        self.policy = policies  # principal → the team's policy (None: off for it)
        self._store = store
        self.semantic = semantic
        self.embedder_name = semantic.embedder.name if semantic is not None else ""
        self._pending: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self._store.start(self._on_record, self._on_purge)

    async def aclose(self) -> None:
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=5)
        await self._store.aclose()
        # The embedder belongs to the shared embedder service, which closes it.

    # --- lookup ---------------------------------------------------------------------

    async def exact(self, plan: Plan) -> Lookup | None:
        raw = await self._guarded(self._store.get(plan.team, "e:" + plan.exact_key))
        return Lookup(_decode(raw), "hit") if raw else None

    def may_match(self, plan: Plan) -> bool:
        """Whether a semantic lookup could find anything (an empty namespace cannot: the
        query is then embedded only if its answer is stored, in the background)."""
        return (
            self.semantic is not None
            and plan.namespace is not None
            and self.semantic.has_namespace(plan.namespace)
        )

    async def embed(self, text: str) -> Query | None:
        if self.semantic is None:
            return None
        try:
            return await self.semantic.embed(text)
        except Exception as exc:
            log.warning("cache: embedding failed, treating as a miss: %s", exc)
            return None

    def floor(self, plan: Plan, query: Query) -> float:
        """The similarity a candidate needs for this query (the threshold, lower where
        the verifier judges)."""
        if self.semantic is None:
            return plan.policy.threshold
        return self.semantic.floor(query, plan.policy.threshold, plan.policy.guard)

    async def similar(self, plan: Plan, query: Query) -> Lookup | Miss:
        if self.semantic is None or plan.namespace is None:
            return Miss("empty")
        found, refusal = await self.semantic.search(
            plan.namespace, query, plan.policy.threshold, plan.policy.guard
        )
        if found is None:
            if refusal is None:
                return Miss("empty")
            return Miss(refusal.reason, refusal.similarity)
        # A semantic entry's id is the exact key of the request that stored it.
        raw = await self._guarded(self._store.get(plan.team, "e:" + found.entry_id))
        if not raw:
            self.semantic.forget(found.entry_id)  # body expired or purged elsewhere
            return Miss("expired", found.similarity)
        return Lookup(_decode(raw), "semantic", found.similarity)

    async def status(self, team: str, key: str) -> tuple[bool, bool]:
        """(stored, searchable) of the answer stored under exact ``key`` for ``team``:
        stored = an exact repeat hits; searchable = this replica's semantic index holds
        it, so reworded requests can hit it too."""
        raw = await self._guarded(self._store.get(team, "e:" + key))
        searchable = self.semantic is not None and self.semantic.searchable(key)
        return bool(raw), bool(raw) and searchable

    # --- store ----------------------------------------------------------------------

    def store_later(self, plan: Plan, body: dict[str, Any], query: Query | None) -> None:
        if len(self._pending) >= _MAX_PENDING:
            return
        task = asyncio.create_task(self._store_now(plan, body, query))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _store_now(self, plan: Plan, body: dict[str, Any], query: Query | None) -> None:
        value = _encode(body)
        if len(value) > self.config.max_entry_bytes:
            return
        ttl = plan.policy.ttl_s
        try:
            # The body first: an exact repeat hits as soon as possible. The semantic entry
            # follows once the query is embedded (``status`` says when).
            await self._store.put(plan.team, "e:" + plan.exact_key, value, ttl)
            if plan.namespace is None or self.semantic is None:
                return
            if query is None:
                query = await self.semantic.embed(plan.query)
            entry_id = plan.exact_key  # the body is stored once, under its exact key
            from gateway.cache.semantic import record_vector

            record = SharedRecord(
                entry_id=entry_id,
                team=plan.team,
                namespace=plan.namespace,
                query=plan.query,
                expires_at=time.time() + ttl,
                vector=record_vector(query.vector),
            )
            self.semantic.add(record, query)
            await self._store.share(record)
        except Exception as exc:
            log.warning("cache: could not store an answer: %s", exc)

    async def purge(self, team: str) -> int:
        removed = await self._store.purge(team)
        if self.semantic is not None:
            self.semantic.purge(team)
        return removed

    def _on_record(self, record: SharedRecord) -> None:
        if self.semantic is not None:
            self.semantic.add(record)

    def _on_purge(self, team: str) -> None:
        if self.semantic is not None:
            self.semantic.purge(team)

    async def _guarded(self, pending: Awaitable[bytes | None]) -> bytes | None:
        try:
            return await pending
        except Exception as exc:
            log.warning("cache: store unavailable, treating as a miss: %s", exc)
            return None


def build_cache(
    config: CacheConfig,
    teams: Mapping[str, Team],
    state_url: str,
    embeddings: Callable[[str, str], Awaitable[dict[str, Any]]],
    embedders: Embedders | None = None,
) -> ResponseCache | None:
    """None when the cache is off for every team in the config and by default (no
    stage, nothing loaded); teams created later through the admin API then cannot turn
    it on (the admin API says so)."""
    default = resolve_policy(config, None)
    listed = [resolve_policy(config, team.cache) for team in teams.values()]
    if default is None and not any(listed):
        return None
    store: CacheStore
    if state_url.startswith(("redis://", "rediss://", "unix://")):
        from gateway.cache.redis_store import RedisStore

        store = RedisStore(state_url, config.semantic.max_entries if config.semantic else 1000)
    else:
        store = MemoryStore(config.max_entries, config.max_bytes)
    semantic: SemanticIndex | None = None
    if config.semantic is not None and uses_semantic(config, teams):
        require("cache", "the semantic cache")
        from gateway.cache.semantic import SemanticIndex, build_embedder, build_verifier
        from gateway.embedding.service import Embedders as OwnEmbedders

        shared = embedders or OwnEmbedders()
        embedder = build_embedder(config.semantic, embeddings, shared)
        semantic = SemanticIndex(config.semantic, embedder, build_verifier(config.semantic, shared))
    with_embedder = semantic is not None

    def policy(team: Team) -> Policy | None:
        found = resolve_policy(config, team.cache)
        if found is not None and found.semantic and not with_embedder:
            # No team at start-up needed the embedder, so none was loaded: exact only.
            found = dataclasses.replace(found, semantic=False)
        return found

    return ResponseCache(config, PerTeam(policy, default, teams), store, semantic)


def embeddings_through(
    dispatch: Dispatch, resolve: Resolve
) -> Callable[[str, str], Awaitable[dict[str, Any]]]:
    """The gateway's own embeddings route (routing, fallbacks, translators) as a call."""

    async def call(model: str, text: str) -> dict[str, Any]:
        ctx = RequestContext(Endpoint.EMBEDDINGS, "req_cache_" + os.urandom(8).hex())
        ctx.model = model
        ctx.body = {"model": model, "input": text}
        route = resolve(model)
        if route is None:
            raise LookupError(f"the embeddings model {model!r} is not in the model table")
        ROUTE.set(ctx, route)
        reply = await dispatch(ctx)
        if not isinstance(reply, Completion):
            raise TypeError("the embeddings route answered with a stream")
        return reply.body

    return call


def team_check(cache: ResponseCache | None) -> Callable[[Team], tuple[str, str] | None]:
    """Refuses, for teams created through the admin API, turning on a cache this gateway
    did not build (it is built at start-up only when some team of the config uses it)."""

    def check(team: Team) -> tuple[str, str] | None:
        if cache is None and team.cache is not None and team.cache.enabled:
            return "cache.enabled", (
                "The response cache is off on this gateway: enable `cache` in its config "
                "before turning it on for a team."
            )
        return None

    return check

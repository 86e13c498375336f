"""The shared engine: the two Lua scripts of ``gateway.limits.lua`` on one Redis.

The connection is ``limits``' async Redis storage (redis-py underneath) over a
``BlockingConnectionPool``: a burst of thousands of admissions queues for a pooled
connection instead of failing with ``MaxConnectionsError`` (``StoreGuard`` queues them
before the pool, so that a long queue is never mistaken for an outage). ``limits``' own strategies
count one key per call and cannot reserve across several limits or settle a
reservation afterwards, so the counting itself is our scripts; ``limits`` supplies the
client over that pool and the storage URL handling (``redis://``, ``rediss://``,
``unix://``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from limits.aio.storage import RedisStorage
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from gateway.limits import lua
from gateway.limits.config import Store
from gateway.limits.engine import BUCKET_MS, BUCKETS, Verdict
from gateway.limits.rules import Kind, Rule

# What "the store is unreachable" looks like from redis-py: connection refused or reset,
# timeouts, a server still loading.
STORE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)

_KIND = {Kind.REQUESTS: "r", Kind.TOKENS: "t", Kind.CONCURRENCY: "c"}


def _storage_uri(url: str) -> str:
    """``limits`` names its async Redis schemes ``async+redis`` / ``async+redis+unix``."""
    if url.startswith("unix://"):
        return "async+redis+unix://" + url[len("unix://") :]
    return "async+" + url


class RedisEngine:
    divisor = 1

    def __init__(self, url: str, store: Store, *, lease_ms: int) -> None:
        pool: aioredis.BlockingConnectionPool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=store.pool_size,
            timeout=None,
            socket_connect_timeout=store.connect_timeout_s,
            socket_timeout=store.timeout_s,
            # One immediate retry on a broken connection: after a Redis restart every
            # pooled connection is stale, and each would otherwise fail one request.
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        )
        self._pool = pool
        # limits types its options as scalars; the pool is passed through to redis-py.
        options: dict[str, Any] = {"connection_pool": pool}
        self._storage = RedisStorage(_storage_uri(url), implementation="redispy", **options)
        bridge: Any = self._storage.bridge
        client: Any = bridge.get_connection()
        # redis-py's Script runs EVALSHA and reloads the script after a Redis restart.
        self._admit = client.register_script(lua.ADMIT)
        self._settle = client.register_script(lua.SETTLE)
        self._lease_ms = lease_ms

    async def admit(self, rules: Sequence[Rule], tokens: int, lease: str) -> Verdict:
        args: list[int | str] = [BUCKETS, BUCKET_MS, tokens, lease, self._lease_ms]
        for rule in rules:
            args.append(_KIND[rule.kind])
            args.append(rule.limit)
        reply = await self._admit(keys=[rule.key for rule in rules], args=args)
        admitted, bucket, reset_ms, refused, retry_ms = (int(v) for v in reply[:5])
        return Verdict(
            admitted == 1,
            bucket,
            [int(v) for v in reply[5:]],
            reset_ms,
            refused,
            retry_ms,
        )

    async def settle(self, rules: Sequence[Rule], bucket: int, delta: int, lease: str) -> None:
        token_keys = [r.key for r in rules if r.kind is Kind.TOKENS] if delta else []
        slot_keys = [r.key for r in rules if r.kind is Kind.CONCURRENCY]
        if not token_keys and not slot_keys:
            return
        await self._settle(
            keys=[*token_keys, *slot_keys],
            args=[BUCKETS, BUCKET_MS, bucket, delta, lease, len(token_keys)],
        )

    async def aclose(self) -> None:
        await self._pool.aclose()

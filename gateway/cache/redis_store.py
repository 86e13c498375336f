"""The shared cache for many replicas: bodies in Redis, vectors synced through a log.

Redis 7 has no vector search, so each replica keeps its own in-process index and Redis
keeps everything needed to build it:

- ``gw:cache:<team>:e:<sha256>``: response bodies under the request's exact key,
  ``SET ... PX ttl``, so Redis expires them on its own clock;
- ``gw:cache:log``: a stream of ``add`` records (namespace, query, vector, expiry) and
  ``purge`` records, capped at about ``2 x max_entries``. Every replica reads it from
  the start when it starts (replaying adds and purges in order, skipping expired
  entries) and then tails it with a blocking ``XREAD``, so an entry stored by one
  replica is found by every other within milliseconds. A replica whose index lost an
  entry to the cap or its LRU just misses; one whose index has an entry whose body
  expired or was purged finds no body and misses. A hit therefore always comes from a
  body that is still in Redis.

Redis going away degrades to misses (logged), never to errors; the tail reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from typing import Any

from gateway.cache.store import OnPurge, OnRecord, SharedRecord

log = logging.getLogger("gateway.cache")

PREFIX = "gw:cache:"
LOG_KEY = PREFIX + "log"
_BLOCK_MS = 2_000
_READ_BATCH = 500
_GLOB = re.compile(r"([*?\[\]\\])")


class RedisStore:
    def __init__(self, url: str, max_entries: int) -> None:
        import redis.asyncio as aioredis
        from redis.exceptions import RedisError

        self._error: type[Exception] = RedisError
        self._redis: Any = aioredis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        # Blocking reads hold their connection: the tail gets a client of its own.
        self._reader: Any = aioredis.from_url(
            url, socket_timeout=(_BLOCK_MS / 1000) + 5, socket_connect_timeout=2.0
        )
        self._log_cap = max_entries * 2
        self._last_id = "0-0"
        self._tail_task: asyncio.Task[None] | None = None
        self._on_record: OnRecord | None = None
        self._on_purge: OnPurge | None = None

    async def start(self, on_record: OnRecord, on_purge: OnPurge) -> None:
        self._on_record, self._on_purge = on_record, on_purge
        try:
            while await self._read(block=None):
                pass  # catch up with the log before serving
        except self._error as exc:
            log.warning("cache: could not read the shared index log yet: %s", exc)
        self._tail_task = asyncio.create_task(self._tail(), name="cache-index-tail")

    async def get(self, team: str, key: str) -> bytes | None:
        value = await self._redis.get(_key(team, key))
        return value if isinstance(value, bytes) else None

    async def put(self, team: str, key: str, value: bytes, ttl_s: float) -> None:
        await self._redis.set(_key(team, key), value, px=max(1, int(ttl_s * 1000)))

    async def share(self, record: SharedRecord) -> None:
        await self._redis.xadd(
            LOG_KEY,
            {
                "op": "add",
                "id": record.entry_id,
                "team": record.team,
                "ns": record.namespace,
                "q": record.query,
                "exp": repr(record.expires_at),
                "v": record.vector,
            },
            maxlen=self._log_cap,
            approximate=True,
        )

    async def purge(self, team: str) -> int:
        pattern = _GLOB.sub(r"\\\1", f"{PREFIX}{team}:") + "*"
        removed = 0
        batch: list[bytes] = []
        async for key in self._redis.scan_iter(match=pattern, count=500):
            batch.append(key)
            if len(batch) >= 500:
                removed += int(await self._redis.unlink(*batch))
                batch = []
        if batch:
            removed += int(await self._redis.unlink(*batch))
        await self._redis.xadd(
            LOG_KEY, {"op": "purge", "team": team}, maxlen=self._log_cap, approximate=True
        )
        return removed

    async def aclose(self) -> None:
        if self._tail_task is not None:
            self._tail_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._tail_task
        for client in (self._redis, self._reader):
            with contextlib.suppress(Exception):
                await client.aclose()

    async def _tail(self) -> None:
        while True:
            try:
                await self._read(block=_BLOCK_MS)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: keep serving (misses), retry
                log.warning("cache: shared index log unavailable: %s", exc)
                await asyncio.sleep(1.0)

    async def _read(self, block: int | None) -> int:
        response = await self._reader.xread(
            {LOG_KEY: self._last_id}, count=_READ_BATCH, block=block
        )
        count = 0
        for _stream, entries in response or ():
            for entry_id, fields in entries:
                self._last_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
                self._apply(fields)
                count += 1
        return count

    def _apply(self, fields: dict[bytes, bytes]) -> None:
        op = fields.get(b"op")
        team = fields.get(b"team", b"").decode()
        if op == b"purge" and self._on_purge is not None:
            self._on_purge(team)
        elif op == b"add" and self._on_record is not None:
            expires_at = float(fields.get(b"exp", b"0"))
            if expires_at <= time.time():
                return
            self._on_record(
                SharedRecord(
                    entry_id=fields[b"id"].decode(),
                    team=team,
                    namespace=fields[b"ns"].decode(),
                    query=fields[b"q"].decode(),
                    expires_at=expires_at,
                    vector=fields[b"v"],
                )
            )


def _key(team: str, key: str) -> str:
    return f"{PREFIX}{team}:{key}"

"""The shared backend: Redis, for many replicas.

Every replica sees the same keys, teams, budget counters and ledger. Budget reservation
and settlement are Lua scripts (``state.lua``): atomic on the server, on the server's
clock, never a read followed by a write from here. Settlements are queued and written
in pipelined batches every ``flush_interval_s``; until its batch is written a request's
hold still counts, so a budget is never overshot by the delay, only briefly
under-used. Each record carries a ``seen`` marker (``SET NX``, 10 minutes) so a batch
retried after an ambiguous failure writes no record twice.

Durability is Redis's: run it with ``appendonly yes`` (AOF, ``appendfsync everysec``)
or the ledger and keys are lost when Redis restarts.

Connections come from a ``BlockingConnectionPool`` (a burst waits for a free
connection instead of failing). ``state.url`` may tune it with Redis URL parameters:
``?max_connections=64&timeout=5&socket_timeout=5&socket_connect_timeout=2``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from urllib.parse import parse_qs, urlsplit

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from gateway.state import lua
from gateway.state.base import StateError
from gateway.state.records import (
    AuthSnapshot,
    BudgetCheck,
    Hold,
    KeyRecord,
    OpenRecord,
    Refusal,
    Settlement,
    TeamRecord,
    UsageQuery,
    UsageRecord,
    encode,
    key_decoder,
    settlement_decoder,
    team_decoder,
    usage_decoder,
)
from gateway.state.write_behind import WriteBehind

log = logging.getLogger("gateway.state")

PREFIX = "gw:"
_POOL_DEFAULTS = {
    "max_connections": 64,
    "timeout": 5.0,
    "socket_timeout": 5.0,
    "socket_connect_timeout": 2.0,
}
_SEEN_TTL_MS = 600_000
_BATCH = 500
_MAX_QUEUE = 200_000
# Records reach the stream up to a flush interval (or a Redis outage) after their time.
_LATE_WRITE_SLACK_MS = 3_600_000
_PAGE = 1_000


class RedisState:
    kind = "redis"

    def __init__(
        self, url: str, *, flush_interval_s: float = 0.05, open_delay_s: float = 0.01
    ) -> None:
        given = parse_qs(urlsplit(url).query)
        options = {k: v for k, v in _POOL_DEFAULTS.items() if k not in given}
        self._pool = aioredis.BlockingConnectionPool.from_url(url, **options)
        self.redis = aioredis.Redis(connection_pool=self._pool)
        self._url = _redact(url)
        self._reserve = self.redis.register_script(lua.RESERVE)
        self._settle = self.redis.register_script(lua.SETTLE)
        self._put_team = self.redis.register_script(lua.PUT_TEAM)
        self._delete_team = self.redis.register_script(lua.DELETE_TEAM)
        self._put_key = self.redis.register_script(lua.PUT_KEY)
        # A Redis outage at shutdown gets a few retries (backoff up to 1 s) before the
        # queued records are given up.
        self._writes = WriteBehind(
            self._write,
            where=self._url,
            errors=(RedisError, OSError),
            interval=flush_interval_s,
            open_delay=open_delay_s,
            batch=_BATCH,
            max_queue=_MAX_QUEUE,
            retry_on_close_s=1.0,
        )

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        self._writes.start()

    async def aclose(self) -> None:
        await self._writes.aclose()
        await self.redis.aclose()
        await self._pool.aclose()

    # --- teams and keys -------------------------------------------------------------

    async def auth_version(self) -> int:
        async with self._errors():
            value = await self.redis.get(PREFIX + "auth:version")
        return int(value or 0)

    async def load_auth(self) -> AuthSnapshot:
        async with self._errors(), self.redis.pipeline(transaction=True) as pipe:
            pipe.get(PREFIX + "auth:version")
            pipe.hvals(PREFIX + "teams")
            pipe.hvals(PREFIX + "keys")
            version, teams, keys = await pipe.execute()
        return AuthSnapshot(
            int(version or 0),
            [team_decoder.decode(doc) for doc in teams],
            [key_decoder.decode(doc) for doc in keys],
        )

    async def find_key(self, digest: str) -> KeyRecord | None:
        async with self._errors():
            key_id = await self.redis.hget(PREFIX + "keys:digest", digest)
        if key_id is None:
            return None
        return await self.get_key(key_id.decode() if isinstance(key_id, bytes) else key_id)

    async def get_key(self, key_id: str) -> KeyRecord | None:
        async with self._errors():
            doc = await self.redis.hget(PREFIX + "keys", key_id)
        return None if doc is None else key_decoder.decode(doc)

    async def list_keys(self, team: str | None = None) -> list[KeyRecord]:
        async with self._errors():
            docs = await self.redis.hvals(PREFIX + "keys")
        keys = [key_decoder.decode(doc) for doc in docs]
        keys.sort(key=lambda k: (k.created_at, k.id))
        return [k for k in keys if team is None or k.team == team]

    async def put_key(self, key: KeyRecord) -> None:
        async with self._errors():
            await self._put_key(
                keys=[PREFIX + "keys", PREFIX + "keys:digest", PREFIX + "auth:version"],
                args=[key.id, key.digest, encode(key)],
            )

    async def get_team(self, name: str) -> TeamRecord | None:
        async with self._errors():
            doc = await self.redis.hget(PREFIX + "teams", name)
        return None if doc is None else team_decoder.decode(doc)

    async def list_teams(self) -> list[TeamRecord]:
        async with self._errors():
            docs = await self.redis.hvals(PREFIX + "teams")
        return sorted((team_decoder.decode(doc) for doc in docs), key=lambda t: t.name)

    async def put_team(self, team: TeamRecord, *, create: bool) -> bool:
        async with self._errors():
            done = await self._put_team(
                keys=[PREFIX + "teams", PREFIX + "auth:version"],
                args=[team.name, encode(team), "1" if create else "0"],
            )
        return bool(done)

    async def delete_team(self, name: str) -> bool:
        async with self._errors():
            done = await self._delete_team(
                keys=[PREFIX + "teams", PREFIX + "auth:version"], args=[name]
            )
        return bool(done)

    # --- budgets --------------------------------------------------------------------

    async def reserve(self, checks: Sequence[BudgetCheck], hold: Hold) -> Refusal | None:
        keys: list[str] = []
        args: list[str | int] = [_member(hold), hold.amount_nano, int(hold.ttl_s * 1000)]
        for check in checks:
            keys += [PREFIX + "spend:" + check.scope, PREFIX + "holds:" + check.scope]
            args += [check.limit_nano, check.period]
        keys.append(PREFIX + "seen:" + hold.id)  # the hold's id is its request's usage id
        async with self._errors():
            failed, spent, held = await self._reserve(keys=keys, args=args)
        if not failed:
            return None
        return Refusal(checks[int(failed) - 1], int(spent), int(held))

    async def spend(self, scope: str, periods: Sequence[str]) -> tuple[dict[str, int], int]:
        await self.flush()
        async with self._errors():
            values = await self.redis.hmget(PREFIX + "spend:" + scope, [*periods, "held"])
        spent = {p: int(v or 0) for p, v in zip(periods, values, strict=False)}
        return spent, int(values[-1] or 0)

    # --- the ledger -----------------------------------------------------------------

    def settle(self, settlement: Settlement) -> None:
        self._writes.put(settlement)

    async def flush(self, within_s: float = 10.0) -> None:
        await self._writes.flush(within_s)

    async def _write(self, opens: list[OpenRecord], batch: list[Settlement]) -> None:
        if not (opens or batch):
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            if opens:
                docs: dict[FieldT, EncodableT] = {o.usage_id: encode(o.settlement) for o in opens}
                pipe.hset(PREFIX + "open", mapping=docs)
                pipe.zadd(PREFIX + "open:due", {o.usage_id: o.due for o in opens})
            for settlement in batch:
                record = settlement.record
                hold = settlement.hold
                keys = [PREFIX + "seen:" + record.usage_id, PREFIX + "ledger"]
                for scope in settlement.scopes:
                    keys += [PREFIX + "spend:" + scope, PREFIX + "holds:" + scope]
                await self._settle(
                    keys=keys,
                    args=[
                        _SEEN_TTL_MS,
                        encode(record),
                        record.cost_nano,
                        _member(hold) if hold is not None else "",
                        hold.amount_nano if hold is not None else 0,
                        len(settlement.periods),
                        *settlement.periods,
                    ],
                    client=pipe,
                )
                pipe.hdel(PREFIX + "open", record.usage_id)
                pipe.zrem(PREFIX + "open:due", record.usage_id)
            await pipe.execute()

    def open(self, record: OpenRecord) -> None:
        self._writes.open(record)

    async def reap(self, now: float, limit: int = 100) -> int:
        """Writes through the ledger script, whose seen marker keeps a record that two
        replicas reap at once (or its own replica settles late) to one."""
        async with self._errors():
            due = [
                bytes(m) if isinstance(m, bytes) else str(m).encode()
                for m in await self.redis.zrangebyscore(PREFIX + "open:due", "-inf", now, 0, limit)
            ]
            if not due:
                return 0
            docs = await self.redis.hmget(PREFIX + "open", due)
            found = [settlement_decoder.decode(doc) for doc in docs if doc]
            await self._write([], found)
            # Entries whose document is gone (settled meanwhile): drop their due marks.
            await self.redis.zrem(PREFIX + "open:due", *due)
        return len(found)

    async def records(self, query: UsageQuery) -> AsyncIterator[UsageRecord]:
        await self.flush()
        start = "-" if query.start is None else str(max(0, int(query.start * 1000) - 300_000))
        end = "+" if query.end is None else str(int(query.end * 1000) + _LATE_WRITE_SLACK_MS)
        while True:
            async with self._errors():
                entries = await self.redis.xrange(PREFIX + "ledger", start, end, count=_PAGE) or []
            for _entry_id, fields in entries:
                record = usage_decoder.decode(fields[b"r"]) if fields else None
                if record is not None and query.matches(record):
                    yield record
            if len(entries) < _PAGE:
                return
            last = entries[-1][0]
            start = "(" + (last.decode() if isinstance(last, bytes) else str(last))

    @contextlib.asynccontextmanager
    async def _errors(self) -> AsyncIterator[None]:
        try:
            yield
        except (RedisError, OSError) as exc:
            raise StateError(f"the state store {self._url} failed: {exc}") from exc


def _member(hold: Hold) -> str:
    return f"{hold.id}:{hold.amount_nano}"


def _redact(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"

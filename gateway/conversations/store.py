"""Where stored responses live, per team, with an expiry.

Same split as the other stored content (``gateway.feedback.store``): a SQLite file
beside the state file (``responses.db``) for one process, Redis when the state is
shared. Every read and delete is keyed by (team, response id), so another team's id
is indistinguishable from an unknown one. Records expire after the team's retention
(``feedback.retention_days``, 30 days by default), like retained transcripts.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

import msgspec

from gateway.state.base import StateError
from gateway.state.sqlite_file import SqliteStore

PREFIX = "gw:resp:"
DEFAULT_RETENTION_DAYS = 30
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(dict[str, Any]).decode


class ResponseStore(Protocol):
    async def start(self) -> None: ...

    async def aclose(self) -> None: ...

    async def put(self, team: str, response_id: str, record: dict[str, Any], ttl_s: float) -> None:
        """Keep ``record`` (the response, its input items, the conversation so far)."""
        ...

    async def get(self, team: str, response_id: str) -> dict[str, Any] | None:
        """The team's unexpired record, or None (unknown, expired or another team's)."""
        ...

    async def delete(self, team: str, response_id: str) -> bool: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    team TEXT NOT NULL, id TEXT NOT NULL, expires_at REAL NOT NULL, doc BLOB NOT NULL,
    PRIMARY KEY (team, id)
);
"""


class EmbeddedResponseStore(SqliteStore):
    schema = _SCHEMA
    what = "the response store"

    def _execute(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        cursor = self._file.connection.execute(sql, args)
        rows = cursor.fetchall()
        if not rows and cursor.rowcount > 0:
            return [cursor.rowcount]
        return rows

    async def put(self, team: str, response_id: str, record: dict[str, Any], ttl_s: float) -> None:
        now = time.time()

        def write() -> None:
            self._execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)",
                (team, response_id, now + ttl_s, _encode(record)),
            )
            self._execute("DELETE FROM responses WHERE expires_at < ?", (now,))

        await self._run(write)

    async def get(self, team: str, response_id: str) -> dict[str, Any] | None:
        rows = await self._run(
            self._execute,
            "SELECT doc FROM responses WHERE team = ? AND id = ? AND expires_at >= ?",
            (team, response_id, time.time()),
        )
        return _decode(rows[0][0]) if rows else None

    async def delete(self, team: str, response_id: str) -> bool:
        rows = await self._run(
            self._execute,
            "DELETE FROM responses WHERE team = ? AND id = ? AND expires_at >= ?",
            (team, response_id, time.time()),
        )
        return bool(rows)


class RedisResponseStore:
    """One key per (team, response id) with the retention as its TTL."""

    kind = "redis"

    def __init__(self, url: str) -> None:
        import redis.asyncio as aioredis  # only with a shared store (about 10 MB)
        from redis.exceptions import RedisError

        self._errors = (RedisError, OSError)
        self.redis = aioredis.Redis.from_url(url)

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        await self.redis.aclose()

    async def put(self, team: str, response_id: str, record: dict[str, Any], ttl_s: float) -> None:
        try:
            await self.redis.set(
                f"{PREFIX}{team}:{response_id}", _encode(record), px=max(1, int(ttl_s * 1000))
            )
        except self._errors as exc:
            raise StateError(f"the response store (redis) failed: {exc}") from exc

    async def get(self, team: str, response_id: str) -> dict[str, Any] | None:
        try:
            raw = await self.redis.get(f"{PREFIX}{team}:{response_id}")
        except self._errors as exc:
            raise StateError(f"the response store (redis) failed: {exc}") from exc
        return _decode(raw) if raw else None

    async def delete(self, team: str, response_id: str) -> bool:
        try:
            return bool(await self.redis.delete(f"{PREFIX}{team}:{response_id}"))
        except self._errors as exc:
            raise StateError(f"the response store (redis) failed: {exc}") from exc


def open_response_store(state_url: str, state_path: Path) -> ResponseStore:
    """Redis when the state is, else ``responses.db`` beside the state file."""
    if state_url:
        return RedisResponseStore(state_url)
    return EmbeddedResponseStore(state_path.parent / "responses.db")

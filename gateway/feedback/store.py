"""Where feedback, retained transcripts and experiment switches live.

Same split as the main state (``gateway.state``): ``EmbeddedFeedbackStore`` is a SQLite
file beside the state file (``flywheel.db``, its name since before the rename, so
existing data stays found) for one process; ``RedisFeedbackStore`` shares everything
between replicas (key prefix ``gw:fw:``, likewise). Both pass
``tests/test_feedback_store.py``. The
store is kept apart from the ledger so its tables (free text, opt-in) can be wiped or
moved without touching the books.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

from gateway.feedback.records import (
    FeedbackRecord,
    Transcript,
    encode,
    feedback_decoder,
    transcript_decoder,
)
from gateway.state.base import StateError
from gateway.state.sqlite_file import SqliteStore

PREFIX = "gw:fw:"


class FeedbackStore(Protocol):
    async def start(self) -> None: ...

    async def aclose(self) -> None: ...

    async def put_feedback(self, record: FeedbackRecord) -> None: ...

    async def feedback(self, team: str, rating: str | None = None) -> list[FeedbackRecord]:
        """The team's feedback, oldest first, optionally only one rating."""
        ...

    async def experiment_feedback(self, experiment: str) -> list[FeedbackRecord]: ...

    async def put_transcript(self, transcript: Transcript) -> None: ...

    async def transcript(self, team: str, request_id: str) -> Transcript | None:
        """The team's unexpired transcript of that request, if retained."""
        ...

    async def set_switch(self, experiment: str, active: bool) -> None: ...

    async def switches(self) -> dict[str, bool]:
        """Experiments started or stopped at run time (others follow the config)."""
        ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    team TEXT NOT NULL, request_id TEXT NOT NULL, time REAL NOT NULL, rating TEXT NOT NULL,
    experiment TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (team, request_id)
);
CREATE INDEX IF NOT EXISTS feedback_experiment ON feedback (experiment);
CREATE TABLE IF NOT EXISTS transcripts (
    team TEXT NOT NULL, request_id TEXT NOT NULL, expires_at REAL NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (team, request_id)
);
CREATE TABLE IF NOT EXISTS switches (experiment TEXT PRIMARY KEY, active INTEGER NOT NULL);
"""


class EmbeddedFeedbackStore(SqliteStore):
    schema = _SCHEMA
    what = "the feedback store"

    def _execute(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        return self._file.connection.execute(sql, args).fetchall()

    async def put_feedback(self, record: FeedbackRecord) -> None:
        await self._run(
            self._execute,
            "INSERT OR REPLACE INTO feedback VALUES (?, ?, ?, ?, ?, ?)",
            (
                record.team,
                record.request_id,
                record.time,
                record.rating,
                record.experiment,
                encode(record).decode(),
            ),
        )

    async def feedback(self, team: str, rating: str | None = None) -> list[FeedbackRecord]:
        sql = "SELECT doc FROM feedback WHERE team = ?"
        args: tuple[Any, ...] = (team,)
        if rating is not None:
            sql, args = sql + " AND rating = ?", (team, rating)
        rows = await self._run(self._execute, sql + " ORDER BY time", args)
        return [feedback_decoder.decode(row[0]) for row in rows]

    async def experiment_feedback(self, experiment: str) -> list[FeedbackRecord]:
        rows = await self._run(
            self._execute, "SELECT doc FROM feedback WHERE experiment = ?", (experiment,)
        )
        return [feedback_decoder.decode(row[0]) for row in rows]

    async def put_transcript(self, transcript: Transcript) -> None:
        def write() -> None:
            self._execute(
                "INSERT OR REPLACE INTO transcripts VALUES (?, ?, ?, ?)",
                (
                    transcript.team,
                    transcript.request_id,
                    transcript.expires_at,
                    encode(transcript).decode(),
                ),
            )
            self._execute("DELETE FROM transcripts WHERE expires_at < ?", (time.time(),))

        await self._run(write)

    async def transcript(self, team: str, request_id: str) -> Transcript | None:
        rows = await self._run(
            self._execute,
            "SELECT doc FROM transcripts WHERE team = ? AND request_id = ? AND expires_at >= ?",
            (team, request_id, time.time()),
        )
        return transcript_decoder.decode(rows[0][0]) if rows else None

    async def set_switch(self, experiment: str, active: bool) -> None:
        await self._run(
            self._execute,
            "INSERT OR REPLACE INTO switches VALUES (?, ?)",
            (experiment, int(active)),
        )

    async def switches(self) -> dict[str, bool]:
        rows = await self._run(self._execute, "SELECT experiment, active FROM switches", ())
        return {name: bool(active) for name, active in rows}


class RedisFeedbackStore:
    """Feedback: one hash per team (request id → record) and one per experiment;
    transcripts: one string per request with a TTL; switches: one hash."""

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

    async def put_feedback(self, record: FeedbackRecord) -> None:
        doc = encode(record).decode()
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(f"{PREFIX}fb:{record.team}", record.request_id, doc)
                if record.experiment:
                    member = f"{record.team}\x00{record.request_id}"
                    pipe.hset(f"{PREFIX}fbx:{record.experiment}", member, doc)
                await pipe.execute()
        except self._errors as exc:
            raise StateError(f"the feedback store (redis) failed: {exc}") from exc

    async def feedback(self, team: str, rating: str | None = None) -> list[FeedbackRecord]:
        records = await self._values(f"{PREFIX}fb:{team}")
        chosen = [r for r in records if rating is None or r.rating == rating]
        return sorted(chosen, key=lambda r: r.time)

    async def experiment_feedback(self, experiment: str) -> list[FeedbackRecord]:
        return await self._values(f"{PREFIX}fbx:{experiment}")

    async def _values(self, key: str) -> list[FeedbackRecord]:
        try:
            values = await self.redis.hvals(key)
        except self._errors as exc:
            raise StateError(f"the feedback store (redis) failed: {exc}") from exc
        return [feedback_decoder.decode(v) for v in values]

    async def put_transcript(self, transcript: Transcript) -> None:
        ttl_ms = int((transcript.expires_at - time.time()) * 1000)
        key = f"{PREFIX}tx:{transcript.team}:{transcript.request_id}"
        try:
            if ttl_ms <= 0:
                await self.redis.delete(key)
            else:
                await self.redis.set(key, encode(transcript), px=ttl_ms)
        except self._errors as exc:
            raise StateError(f"the feedback store (redis) failed: {exc}") from exc

    async def transcript(self, team: str, request_id: str) -> Transcript | None:
        try:
            raw = await self.redis.get(f"{PREFIX}tx:{team}:{request_id}")
        except self._errors as exc:
            raise StateError(f"the feedback store (redis) failed: {exc}") from exc
        return transcript_decoder.decode(raw) if raw else None

    async def set_switch(self, experiment: str, active: bool) -> None:
        try:
            await self.redis.hset(PREFIX + "switches", experiment, "1" if active else "0")
        except self._errors as exc:
            raise StateError(f"the feedback store (redis) failed: {exc}") from exc

    async def switches(self) -> dict[str, bool]:
        try:
            raw = await self.redis.hgetall(PREFIX + "switches")
        except self._errors as exc:
            raise StateError(f"the feedback store (redis) failed: {exc}") from exc
        return {
            (k.decode() if isinstance(k, bytes) else k): v in (b"1", "1") for k, v in raw.items()
        }


def open_feedback_store(state_url: str, state_path: Path) -> FeedbackStore:
    """Redis when the state is, else ``flywheel.db`` beside the state file."""
    if state_url:
        return RedisFeedbackStore(state_url)
    return EmbeddedFeedbackStore(state_path.parent / "flywheel.db")

"""The feedback store's behaviour, the same against both backends (SQLite, Redis), and
the ledger's pipeline note surviving a round trip through each state backend."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import redis

from gateway.feedback.records import FeedbackRecord, Transcript
from gateway.feedback.store import EmbeddedFeedbackStore, FeedbackStore, RedisFeedbackStore
from gateway.state.embedded import EmbeddedState
from gateway.state.records import PipelineNote, Settlement, UsageQuery, UsageRecord
from gateway.state.redis_store import RedisState
from tests.conftest import RedisServer

Scenario = Callable[[FeedbackStore], Awaitable[None]]


@pytest.fixture(params=["embedded", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], FeedbackStore]:
    if request.param == "embedded":
        return lambda: EmbeddedFeedbackStore(tmp_path / "flywheel.db")
    server: RedisServer = request.getfixturevalue("redis_server")
    redis.Redis(port=server.port).flushdb()
    return lambda: RedisFeedbackStore(server.url)


def run(factory: Callable[[], FeedbackStore], scenario: Scenario) -> None:
    async def main() -> None:
        store = factory()
        await store.start()
        try:
            await scenario(store)
        finally:
            await store.aclose()

    asyncio.run(main())


def _feedback(team: str, rid: str, rating: str = "bad", **extra: object) -> FeedbackRecord:
    return FeedbackRecord(
        team=team,
        request_id=rid,
        key_id="key_1",
        rating=rating,
        time=time.time(),
        **extra,  # type: ignore[arg-type]
    )


def test_feedback_is_kept_per_team_and_replaced(store: Callable[[], FeedbackStore]) -> None:
    async def scenario(s: FeedbackStore) -> None:
        await s.put_feedback(_feedback("a", "r1", "bad", correction="fixed"))
        await s.put_feedback(_feedback("a", "r2", "good", experiment="e", variant="v1"))
        await s.put_feedback(_feedback("b", "r1", "bad"))
        await s.put_feedback(_feedback("a", "r1", "good"))  # the rater changed their mind
        assert [f.request_id for f in await s.feedback("a")] == ["r2", "r1"]
        assert await s.feedback("a", "bad") == []
        assert [f.team for f in await s.feedback("b", "bad")] == ["b"]
        assert [f.variant for f in await s.experiment_feedback("e")] == ["v1"]

    run(store, scenario)


def test_transcripts_are_per_team_and_expire(store: Callable[[], FeedbackStore]) -> None:
    async def scenario(s: FeedbackStore) -> None:
        now = time.time()
        kept = Transcript(
            team="a",
            request_id="r1",
            time=now,
            expires_at=now + 60,
            messages=[{"role": "user", "content": "hi"}],
            answer="hello",
        )
        await s.put_transcript(kept)
        await s.put_transcript(
            Transcript(team="a", request_id="old", time=now, expires_at=now - 1, answer="x")
        )
        assert await s.transcript("a", "r1") == kept
        assert await s.transcript("b", "r1") is None
        assert await s.transcript("a", "old") is None

    run(store, scenario)


def test_switches_override_and_persist(store: Callable[[], FeedbackStore]) -> None:
    async def scenario(s: FeedbackStore) -> None:
        assert await s.switches() == {}
        await s.set_switch("e1", False)
        await s.set_switch("e2", True)
        await s.set_switch("e1", True)
        assert await s.switches() == {"e1": True, "e2": True}

    run(store, scenario)


@pytest.mark.parametrize("kind", ["embedded", "redis"])
def test_ledger_keeps_the_pipeline_note(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        redis.Redis(port=server.port).flushdb()
        state: EmbeddedState | RedisState = RedisState(server.url, flush_interval_s=0.01)
    else:
        state = EmbeddedState(tmp_path / "state.db", flush_interval_s=0.01)
    note = PipelineNote(router="auto", intent="code", intent_score=0.8, tier="large", gate="low")
    records = [
        UsageRecord(
            usage_id=f"u{i}",
            time=time.time(),
            request_id=f"r{i}",
            team="t",
            key_id="k",
            model="m",
            pipeline=note if i else None,
        )
        for i in range(2)
    ]

    async def main() -> None:
        await state.start()
        try:
            for record in records:
                state.settle(Settlement(record, ("team:t",), ("p",)))
            found = [r async for r in state.records(UsageQuery(team="t"))]
        finally:
            await state.aclose()
        assert [r.pipeline for r in found] == [None, note]

    asyncio.run(main())


def test_old_state_files_gain_the_pipeline_column(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "state.db"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE ledger (seq INTEGER PRIMARY KEY, usage_id TEXT NOT NULL UNIQUE, "
        "time REAL NOT NULL, request_id TEXT NOT NULL, team TEXT NOT NULL, key_id TEXT NOT NULL, "
        "model TEXT NOT NULL, target TEXT NOT NULL, endpoint TEXT NOT NULL, "
        "prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, "
        "cached_tokens INTEGER NOT NULL, cost_nano INTEGER NOT NULL, cache TEXT NOT NULL, "
        "latency_ms REAL NOT NULL, status INTEGER NOT NULL, estimated INTEGER NOT NULL, "
        "stream INTEGER NOT NULL)"
    )
    old.commit()
    old.close()
    state = EmbeddedState(path, flush_interval_s=0.01)

    async def main() -> None:
        await state.start()
        try:
            record = UsageRecord(
                usage_id="u",
                time=time.time(),
                request_id="r",
                team="t",
                key_id="k",
                model="m",
                pipeline=PipelineNote(experiment="e", variant="b"),
            )
            state.settle(Settlement(record, ("team:t",), ("p",)))
            (found,) = [r async for r in state.records(UsageQuery())]
        finally:
            await state.aclose()
        assert found.pipeline == PipelineNote(experiment="e", variant="b")

    asyncio.run(main())

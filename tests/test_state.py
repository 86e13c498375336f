"""The state backends, embedded (SQLite) and Redis, pass the same behavioural tests.

Each test runs one async scenario against a fresh backend instance (``make()``), and
some against a second instance on the same storage: what a restarted gateway sees.
The Redis side uses its own redis-server with AOF on, restarted for the durability test.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import redis

from gateway.state.base import StateBackend, StateError
from gateway.state.embedded import EmbeddedState
from gateway.state.records import (
    BudgetCheck,
    Hold,
    KeyRecord,
    OpenRecord,
    Settlement,
    TeamRecord,
    UsageQuery,
    UsageRecord,
)
from gateway.state.redis_store import RedisState
from tests.conftest import RedisServer

Factory = Callable[[], StateBackend]


@pytest.fixture(scope="module")
def aof_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("state-redis"), appendonly=True).start()
    yield server
    server.stop()


@pytest.fixture(params=["embedded", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Factory, object]:
    if request.param == "embedded":
        path = tmp_path / "state.db"
        return "embedded", lambda: EmbeddedState(path, flush_interval_s=0.01), path
    server: RedisServer = request.getfixturevalue("aof_redis")
    redis.Redis(port=server.port).flushdb()
    return "redis", lambda: RedisState(server.url, flush_interval_s=0.01), server


def run(factory: Factory, scenario: Callable[[StateBackend], Awaitable[None]]) -> None:
    async def main() -> None:
        state = factory()
        await state.start()
        try:
            await scenario(state)
        finally:
            await state.aclose()

    asyncio.run(main())


def usage(
    usage_id: str,
    *,
    team: str = "t1",
    key: str = "key_a",
    cost: int = 0,
    model: str = "m1",
    at: float | None = None,
) -> UsageRecord:
    return UsageRecord(
        usage_id=usage_id,
        time=at if at is not None else time.time(),
        request_id="req-" + usage_id,
        team=team,
        key_id=key,
        model=model,
        prompt_tokens=10,
        completion_tokens=5,
        cost_nano=cost,
    )


def settlement(record: UsageRecord, hold: Hold | None = None) -> Settlement:
    return Settlement(
        record, ("team:" + record.team, "key:" + record.key_id), ("d1", "m1", "t"), hold
    )


def test_reserve_holds_until_settled(backend: tuple[str, Factory, object]) -> None:
    _, factory, _ = backend
    check = BudgetCheck("team:t1", 1000, "m1")

    async def scenario(state: StateBackend) -> None:
        first = Hold("h1", ("team:t1",), 600, 60)
        assert await state.reserve([check], first) is None
        refusal = await state.reserve([check], Hold("h2", ("team:t1",), 500, 60))
        assert refusal is not None and refusal.held_nano == 600 and refusal.spent_nano == 0
        state.settle(settlement(usage("u1", cost=250), first))
        await state.flush()
        spent, held = await state.spend("team:t1", ["m1", "d1"])
        assert spent == {"m1": 250, "d1": 250} and held == 0
        assert await state.reserve([check], Hold("h3", ("team:t1",), 750, 60)) is None
        assert await state.reserve([check], Hold("h4", ("team:t1",), 1, 60)) is not None

    run(factory, scenario)


def test_a_refused_check_holds_nothing_anywhere(backend: tuple[str, Factory, object]) -> None:
    _, factory, _ = backend
    team, key = BudgetCheck("team:t1", 1000, "m1"), BudgetCheck("key:k", 100, "m1")

    async def scenario(state: StateBackend) -> None:
        refusal = await state.reserve([team, key], Hold("h", ("team:t1", "key:k"), 200, 60))
        assert refusal is not None and refusal.check == key
        assert await state.spend("team:t1", ["m1"]) == ({"m1": 0}, 0)

    run(factory, scenario)


def test_settling_twice_records_once(backend: tuple[str, Factory, object]) -> None:
    _, factory, _ = backend

    async def scenario(state: StateBackend) -> None:
        record = usage("same", cost=40)
        state.settle(settlement(record))
        state.settle(settlement(record))
        await state.flush()
        state.settle(settlement(record))
        await state.flush()
        found = [r async for r in state.records(UsageQuery())]
        assert [r.usage_id for r in found] == ["same"]
        assert (await state.spend("key:key_a", ["t"]))[0] == {"t": 40}

    run(factory, scenario)


def test_concurrent_reservations_admit_exactly_the_limit(
    backend: tuple[str, Factory, object],
) -> None:
    _, factory, _ = backend
    check = BudgetCheck("team:busy", 37, "m1")

    async def scenario(state: StateBackend) -> None:
        results = await asyncio.gather(
            *(state.reserve([check], Hold(f"h{i}", ("team:busy",), 1, 60)) for i in range(120))
        )
        assert sum(r is None for r in results) == 37

    run(factory, scenario)


def test_expired_holds_are_released(backend: tuple[str, Factory, object]) -> None:
    _, factory, _ = backend
    check = BudgetCheck("team:t1", 100, "m1")

    async def scenario(state: StateBackend) -> None:
        assert await state.reserve([check], Hold("crashed", ("team:t1",), 100, 0.2)) is None
        assert await state.reserve([check], Hold("next", ("team:t1",), 50, 60)) is not None
        await asyncio.sleep(0.3)
        assert await state.reserve([check], Hold("later", ("team:t1",), 50, 60)) is None
        assert (await state.spend("team:t1", ["m1"]))[1] == 50

    run(factory, scenario)


def test_open_records_are_written_only_for_requests_that_outlive_the_delay(
    backend: tuple[str, Factory, object],
) -> None:
    """An open record settled within ``open_delay_s`` is never written; one that runs
    longer is, and a reaper (here: a second instance, as after a restart) writes it to
    the ledger once; one still young at a clean shutdown is written then."""
    name, _, where = backend

    def make() -> StateBackend:
        if name == "embedded":
            assert isinstance(where, Path)
            return EmbeddedState(where, flush_interval_s=0.01, open_delay_s=0.05)
        assert isinstance(where, RedisServer)
        return RedisState(where.url, flush_interval_s=0.01, open_delay_s=0.05)

    async def first(state: StateBackend) -> None:
        quick, slow = usage("quick", cost=7), usage("slow", cost=9)
        state.open(OpenRecord(settlement(quick), due=0.0))
        state.open(OpenRecord(settlement(slow), due=0.0))
        state.settle(settlement(quick))  # answered within the delay
        await asyncio.sleep(0.3)
        young = usage("young", cost=5)
        state.open(OpenRecord(settlement(young), due=0.0))  # written by aclose

    async def second(state: StateBackend) -> None:
        assert await state.reap(time.time()) == 2  # "slow" and "young", not "quick"
        assert await state.reap(time.time()) == 0
        found = sorted(
            (r.usage_id, r.cost_nano) for r in [r async for r in state.records(UsageQuery())]
        )
        assert found == [("quick", 7), ("slow", 9), ("young", 5)]

    run(make, first)
    run(make, second)


def test_teams_and_keys(backend: tuple[str, Factory, object]) -> None:
    _, factory, _ = backend

    async def scenario(state: StateBackend) -> None:
        v0 = await state.auth_version()
        team = TeamRecord(name="red", settings={"models": ["*"]})
        assert await state.put_team(team, create=True)
        assert not await state.put_team(team, create=True)
        assert not await state.put_team(TeamRecord(name="blue"), create=False)
        key = KeyRecord(id="key_1", digest="ab" * 32, team="red", prefix="sk-gw-x…")
        await state.put_key(key)
        assert await state.find_key("ab" * 32) == key
        assert await state.find_key("cd" * 32) is None
        assert [k.id for k in await state.list_keys("red")] == ["key_1"]
        assert await state.list_keys("blue") == []
        snapshot = await state.load_auth()
        assert [t.name for t in snapshot.teams] == ["red"] and snapshot.keys == [key]
        assert snapshot.version == await state.auth_version() >= v0 + 2
        assert await state.delete_team("red") and not await state.delete_team("red")
        assert await state.auth_version() > snapshot.version

    run(factory, scenario)


def test_records_filter_by_team_key_model_and_time(
    backend: tuple[str, Factory, object],
) -> None:
    _, factory, _ = backend
    now = time.time()

    async def scenario(state: StateBackend) -> None:
        for i, (team, key, model) in enumerate(
            [("a", "k1", "m1"), ("a", "k2", "m2"), ("b", "k3", "m1"), ("b", "k3", "m2")]
        ):
            state.settle(
                settlement(
                    usage(f"u{i}", team=team, key=key, model=model, at=now - 100 + i * 10, cost=i)
                )
            )

        async def ids(**filters: object) -> list[str]:
            return [r.usage_id async for r in state.records(UsageQuery(**filters))]  # type: ignore[arg-type]

        assert await ids() == ["u0", "u1", "u2", "u3"]
        assert await ids(team="a") == ["u0", "u1"]
        assert await ids(key_id="k3", model="m2") == ["u3"]
        assert await ids(start=now - 95, end=now - 75) == ["u1", "u2"]
        assert await ids(request_id="req-u2") == ["u2"]

    run(factory, scenario)


def test_restart_keeps_keys_teams_spend_and_ledger(backend: tuple[str, Factory, object]) -> None:
    kind, factory, storage = backend

    async def write(state: StateBackend) -> None:
        assert await state.put_team(TeamRecord(name="durable"), create=True)
        await state.put_key(KeyRecord(id="key_d", digest="ef" * 32, team="durable", prefix="p"))
        hold = Hold("h", ("team:durable",), 500, 60)
        assert await state.reserve([BudgetCheck("team:durable", 10_000, "m1")], hold) is None
        state.settle(settlement(usage("persist", team="durable", cost=123), hold))

    async def read(state: StateBackend) -> None:
        snapshot = await state.load_auth()
        assert [t.name for t in snapshot.teams] == ["durable"]
        assert [k.id for k in snapshot.keys] == ["key_d"]
        assert await state.spend("team:durable", ["m1"]) == ({"m1": 123}, 0)
        assert [r.usage_id async for r in state.records(UsageQuery(team="durable"))] == ["persist"]

    run(factory, write)  # aclose writes the queued record
    if kind == "redis":
        assert isinstance(storage, RedisServer)
        storage.stop()
        storage.start()
    run(factory, read)


def test_a_redis_outage_loses_and_doubles_nothing(aof_redis: RedisServer) -> None:
    """Records settled while Redis is down wait in memory and are written once it is
    back; budget checks meanwhile raise StateError (the admission stage fails open)."""
    redis.Redis(port=aof_redis.port).flushdb()

    async def main() -> None:
        state = RedisState(aof_redis.url, flush_interval_s=0.01)
        await state.start()
        try:
            state.settle(settlement(usage("before", cost=5)))
            await state.flush()
            aof_redis.stop()
            for i in range(5):
                state.settle(settlement(usage(f"during{i}", cost=1)))
            await asyncio.sleep(0.5)  # writes fail and wait to be retried
            with pytest.raises(StateError):
                await state.reserve(
                    [BudgetCheck("team:t1", 10, "m1")], Hold("h", ("team:t1",), 1, 60)
                )
            aof_redis.start()
            await state.flush(within_s=20)
            ids = [r.usage_id async for r in state.records(UsageQuery())]
            assert ids == ["before", *(f"during{i}" for i in range(5))]
            assert (await state.spend("team:t1", ["t"]))[0] == {"t": 10}
        finally:
            await state.aclose()

    asyncio.run(main())

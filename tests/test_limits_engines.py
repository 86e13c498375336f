"""The two engines behind the limiter, held to the same table of cases: in process
(memory) and in Redis (the Lua scripts, on a real redis-server)."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
import redis

from gateway.limits.config import Store
from gateway.limits.engine import BUCKET_MS, BUCKETS, RETRY_NEVER, RETRY_UNKNOWN
from gateway.limits.failover import StoreGuard
from gateway.limits.memory import MemoryEngine
from gateway.limits.redis_engine import RedisEngine
from gateway.limits.rules import Kind, Rule
from tests.conftest import RedisServer

R, T, C = Kind.REQUESTS, Kind.TOKENS, Kind.CONCURRENCY


def run(scenario, make_engine, **engine_options):
    """Run ``scenario(engine)`` on one event loop (Redis connections belong to theirs)."""

    async def go():
        return await scenario(make_engine(**engine_options))

    return asyncio.run(go())


class Rules:
    """Rules under a prefix of their own, so runs never share counters."""

    def __init__(self) -> None:
        self.prefix = "gw:rl:test:" + os.urandom(4).hex()

    def __call__(self, name: str, kind: Kind, limit: int) -> Rule:
        return Rule(f"{self.prefix}:{name}", kind, limit, f"scope {name}", "key", True)


@pytest.fixture(params=["memory", "redis"])
def make_engine(request):
    """A factory: each call gives a fresh engine on the same store."""
    if request.param == "memory":
        return lambda **_: MemoryEngine()
    server = request.getfixturevalue("redis_server")
    return lambda lease_ms=60_000: RedisEngine(server.url, Store(), lease_ms=lease_ms)


async def admit_all(engine, rules, tokens=0, times=1, lease=""):
    return [await engine.admit(rules, tokens, lease or os.urandom(4).hex()) for _ in range(times)]


def test_all_or_nothing_across_levels(make_engine) -> None:
    rule = Rules()
    key, team = rule("key", R, 5), rule("team", R, 2)

    async def scenario(engine):
        verdicts = await admit_all(engine, [key, team], times=3)
        assert [v.admitted for v in verdicts] == [True, True, False]
        assert verdicts[1].used == [2, 2]
        assert verdicts[2].refused == 1
        # The refusal by the team counted nowhere: the key has used 2, not 3.
        assert (await admit_all(engine, [key]))[0].used == [3]

    run(scenario, make_engine)


def test_tokens_reserved_then_settled(make_engine) -> None:
    tpm = [Rules()("tpm", T, 100)]

    async def scenario(engine):
        first, second = await admit_all(engine, tpm, tokens=60, times=2)
        assert first.admitted and not second.admitted
        assert 0 < second.retry_ms <= BUCKETS * BUCKET_MS
        await engine.settle(tpm, first.bucket, -40, "")  # spent 20 of the 60 reserved
        third = (await admit_all(engine, tpm, tokens=60))[0]
        assert third.admitted and third.used == [80]
        await engine.settle(tpm, third.bucket, +30, "")  # spent 90: the overrun counts
        assert not (await admit_all(engine, tpm, tokens=1))[0].admitted
        await engine.settle(tpm, third.bucket, -11, "")
        assert (await admit_all(engine, tpm, tokens=1))[0].used == [100]

    run(scenario, make_engine)


def test_a_request_larger_than_the_limit_is_never_retried(make_engine) -> None:
    async def scenario(engine):
        verdict = (await admit_all(engine, [Rules()("tpm", T, 100)], tokens=101))[0]
        assert not verdict.admitted and verdict.retry_ms == RETRY_NEVER

    run(scenario, make_engine)


def test_concurrency_slots_taken_and_released(make_engine) -> None:
    slots = [Rules()("conc", C, 2)]

    async def scenario(engine):
        a, b, c = [(await admit_all(engine, slots, lease=n))[0] for n in ("a", "b", "c")]
        assert (a.admitted, b.admitted, c.admitted) == (True, True, False)
        assert c.retry_ms == RETRY_UNKNOWN
        await engine.settle(slots, a.bucket, 0, "a")
        assert (await admit_all(engine, slots, lease="d"))[0].admitted

    run(scenario, make_engine)


def test_memory_window_slides_with_the_clock() -> None:
    now = [1_000.0]
    rule = Rules()
    rpm, tpm = rule("rpm", R, 3), rule("tpm", T, 100)

    async def scenario(engine):
        assert all(v.admitted for v in await admit_all(engine, [rpm], times=3))
        now[0] += 30
        refused = (await admit_all(engine, [rpm]))[0]
        assert not refused.admitted and 29_000 <= refused.retry_ms <= 30_000
        now[0] += refused.retry_ms / 1000
        assert (await admit_all(engine, [rpm]))[0].admitted
        # Settling a reservation whose bucket has left the window changes nothing.
        old = (await admit_all(engine, [tpm], tokens=50))[0]
        now[0] += 61
        await engine.settle([tpm], old.bucket, -50, "")
        assert (await admit_all(engine, [tpm], tokens=100))[0].used == [100]

    run(scenario, lambda: MemoryEngine(clock=lambda: now[0]))


def redis_now_bucket(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return (seconds * 1000 + micros // 1000) // BUCKET_MS


def test_redis_script_trims_buckets_that_left_the_window(redis_server) -> None:
    client = redis.Redis.from_url(redis_server.url)
    rule = Rules()
    rpm = rule("rpm", R, 10)
    current = redis_now_bucket(client)
    # As if a replica had counted 7 requests 70 s ago and 4 requests 30 s ago.
    client.hset(rpm.key, mapping={current - 70: 7, current - 30: 4, "n": 11, "o": current - 70})

    async def scenario(engine):
        verdict = (await admit_all(engine, [rpm]))[0]
        assert verdict.admitted and verdict.used == [5]
        fields = {k.decode() for k in client.hkeys(rpm.key)}
        assert str(current - 70) not in fields and str(current - 30) in fields
        # A refusal says when the oldest live requests leave: about 30 s from now.
        refused = (await admit_all(engine, [rule("rpm", R, 5)]))[0]
        assert not refused.admitted and 28_000 < refused.retry_ms <= 31_000
        # A key idle for longer than a window starts from zero.
        client.hset(rpm.key, mapping={"o": current - 500})
        assert (await admit_all(engine, [rpm]))[0].used == [1]

    run(scenario, lambda: RedisEngine(redis_server.url, Store(), lease_ms=60_000))


def test_redis_lease_of_a_dead_replica_expires(redis_server) -> None:
    slots = [Rules()("conc", C, 1)]

    async def scenario(engine):
        assert (await admit_all(engine, slots, lease="dead-replica"))[0].admitted
        assert not (await admit_all(engine, slots, lease="next"))[0].admitted
        await asyncio.sleep(0.4)  # never released; its lease runs out
        assert (await admit_all(engine, slots, lease="next"))[0].admitted

    run(scenario, lambda: RedisEngine(redis_server.url, Store(), lease_ms=300))


def test_releases_that_missed_an_outage_are_replayed(tmp_path) -> None:
    """A slot released while Redis was unreachable is released once it is back (its
    lease would otherwise hold it for minutes)."""
    server = RedisServer(tmp_path).start()
    try:
        slots = [Rules()("conc", C, 1)]

        async def scenario() -> list[object]:
            guard = StoreGuard(
                RedisEngine(server.url, Store(timeout_s=0.2), lease_ms=600_000),
                fail_open=True,
                replicas=2,
                probe_interval_s=0.1,
                connections=8,
            )
            seen: list[object] = []
            held, engine = await guard.admit(slots, 0, "held")
            assert held.admitted and engine is guard.primary
            server.process.send_signal(signal.SIGSTOP)  # frozen, not restarted
            try:
                await guard.settle(engine, slots, held.bucket, 0, "held")  # times out
                seen.append(guard.mode)
            finally:
                server.process.send_signal(signal.SIGCONT)
            await asyncio.sleep(0.2)
            probe, engine = await guard.admit(slots, 0, "probe")  # back: replays the release
            assert not probe.admitted  # the slot is still held until the replay ran
            await asyncio.sleep(0.2)
            after, engine = await guard.admit(slots, 0, "after")
            seen.extend([guard.mode, engine is guard.primary, after.admitted])
            seen.extend([guard.outages, guard.store_errors])
            return seen

        mode_during, mode_after, on_redis, admitted, outages, errors = asyncio.run(scenario())
        assert mode_during == "fail-open" and mode_after == "shared"
        assert on_redis and admitted, "the released slot was still held"
        assert outages == 1 and errors >= 1
    finally:
        server.stop()

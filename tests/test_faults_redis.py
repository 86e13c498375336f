"""Redis faults, with a real ``redis-server`` (AOF on) that the tests stop, kill, wipe
and freeze (SIGSTOP): what the client saw, what the ledger holds, and that the gateway
recovered. The documented behaviour (docs/reliability.md): requests keep being served
(limits and budgets fail open, the cache misses), usage records wait in memory and are
written exactly once when Redis is back; keys, teams and the ledger survive in what Redis
persists, config keys always work.

The tests share one gateway and one Redis and run in file order: the first starts the
gateway while Redis is still down.
"""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import MASTER_KEY, UPSTREAM_KEY, GatewayProcess, RedisServer
from tests.emulators.openai_upstream import EmulatorServer
from tests.faults_support import (
    TEAM,
    Invariants,
    chat,
    client,
    fault_config,
    gateway_process,
    one_record_each,
    wait_until,
)

# Redis calls give up quickly so a dead or frozen Redis costs each request little.
FAST_FAIL = """
limits:
  store: {connect_timeout_s: 0.5, timeout_s: 0.5, probe_interval_s: 0.5}
cache: {enabled: true}
"""
# Worst case a request may take while Redis is frozen (several store calls time out).
FROZEN_BUDGET_S = 4.0


class Redis(RedisServer):
    """The session fixture's server, plus the faults."""

    def ensure(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self.start()

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def wipe(self) -> None:
        self.stop()
        for entry in self.dir.iterdir():
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture(scope="module")
def upstream() -> Iterator[EmulatorServer]:
    server = EmulatorServer(api_key=UPSTREAM_KEY, slow_chunk_delay=0.05).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = Redis(tmp_path_factory.mktemp("redis-faults"), appendonly=True)
    yield server
    if server.process is not None and server.process.poll() is None:
        server.thaw()
    server.stop()


@pytest.fixture(scope="module")
def gw(
    upstream: EmulatorServer, redis: Redis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    """Started while Redis is down (the first scenario)."""
    tmp: Path = tmp_path_factory.mktemp("faults-redis")
    url = f"redis://127.0.0.1:{redis.port}/0?socket_timeout=0.5&socket_connect_timeout=0.5"
    config = fault_config(upstream.base_url, state=f'{{url: "{url}"}}', extra=FAST_FAIL)
    with gateway_process(config, tmp) as process:
        yield process


@pytest.fixture
def http(gw: GatewayProcess) -> Iterator[httpx.Client]:
    with client(gw) as session:
        yield session


def serve(http: httpx.Client, tag: str, count: int, within: float) -> list[str]:
    """``count`` requests, each answered 200 within ``within`` seconds; their ids."""
    rids = []
    for i in range(count):
        rid = f"{tag}-{i}-{time.monotonic_ns()}"
        started = time.monotonic()
        response = http.post(
            "/v1/chat/completions",
            json=chat("ok", rid, max_tokens=50, stream=i % 2 == 1),
            headers={"x-request-id": rid},
        )
        response.read()
        assert response.status_code == 200, (rid, response.text)
        assert time.monotonic() - started < within, f"{rid} took {time.monotonic() - started:.1f}s"
        rids.append(rid)
    return rids


def test_unreachable_at_start(gw: GatewayProcess, http: httpx.Client, redis: Redis) -> None:
    """Serves with Redis down from the start; the records reach Redis once it is up."""
    rids = serve(http, "down-at-start", 6, within=FROZEN_BUDGET_S)
    redis.ensure()
    one_record_each(gw, rids, timeout=15)
    Invariants(gw, http).check(rids)


def test_lost_mid_run_and_back_with_its_data(
    gw: GatewayProcess, http: httpx.Client, redis: Redis
) -> None:
    redis.ensure()
    before = serve(http, "before-loss", 4, within=2)
    one_record_each(gw, before)
    redis.kill()
    during = serve(http, "during-loss", 6, within=FROZEN_BUDGET_S)
    redis.start()  # same port and directory: the AOF brings the data back
    invariants = Invariants(gw, http)
    # Written before the loss (persisted) and during it (replayed): each exactly once.
    invariants.check(before + during)


def test_restarted_empty(gw: GatewayProcess, http: httpx.Client, redis: Redis) -> None:
    """Only what was persisted survives: an empty Redis forgets admin-made keys, cached
    answers and limit counters; config keys, serving and recording carry on."""
    redis.ensure()
    with httpx.Client(
        base_url=gw.url, headers={"authorization": f"Bearer {MASTER_KEY}"}, timeout=10
    ) as admin:
        created = admin.post("/admin/keys", json={"team": TEAM, "name": "ephemeral"})
        assert created.status_code == 201, created.text
    admin_key = created.json()["key"]
    cached = chat("ok", "cache-me", max_tokens=5, temperature=0)
    assert http.post("/v1/chat/completions", json=cached).headers["x-gateway-cache"] == "miss"
    assert http.post("/v1/chat/completions", json=cached).headers["x-gateway-cache"] == "hit"

    redis.wipe()
    redis.start()

    def admin_key_refused() -> bool:
        response = httpx.post(
            gw.url + "/v1/chat/completions",
            json=chat("ok", "ephemeral", max_tokens=5),
            headers={"authorization": f"Bearer {admin_key}"},
        )
        return response.status_code == 401

    wait_until(admin_key_refused, 10, "the admin-made key to be forgotten with Redis")
    assert http.post("/v1/chat/completions", json=cached).headers["x-gateway-cache"] == "miss"
    after = serve(http, "after-empty-restart", 4, within=2)
    Invariants(gw, http).check(after)


def test_slow_redis(gw: GatewayProcess, http: httpx.Client, redis: Redis) -> None:
    """A frozen Redis (SIGSTOP) costs each request a bounded wait, never an error."""
    redis.ensure()
    redis.freeze()
    try:
        during = serve(http, "frozen", 4, within=FROZEN_BUDGET_S)
    finally:
        redis.thaw()
    after = serve(http, "thawed", 2, within=2)
    Invariants(gw, http).check(during + after)

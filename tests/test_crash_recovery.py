"""A replica killed (SIGKILL) with streams in flight: every admitted request still gets
exactly one ledger record, and its budget hold is released, by a live replica within a
bounded time (its targets' total timeout plus the reap grace).

Each admitted request leaves an open record in the state store; settling removes it.
One that outlives its deadline belongs to a dead replica and is settled by whichever
replica reaps first, at its reservation, marked ``estimated`` with status 0.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.accounting_helpers import admin, start_gateway
from tests.conftest import MASTER_KEY, UPSTREAM_KEY, GatewayProcess, RedisServer, wait_until
from tests.emulators.openai_upstream import EmulatorServer

KEY = "sk-crash-team-key-0123456789"
TOTAL_S = 6.0  # the provider's total timeout: no request of this route runs longer
GRACE_S = 1.0
STREAMS = 3


def config(upstream: str, state: str, extra: str = "") -> str:
    return f"""
admin: {{master_key: "{MASTER_KEY}"}}
state: {state}
accounting: {{flush_interval_s: 0.02, reap_interval_s: 0.2, reap_grace_s: {GRACE_S}}}
{extra}
providers:
  emu:
    kind: openai
    base_url: "{upstream}"
    api_key: "{UPSTREAM_KEY}"
    timeouts: {{total: {TOTAL_S}}}
models:
  slow:
    targets: [{{provider: emu, model: emu-slow-stream}}]
    price: {{input: 1000, output: 1000}}
teams:
  crash: {{models: ["*"], budget_usd: 100}}
keys:
  - {{team: crash, key: "{KEY}", limits: {{concurrency: {STREAMS}}}}}
"""


@pytest.fixture(scope="module")
def upstream() -> Iterator[EmulatorServer]:
    with EmulatorServer(api_key=UPSTREAM_KEY, slow_chunk_delay=0.3) as server:
        yield server


def _streams_then_kill(victim: GatewayProcess) -> list[str]:
    """Open streams on ``victim``, wait for each one's first chunk (and the open-record
    delay), SIGKILL it."""
    started = threading.Barrier(STREAMS + 1, timeout=30)
    ids = [f"req-crash-{i}-{time.monotonic_ns()}" for i in range(STREAMS)]

    def stream(rid: str) -> None:
        body = {"model": "slow", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        headers = {"authorization": f"Bearer {KEY}", "x-request-id": rid}
        try:
            with httpx.stream(
                "POST", victim.url + "/v1/chat/completions", json=body, headers=headers, timeout=30
            ) as response:
                assert response.status_code == 200
                lines = response.iter_lines()
                next(lines)  # the first chunk: the request is admitted and running
                started.wait()
                for _ in lines:
                    pass
        except httpx.HTTPError:
            pass  # the replica died under it

    threads = [threading.Thread(target=stream, args=(rid,)) for rid in ids]
    for thread in threads:
        thread.start()
    started.wait()
    # Older than accounting.open_record_delay_s (10 ms) plus one flush interval (50 ms):
    # a request killed younger than that may leave no record, like the settlements of
    # the last interval.
    time.sleep(0.2)
    victim.process.kill()
    victim.process.wait(10)
    for thread in threads:
        thread.join(30)
    return ids


def _records(gateway: GatewayProcess, rid: str) -> list[dict[str, Any]]:
    with admin(gateway) as client:
        data: list[dict[str, Any]] = client.get(
            "/admin/usage/records", params={"request_id": rid}
        ).json()["data"]
    return data


def _check_recovered(survivor: GatewayProcess, ids: list[str], killed_at: float) -> None:
    for rid in ids:
        records = wait_until(lambda rid=rid: _records(survivor, rid), timeout=TOTAL_S + 15)
        assert len(records) == 1, records
        record = records[0]
        assert record["status"] == 0 and record["estimated"] is True, record
        assert record["cost_usd"] > 0  # its reservation
    recovered_s = time.monotonic() - killed_at
    assert recovered_s < TOTAL_S + GRACE_S + 10, recovered_s

    def released() -> dict[str, float] | None:
        with admin(survivor) as client:
            spend: dict[str, float] = client.get("/admin/teams/crash").json()["spend"]
        return spend if spend["held_usd"] == 0 else None

    spend = wait_until(released, timeout=10)
    assert spend["spent_usd"] > 0
    time.sleep(1)  # another reap pass writes nothing twice
    for rid in ids:
        assert len(_records(survivor, rid)) == 1


def test_sigkill_mid_stream_on_redis(upstream: EmulatorServer, tmp_path: Path) -> None:
    (tmp_path / "redis").mkdir()
    redis = RedisServer(tmp_path / "redis").start()
    text = config(upstream.base_url, f'{{url: "{redis.url}"}}')
    victim = start_gateway(text, tmp_path / "a")
    survivor = start_gateway(text, tmp_path / "b")
    try:
        ids = _streams_then_kill(victim)
        _check_recovered(survivor, ids, time.monotonic())
    finally:
        survivor.stop()
        redis.stop()


def test_sigkill_mid_stream_embedded_restart(upstream: EmulatorServer, tmp_path: Path) -> None:
    """One process on the embedded store: the gateway started again settles what the
    killed one left open."""
    text = config(upstream.base_url, f'{{path: "{tmp_path / "state.db"}"}}')
    victim = start_gateway(text, tmp_path / "first")
    ids = _streams_then_kill(victim)
    killed_at = time.monotonic()
    again = start_gateway(text, tmp_path / "second")
    try:
        _check_recovered(again, ids, killed_at)
    finally:
        again.stop()


def test_sigkill_frees_concurrency_slots_within_the_lease(
    upstream: EmulatorServer, tmp_path: Path
) -> None:
    """The dead replica's concurrency slots are leases in Redis that expire after
    ``limits.lease_s`` (default: the longest provider total timeout plus 60 s): the
    key can run its streams again on a live replica once they have, not before."""
    lease_s = TOTAL_S + 1
    (tmp_path / "redis").mkdir()
    redis = RedisServer(tmp_path / "redis").start()
    text = config(upstream.base_url, f'{{url: "{redis.url}"}}', f"limits: {{lease_s: {lease_s}}}")
    victim = start_gateway(text, tmp_path / "a")
    survivor = start_gateway(text, tmp_path / "b")
    body = {"model": "slow", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}
    headers = {"authorization": f"Bearer {KEY}"}
    try:
        admitted_at = time.monotonic()
        _streams_then_kill(victim)  # holds all STREAMS slots of the key
        busy = httpx.post(
            survivor.url + "/v1/chat/completions", json=body, headers=headers, timeout=30
        )
        assert busy.status_code == 429, busy.text  # the slots are still leased

        def admitted() -> bool:  # any answer but the concurrency 429 (the model is slow)
            reply = httpx.post(
                survivor.url + "/v1/chat/completions", json=body, headers=headers, timeout=30
            )
            return reply.status_code != 429

        freed = wait_until(admitted, timeout=lease_s + 10, interval=0.5)
        assert freed and time.monotonic() - admitted_at < lease_s + 10
    finally:
        survivor.stop()
        redis.stop()

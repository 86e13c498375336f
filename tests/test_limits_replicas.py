"""Limits stay exact across replicas: four gateway processes share one Redis.

The numbers are the issue's: 2,000 requests at once against a key limit of 500 per
minute admit exactly 500; a tokens-per-minute limit is never overshot by more than one
request's reservation; with Redis stopped, two replicas fail open (each enforcing half
of every limit) and two fail closed (503), none hangs, and once Redis is back the
limits are shared and exact again.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest

from tests.conftest import RedisServer
from tests.limits_fleet import (
    LONG_PROMPT,
    burst,
    chat_body,
    emulator_process,
    fleet,
    limits_config,
)

RPM_KEY = "sk-limits-rpm-key-0123456789"
TPM_KEY = "sk-limits-tpm-key-0123456789"
BEFORE_KEY = "sk-limits-before-key-0123456789"
DURING_KEY = "sk-limits-during-key-0123456789"
AFTER_KEY = "sk-limits-after-key-0123456789"
PROBE_KEY = "sk-limits-probe-key-0123456789"
RPM = 500
TPM = 6_000
REQUESTS = 2_000
MAX_TOKENS = 20
OUTAGE_RPM = 100


@pytest.fixture(scope="module")
def redis_alone(tmp_path_factory):
    """Stopped and restarted by the outage test, so not the session's Redis."""
    server = RedisServer(tmp_path_factory.mktemp("limits-redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def replicas(redis_alone, tmp_path_factory):
    keys = {
        RPM_KEY: f"{{rpm: {RPM}}}",
        TPM_KEY: f"{{tpm: {TPM}}}",
        BEFORE_KEY: f"{{rpm: {OUTAGE_RPM}}}",
        DURING_KEY: f"{{rpm: {OUTAGE_RPM}}}",
        AFTER_KEY: f"{{rpm: {OUTAGE_RPM}}}",
        PROBE_KEY: "{rpm: 1000000}",
    }
    with emulator_process() as upstream:

        def config(mode: str) -> str:
            # Generous timeouts: a stopped Redis refuses connections at once, and a
            # busy test machine must not pass for a dead store.
            settings = (
                f"{{on_store_error: {mode}, replicas: 2, store: {{probe_interval_s: 0.2, "
                "connect_timeout_s: 10, timeout_s: 10}}"
            )
            return limits_config(upstream, redis_url=redis_alone.url, keys=keys, settings=settings)

        configs = [config("open"), config("open"), config("closed"), config("closed")]
        with fleet(configs, tmp_path_factory.mktemp("replicas")) as gateways:
            yield gateways


def by_status(result) -> dict[object, int]:
    counts: dict[object, int] = {}
    for status, body in zip(result.statuses, result.bodies):
        what = (status, (body.get("error") or {}).get("code"))
        counts[what] = counts.get(what, 0) + 1
    return counts


def test_rpm_exact_across_four_replicas(replicas) -> None:
    result = burst(replicas, RPM_KEY, REQUESTS)
    assert result.admitted == RPM, by_status(result)
    assert result.refused == REQUESTS - RPM, by_status(result)
    assert result.count(200) > 0 and result.count(429) == result.refused
    # The limit is shared, not one replica's: each of four replicas enforcing its own
    # 500 would have admitted up to 2,000. How the 500 split between replicas depends on
    # whose connections warmed up first, so that is not asserted; instead every replica
    # now refuses, because every one sees the same spent counter.
    for gateway in replicas:
        again = httpx.post(
            gateway.url + "/v1/chat/completions",
            json=chat_body(),
            headers={"authorization": f"Bearer {RPM_KEY}"},
            timeout=30,
        )
        assert again.status_code == 429, (gateway.url, again.text)
    refused = [b for s, b in zip(result.statuses, result.bodies) if s == 429]
    assert {b["error"]["type"] for b in refused} == {"requests"}
    remaining = sorted(
        int(h["x-ratelimit-remaining-requests"])
        for h, b in zip(result.headers, result.bodies)
        if (b.get("error") or {}).get("code") != "rate_limit_exceeded"
    )
    # Each admission saw a distinct count: no two replicas handed out the same slot.
    assert remaining == list(range(RPM)), remaining[:10]


def test_tpm_overshoot_at_most_one_reservation(replicas) -> None:
    result = burst(replicas, TPM_KEY, REQUESTS, chat_body(MAX_TOKENS, LONG_PROMPT))
    admitted = result.admitted
    assert 0 < admitted < REQUESTS and admitted + result.refused == REQUESTS
    spent = result.ok_tokens()
    # One reservation (prompt as the gateway counts it, plus max_tokens): what the first
    # admission left of the limit, the most any admission saw remaining.
    reservation = TPM - max(
        int(h["x-ratelimit-remaining-tokens"])
        for h, b in zip(result.headers, result.bodies)
        if (b.get("error") or {}).get("code") != "rate_limit_exceeded"
    )
    assert MAX_TOKENS < reservation < 200
    assert spent <= TPM + reservation, (spent, admitted, reservation)
    # ...and the limit was used, not starved: at least a full window of reservations
    # was admitted (more, as settlement returned what went unused).
    assert (admitted + 1) * reservation >= TPM, (spent, admitted, reservation)
    refused = next(b for s, b in zip(result.statuses, result.bodies) if s == 429)
    assert refused["error"]["type"] == "tokens"


def recovered(gateway) -> bool:
    logs = gateway.logs()
    return logs.count("rate-limit store reachable again") >= logs.count(
        "rate-limit store unreachable"
    )


def wait_recovered(gateway, timeout: float = 15.0) -> None:
    """Until a request on this replica has reached Redis again (its log says so)."""
    deadline = time.monotonic() + timeout
    while not recovered(gateway):
        assert time.monotonic() < deadline, gateway.logs()[-2000:]
        httpx.post(
            gateway.url + "/v1/chat/completions",
            json=chat_body(),
            headers={"authorization": f"Bearer {PROBE_KEY}"},
            timeout=10,
        )
        time.sleep(0.1)


def test_redis_outage_follows_mode_and_recovers(replicas, redis_alone) -> None:
    opened, closed = replicas[:2], replicas[2:]
    before = burst(replicas, BEFORE_KEY, 3 * OUTAGE_RPM)
    assert before.admitted == OUTAGE_RPM, by_status(before)

    redis_alone.stop()
    started = time.monotonic()
    during_open = burst(opened, DURING_KEY, 3 * OUTAGE_RPM, timeout=10)
    during_closed = burst(closed, DURING_KEY, 100, timeout=10)
    elapsed = time.monotonic() - started
    # Nothing hangs: every request had its answer well inside the client's timeout.
    assert elapsed < 10, elapsed
    assert max(during_open.seconds + during_closed.seconds) < 5
    # Fail open: each replica enforces its share (half) of the limit on its own.
    per_replica = [0, 0]
    for i, body in enumerate(during_open.bodies):
        per_replica[i % 2] += (body.get("error") or {}).get("code") != "rate_limit_exceeded"
    assert per_replica == [OUTAGE_RPM // 2] * 2, by_status(during_open)
    assert during_open.refused == 3 * OUTAGE_RPM - OUTAGE_RPM
    limited = next(h for s, h in zip(during_open.statuses, during_open.headers) if s == 429)
    assert limited["x-ratelimit-limit-requests"] == str(OUTAGE_RPM // 2)
    # Fail closed: 503 with a retry hint, never a pass.
    assert during_closed.statuses == [503] * 100, by_status(during_closed)
    assert {b["error"]["code"] for b in during_closed.bodies} == {"rate_limiter_unavailable"}
    assert all(int(h["retry-after"]) >= 1 for h in during_closed.headers)
    for gateway in opened:
        assert re.search(r"store unreachable .*failing open", gateway.logs())
    for gateway in closed:
        assert re.search(r"store unreachable .*failing closed", gateway.logs())

    redis_alone.start()  # same port, empty: the limits start counting afresh
    for gateway in replicas:
        wait_recovered(gateway)
    after = burst(replicas, AFTER_KEY, 3 * OUTAGE_RPM)
    assert after.admitted == OUTAGE_RPM, by_status(after)
    assert after.refused == 2 * OUTAGE_RPM
    assert {h["x-ratelimit-limit-requests"] for h in after.headers} == {str(OUTAGE_RPM)}

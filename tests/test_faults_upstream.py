"""Upstream faults: for each, what the client saw, what the ledger holds, and that the
gateway recovered (the invariants of ``faults_support`` after every scenario).

Timeouts here: connect 1 s, first byte (and every gap between chunks) 1 s, total 3 s.
Bursts send ten requests at once, so a fault under load leaks nothing either.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import openai
import pytest

from tests.conftest import UPSTREAM_KEY, GatewayProcess
from tests.emulators.openai_upstream import EmulatorServer
from tests.faults_support import (
    FAULT_KEY,
    Invariants,
    assert_all_slots_free,
    burst,
    chat,
    client,
    fault_config,
    gateway_process,
    secrets_in,
)

TOTAL_S = 3.0


@dataclass(frozen=True)
class Fault:
    name: str
    model: str
    stream: bool
    # Before the first byte: the HTTP status and code. After it: 200, then an error
    # event with ``code`` (``status`` is 200), and no [DONE].
    status: int
    code: str | None
    count: int = 1
    # The gateway must hang up on the upstream (the emulator sees the peer leave).
    hangs_up: bool = False
    # Seconds the client may wait at most.
    within: float = TOTAL_S + 1.5


FAULTS = [
    Fault("timeout-before-headers", "emu-hang", False, 504, "upstream_timeout", hangs_up=True),
    Fault("timeout-before-headers", "emu-hang", True, 504, "upstream_timeout", hangs_up=True),
    Fault("timeout-mid-stream", "emu-stall-stream", True, 200, "upstream_timeout", hangs_up=True),
    Fault("500-burst", "emu-error-500", False, 502, "upstream_error", count=10),
    Fault("502-burst", "emu-error-502", True, 502, "upstream_error", count=10),
    Fault("503-burst", "emu-error-503", False, 503, "service_unavailable", count=10),
    Fault("429-burst", "emu-error-429", True, 429, "rate_limit_exceeded", count=10),
    Fault("reset-before-first-chunk", "emu-reset", True, 502, "upstream_disconnected"),
    Fault("reset-after-first-chunk", "emu-reset-mid-stream", True, 200, "upstream_disconnected"),
    Fault("malformed-json", "emu-malformed", False, 502, "bad_response"),
    Fault("malformed-sse", "emu-malformed", True, 502, "bad_response"),
    Fault("truncated-sse", "emu-truncated-sse", True, 200, "upstream_disconnected"),
    Fault("truncated-stream", "emu-truncated-stream", True, 200, "upstream_disconnected"),
    Fault("endless-stream", "emu-endless-stream", True, 200, "upstream_timeout", hangs_up=True),
    Fault("slow-loris", "emu-slow-loris", False, 504, "upstream_timeout", hangs_up=True),
    Fault("slow-loris", "emu-slow-loris", True, 504, "upstream_timeout", hangs_up=True),
]


@pytest.fixture(scope="module")
def upstream() -> Iterator[EmulatorServer]:
    server = EmulatorServer(api_key=UPSTREAM_KEY, slow_chunk_delay=0.1, hang_seconds=8).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gw(
    upstream: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    tmp = tmp_path_factory.mktemp("faults-upstream")
    config = fault_config(upstream.base_url, state=f'{{path: "{tmp / "state.db"}"}}')
    with gateway_process(config, tmp) as process:
        yield process


@pytest.fixture
def http(gw: GatewayProcess) -> Iterator[httpx.Client]:
    with client(gw) as session:
        yield session


@pytest.mark.parametrize(
    "fault", FAULTS, ids=[f"{f.name}-{'stream' if f.stream else 'plain'}" for f in FAULTS]
)
def test_upstream_fault(
    fault: Fault, gw: GatewayProcess, http: httpx.Client, upstream: EmulatorServer
) -> None:
    invariants = Invariants(gw, http)
    aborted = upstream.stats.streams_aborted
    tag = f"{fault.name}-{'s' if fault.stream else 'p'}"
    bodies = {
        f"{tag}-{i}": chat(fault.model, f"{tag}-{i}", stream=fault.stream)
        for i in range(fault.count)
    }

    outcomes = burst(http, bodies)

    # What the client saw.
    for outcome in outcomes.values():
        assert outcome.transport_error is None, outcome
        assert outcome.status == fault.status, outcome
        assert outcome.error is not None, outcome
        assert set(outcome.error) == {"message", "type", "param", "code"}, outcome
        if fault.code is not None:
            assert outcome.error["code"] == fault.code, outcome
        assert not outcome.done, outcome
        assert not secrets_in(str(outcome.error)), outcome
        assert outcome.seconds < fault.within, outcome
        if fault.status == 200:
            assert outcome.chunks >= 1, "the content before the failure was lost"
    # What the ledger holds, and that nothing is left held or in flight.
    found = invariants.check(list(bodies))
    for rid, record in found.items():
        outcome = outcomes[rid]
        expected = outcome.status if outcome.status != 200 else 502
        if fault.code == "upstream_timeout" and outcome.status == 200:
            expected = 504
        assert record["status"] == expected, (record, outcome)
        if outcome.status == 200:  # content reached the client: it is charged
            assert record["completion_tokens"] > 0 and record["estimated"] is True, record
            assert record["cost_usd"] > 0, record
        else:
            assert record["completion_tokens"] == 0 and record["cost_usd"] == 0, record
    # The gateway let go of the upstream, and recovered.
    # (emu-hang keeps no count: the transport's read timeout aborts it.)
    if fault.hangs_up and fault.model != "emu-hang":
        left = upstream.wait_for(lambda s: s.streams_aborted >= aborted + fault.count, 5)
        assert left, f"the upstream connection outlived the request: {upstream.stats}"
    ok = http.post("/v1/chat/completions", json=chat("ok", "after-" + tag, max_tokens=5))
    assert ok.status_code == 200, ok.text


def test_sdk_sees_typed_errors_and_stream_failures(gw: GatewayProcess) -> None:
    sdk = openai.OpenAI(base_url=gw.url + "/v1", api_key=FAULT_KEY, max_retries=0, timeout=10)
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.InternalServerError):  # 504 after the total timeout
        sdk.chat.completions.create(model="emu-slow-loris", messages=messages)  # type: ignore[arg-type]
    with pytest.raises(openai.APIError):
        for _ in sdk.chat.completions.create(
            model="emu-endless-stream",
            messages=messages,  # type: ignore[arg-type]
            stream=True,
        ):
            pass
    answer = sdk.chat.completions.create(model="ok", messages=messages)  # type: ignore[arg-type]
    assert answer.choices[0].message.content == "echo: hi"


def test_no_concurrency_slot_is_leaked_by_the_faults(
    gw: GatewayProcess, http: httpx.Client
) -> None:
    """Runs after the scenarios: every slot they took has been given back."""
    assert_all_slots_free(http)

"""Fault scenarios: what the client saw, and what the gateway attempted.

Each row names a model whose targets misbehave in one way (emulated OpenAI upstream,
emulated trtllm-serve engines, closed ports). The client's view is the status, error
code and ``x-gateway-attempts``/``x-gateway-target`` headers; what was attempted is
read from the emulators' own request logs. Backup targets have weight 0, so the order
is deterministic: primary first, backup second.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.conftest import TEAM_KEY, UPSTREAM_KEY, GatewayProcess, free_port
from tests.emulators.openai_upstream import EmulatorServer
from tests.emulators.trtllm_upstream import TrtllmServer
from tests.wire import assert_error

USER = [{"role": "user", "content": "hi there"}]
NO_BREAKER = "routing: {breaker: {enabled: false}"


class Upstreams:
    def __init__(self) -> None:
        self.emu = EmulatorServer(api_key=UPSTREAM_KEY, hang_seconds=5).start()
        self.eng1 = TrtllmServer().start()
        self.eng2 = TrtllmServer().start()

    def reset(self) -> None:
        self.emu.reset()
        for server in (self.eng1, self.eng2):
            if server._server is None:  # killed by a "fatal" scenario: restart it
                server.start()
            server.engine.fault = None
            server.engine.requests.clear()

    def calls(self) -> list[str]:
        return [r["body"]["model"] for r in self.emu.requests if r["method"] == "POST"]

    def stop(self) -> None:
        for server in (self.emu, self.eng1, self.eng2):
            server.stop()


def config(up: Upstreams) -> str:
    dead, dead2 = free_port(), free_port()
    primary = "{provider: emu, model: %s}"
    backup = "{provider: emu, model: gpt-4o-mini, weight: 0}"

    def failover(name: str, model: str) -> str:
        return f"  {name}: {{targets: [{primary % model}, {backup}]}}\n"

    return f"""
providers:
  emu: {{kind: openai, base_url: "{up.emu.base_url}", api_key: "{UPSTREAM_KEY}", health: null,
        timeouts: {{connect: 1, first_byte: 0.5, total: 5}}}}
  dead: {{kind: openai-compatible, base_url: "http://127.0.0.1:{dead}/v1", health: null}}
  dead2: {{kind: openai-compatible, base_url: "http://127.0.0.1:{dead2}/v1", health: null}}
  eng1: {{kind: trtllm, base_url: "{up.eng1.base_url}", health: null}}
  eng2: {{kind: trtllm, base_url: "{up.eng2.base_url}", health: null}}
models:
{failover("timeout-then-ok", "emu-hang")}\
{failover("500-then-ok", "emu-error-500")}\
{failover("429-then-ok", "emu-error-429")}\
{failover("503-then-ok", "emu-error-503")}\
{failover("reset-then-ok", "emu-reset")}\
  429-retried: {{targets: [{primary % "emu-error-429"}], {NO_BREAKER}, retry: {{attempts: 2}}}}}}
  503-retried:
    targets: [{primary % "emu-error-503"}]
    {NO_BREAKER}, retry: {{attempts: 3, backoff_s: 0.05}}}}
  quota: {{targets: [{primary % "emu-quota"}], routing: {{retry: {{attempts: 3}}}}}}
  client-error:
    targets: [{primary % "emu-error-400"}, {backup}]
    routing: {{retry: {{attempts: 3}}}}
  ok: {{targets: [{primary % "gpt-4o-mini"}]}}
  down-then-fallback: {{targets: [{{provider: dead, model: x}}], fallbacks: [ok]}}
  all-down: {{targets: [{{provider: dead, model: x}}], fallbacks: [all-down-too]}}
  all-down-too: {{targets: [{{provider: dead2, model: x}}]}}
  engines:
    targets: [{{provider: eng1, model: llama}}, {{provider: eng2, model: llama, weight: 0}}]
    {NO_BREAKER}}}
  breaker:
    targets: [{{provider: eng1, model: llama}}]
    routing: {{breaker: {{failures: 2, open_s: 1}}}}
teams: {{one: {{models: ["*"]}}}}
keys: [{{team: one, key: "{TEAM_KEY}"}}]
telemetry: {{metrics: {{public: true}}}}
"""


@pytest.fixture(scope="module")
def upstreams() -> Iterator[Upstreams]:
    up = Upstreams()
    yield up
    up.stop()


@pytest.fixture(scope="module")
def gw(upstreams: Upstreams, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    process = GatewayProcess(config(upstreams), tmp_path_factory.mktemp("faults"))
    try:
        process.wait("/health/live")
        yield process
    finally:
        process.stop()


@pytest.fixture
def http(gw: GatewayProcess, upstreams: Upstreams) -> Iterator[httpx.Client]:
    upstreams.reset()
    headers = {"authorization": f"Bearer {TEAM_KEY}"}
    with httpx.Client(base_url=gw.url, headers=headers, timeout=20) as client:
        yield client


def post(http: httpx.Client, model: str, *, stream: bool = False) -> httpx.Response:
    response = http.post(
        "/v1/chat/completions", json={"model": model, "messages": USER, "stream": stream}
    )
    response.read()
    return response


G = "gpt-4o-mini"
SCENARIOS = [
    # model, status, error code, attempts, what the upstream saw, answering target
    ("timeout-then-ok", 200, None, 2, ["emu-hang", G], "emu/gpt-4o-mini"),
    ("500-then-ok", 200, None, 2, ["emu-error-500", G], "emu/gpt-4o-mini"),
    ("429-then-ok", 200, None, 2, ["emu-error-429", G], "emu/gpt-4o-mini"),
    ("503-then-ok", 200, None, 2, ["emu-error-503", G], "emu/gpt-4o-mini"),
    ("reset-then-ok", 200, None, 2, ["emu-reset", G], "emu/gpt-4o-mini"),
    ("429-retried", 429, "rate_limit_exceeded", 2, ["emu-error-429"] * 2, "emu/emu-error-429"),
    ("503-retried", 503, "service_unavailable", 3, ["emu-error-503"] * 3, "emu/emu-error-503"),
    ("quota", 429, "insufficient_quota", 1, ["emu-quota"], "emu/emu-quota"),
    ("client-error", 400, "invalid_value", 1, ["emu-error-400"], "emu/emu-error-400"),
    ("down-then-fallback", 200, None, 2, [G], "emu/gpt-4o-mini"),
    ("all-down", 502, "upstream_unreachable", 2, [], "dead2/x"),
]


@pytest.mark.parametrize(
    ("model", "status", "code", "attempts", "calls", "target"),
    SCENARIOS,
    ids=[s[0] for s in SCENARIOS],
)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_fault_scenarios(
    http: httpx.Client,
    upstreams: Upstreams,
    model: str,
    status: int,
    code: str | None,
    attempts: int,
    calls: list[str],
    target: str,
    stream: bool,
) -> None:
    started = time.monotonic()
    response = post(http, model, stream=stream)
    elapsed = time.monotonic() - started
    if status == 200:
        assert response.status_code == 200, response.text
    else:
        assert_error(response, status, code)
    assert response.headers["x-gateway-attempts"] == str(attempts)
    assert response.headers["x-gateway-target"] == target
    seen = upstreams.calls()
    if model == "reset-then-ok" and seen[:2] == ["emu-reset"] * 2:
        # The reset hit a reused keep-alive connection before any response byte: the
        # transport resends once on a fresh connection (safe, below routing).
        del seen[0]
    assert seen == calls
    if model == "429-then-ok":
        assert elapsed < 0.9, "waited for retry-after although another target was free"
    if model == "429-retried":
        assert elapsed >= 0.95, "retried before the upstream's retry-after"
        assert response.headers["retry-after"] == "1"
    if model == "timeout-then-ok":
        assert elapsed < 3


def test_reset_after_first_chunk_is_not_retried(
    http: httpx.Client, upstreams: Upstreams, gw: GatewayProcess
) -> None:
    """Once the client has bytes, the only honest ending is an error event."""
    upstreams.eng1.engine.fault = "crash-mid-stream"
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=TEAM_KEY, max_retries=0)
    received = []
    with pytest.raises(openai.APIError):
        for chunk in client.chat.completions.create(model="engines", messages=USER, stream=True):
            received.append(chunk)
    assert received and received[0].choices[0].delta.content == "echo:"
    assert len(upstreams.eng1.engine.requests) == 1 and not upstreams.eng2.engine.requests


def test_reset_before_first_chunk_fails_over(http: httpx.Client, upstreams: Upstreams) -> None:
    """The engine dies after its role-only chunk: nothing reached the client yet."""
    upstreams.eng1.engine.fault = "crash-before-first-token"
    with http.stream(
        "POST", "/v1/chat/completions", json={"model": "engines", "messages": USER, "stream": True}
    ) as response:
        assert response.status_code == 200
        text = "".join(response.iter_text())
    assert response.headers["x-gateway-attempts"] == "2"
    assert response.headers["x-gateway-target"] == "eng2/llama"
    assert "data: [DONE]" in text and '"error"' not in text
    assert len(upstreams.eng1.engine.requests) == len(upstreams.eng2.engine.requests) == 1


def test_engine_fatal_error_fails_over(http: httpx.Client, upstreams: Upstreams) -> None:
    """A fatal executor error: the in-flight request gets no response, the engine dies."""
    upstreams.eng1.engine.fault = "fatal"
    response = post(http, "engines")
    assert response.status_code == 200, response.text
    assert response.headers["x-gateway-target"] == "eng2/llama"
    time.sleep(0.2)
    response = post(http, "engines")  # eng1's port is closed now
    assert response.status_code == 200 and response.headers["x-gateway-attempts"] == "2"


def test_circuit_breaker_opens_fails_fast_and_recovers(
    http: httpx.Client, upstreams: Upstreams
) -> None:
    engine = upstreams.eng1.engine
    engine.fault = "error-500"
    for _ in range(2):
        assert_error(post(http, "breaker"), 502, "upstream_error")
    assert len(engine.requests) == 2
    response = post(http, "breaker")  # open: answered at once, the engine not called
    body = assert_error(response, 502, "upstream_error")
    assert "pauses calls" in body["error"]["message"]
    assert response.headers["retry-after"] == "1" and response.headers["x-gateway-attempts"] == "0"
    assert len(engine.requests) == 2
    assert circuit_state(http) == 2.0  # open, as Prometheus sees it
    engine.fault = None
    time.sleep(1.1)
    assert post(http, "breaker").status_code == 200  # the half-open probe closes it
    assert post(http, "breaker").status_code == 200
    assert len(engine.requests) == 4
    assert circuit_state(http) == 0.0


def circuit_state(http: httpx.Client) -> float:
    for line in http.get("/metrics").text.splitlines():
        if line.startswith('gateway_circuit_state{target="breaker->eng1/llama"}'):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no gateway_circuit_state series for the breaker")

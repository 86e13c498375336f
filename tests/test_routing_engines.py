"""Engine-aware routing over three emulated trtllm-serve engines and a cloud spill target.

Engines e1 and e2 expose ``/prometheus/metrics``; e3 runs without perf metrics, so the
gateway must fall back to its JSON ``/metrics``. Tests set what each engine reports,
wait until the gateway has scraped it, and read where requests went from
``x-gateway-target``. Expected scores (queue weight 2, KV weight 2, max queue 5,
max KV 0.8): score = 2 x (1 - waiting/5) + 2 x (1 - kv) + 3 x prefix share.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import TEAM_KEY, UPSTREAM_KEY, GatewayProcess
from tests.emulators.openai_upstream import EmulatorServer
from tests.emulators.trtllm_upstream import Load, TrtllmEngine, TrtllmServer
from tests.wire import assert_error

ENGINES = ("e1", "e2", "e3")


class Fleet:
    def __init__(self) -> None:
        self.engines = {
            name: TrtllmServer(TrtllmEngine(perf_metrics=name != "e3")).start() for name in ENGINES
        }
        self.cloud = EmulatorServer(api_key=UPSTREAM_KEY).start()

    def report(self, **loads: Load) -> None:
        """Make the engines report these loads and wait until the gateway read them."""
        for name, load in loads.items():
            self.engines[name].engine.load = load
        for server in self.engines.values():
            server.wait_scrapes(3)

    def stop(self) -> None:
        for server in (*self.engines.values(), self.cloud):
            server.stop()


def config(fleet: Fleet) -> str:
    providers = "\n".join(
        f'  {name}: {{kind: trtllm, base_url: "{server.base_url}", health: {{interval_s: 5}},'
        f" metrics: {{interval_s: 0.05}}}}"
        for name, server in fleet.engines.items()
    )
    engines = ", ".join(f"{{provider: {name}, model: llama}}" for name in ENGINES)
    return f"""
providers:
{providers}
  cloud: {{kind: openai, base_url: "{fleet.cloud.base_url}", api_key: "{UPSTREAM_KEY}",
          health: null}}
models:
  llama:
    targets: [{engines}, {{provider: cloud, model: gpt-4o-mini}}]
    routing: {{strategy: engine-aware}}
  llama-shed:
    targets: [{engines}]
    routing: {{strategy: engine-aware, engine: {{on_saturation: shed}}}}
teams: {{one: {{models: ["*"]}}}}
keys: [{{team: one, key: "{TEAM_KEY}"}}]
telemetry: {{metrics: {{public: true}}}}
"""


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    fleet = Fleet()
    yield fleet
    fleet.stop()


@pytest.fixture(scope="module")
def gw(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    process = GatewayProcess(config(fleet), tmp_path_factory.mktemp("engines"))
    try:
        process.wait("/health/ready")
        yield process
    finally:
        process.stop()


@pytest.fixture
def http(gw: GatewayProcess, fleet: Fleet) -> Iterator[httpx.Client]:
    for server in fleet.engines.values():
        server.engine.metrics_down = False
    # 0.25 is exact in both sources (1024 of 4096 blocks), so the engines tie.
    fleet.report(**{name: Load(waiting=0, running=1, kv=0.25) for name in ENGINES})
    headers = {"authorization": f"Bearer {TEAM_KEY}"}
    with httpx.Client(base_url=gw.url, headers=headers, timeout=20) as client:
        yield client


def ask(http: httpx.Client, text: str, model: str = "llama", **headers: str) -> httpx.Response:
    response = http.post(
        "/v1/chat/completions",
        headers=headers,
        json={"model": model, "messages": [{"role": "user", "content": text}]},
    )
    assert response.status_code == 200, response.text
    return response


def targets(http: httpx.Client, count: int, model: str = "llama") -> Counter[str]:
    return Counter(
        ask(http, f"question {i} {time.monotonic_ns()}", model).headers["x-gateway-target"]
        for i in range(count)
    )


def test_traffic_goes_where_the_score_says(http: httpx.Client, fleet: Fleet) -> None:
    fleet.report(
        e1=Load(waiting=0, running=2, kv=0.1),  # 2(1-0) + 2(0.9) = 3.8
        e2=Load(waiting=2, running=4, kv=0.5),  # 2(0.6) + 2(0.5) = 2.2
        e3=Load(waiting=9, running=8, kv=0.3),  # queue > 5: saturated (read from JSON)
    )
    assert targets(http, 8) == {"e1/llama": 8}
    exposition = http.get("/metrics").text
    assert 'gateway_engine_requests_waiting{target="e3"} 9.0' in exposition
    assert 'gateway_engine_kv_cache_utilization{target="e1"} 0.1' in exposition
    fleet.report(e1=Load(waiting=0, running=8, kv=0.95))  # KV > 0.8: saturated
    assert targets(http, 8) == {"e2/llama": 8}
    fleet.report(e2=Load(waiting=6, running=8, kv=0.5))  # every engine saturated
    assert targets(http, 4) == {"cloud/gpt-4o-mini": 4}  # spill to the cloud target
    response = http.post(
        "/v1/chat/completions",
        json={"model": "llama-shed", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert_error(response, 503, "engines_saturated")
    assert response.headers["retry-after"] == "1"
    fleet.report(e3=Load(waiting=1, running=2, kv=0.3))  # e3 has room again
    assert targets(http, 4, "llama-shed") == {"e3/llama": 4}


def test_stale_metrics_do_not_steer(http: httpx.Client, fleet: Fleet) -> None:
    fleet.report(
        e1=Load(waiting=20, running=8, kv=0.9),  # saturated
        e2=Load(waiting=4, running=8, kv=0.7),  # 2(0.2) + 2(0.3) = 1.0
        e3=Load(waiting=10, running=8, kv=0.5),  # saturated
    )
    assert targets(http, 5) == {"e2/llama": 5}
    fleet.engines["e1"].engine.metrics_down = True  # its samples age past 1 s
    time.sleep(1.3)
    # Unknown load scores as half loaded, 2(0.5) + 2(0.5) = 2.0 > 1.0, not as saturated.
    assert targets(http, 5) == {"e1/llama": 5}


def test_requests_sharing_a_long_prefix_concentrate(http: httpx.Client, fleet: Fleet) -> None:
    prefix = " ".join(f"clause{i}" for i in range(2000))  # a 2,000-token system document
    served = Counter()
    cached = []
    for i in range(9):
        response = ask(http, f"{prefix} question {i}")
        served[response.headers["x-gateway-target"]] += 1
        cached.append(response.json()["usage"]["prompt_tokens_details"]["cached_tokens"])
    assert len(served) == 1, served
    assert cached[0] == 0 and min(cached[1:]) >= 1984  # the engine reused its KV cache
    spread = Counter(
        ask(http, " ".join(f"w{i}x{j}" for j in range(2000))).headers["x-gateway-target"]
        for i in range(12)
    )
    assert len(spread) >= 2, f"unrelated prompts should spread: {spread}"


def test_session_affinity(http: httpx.Client, fleet: Fleet) -> None:
    first = ask(http, "turn 0", **{"x-session-id": "conv-42"}).headers["x-gateway-target"]
    for turn in range(1, 6):
        response = ask(http, f"turn {turn}", **{"x-session-id": "conv-42"})
        assert response.headers["x-gateway-target"] == first
    engine = fleet.engines[first.split("/")[0]].engine
    assert engine.requests[-1]["headers"]["x-session-id"] == "conv-42"
    # A saturated engine is left even by its sessions.
    fleet.report(**{first.split("/")[0]: Load(waiting=9, running=8, kv=0.5)})
    response = ask(http, "turn 6", **{"x-session-id": "conv-42"})
    assert response.headers["x-gateway-target"] != first

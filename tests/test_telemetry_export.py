"""Export as configured in YAML: OTLP over HTTP and gRPC from a real ``gateway serve`` to
a local collector, and ``/metrics`` adding up across ``--workers 2``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import UPSTREAM_KEY, GatewayProcess
from tests.emulators.openai_upstream import EmulatorServer
from tests.emulators.otlp_collector import OTLPCollector

KEY = "sk-export-team-key-0123456789"
USER = [{"role": "user", "content": "export me"}]


def export_config(upstream: str, key_file: Path, tracing: str) -> str:
    return f"""
providers:
  emu: {{kind: openai, base_url: "{upstream}", api_key: "${{TEST_UPSTREAM_KEY}}"}}
models:
  gpt-4o-mini: {{targets: [{{provider: emu, model: gpt-4o-mini}}]}}
teams: {{one: {{}}}}
keys: [{{team: one, key: "{KEY}"}}]
labeling: {{key_file: "{key_file}"}}
telemetry:
  metrics: {{public: true}}
  service_name: gateway-under-test
  tracing: {tracing}
"""


@pytest.fixture(scope="module")
def collector() -> Iterator[OTLPCollector]:
    receiver = OTLPCollector().start()
    yield receiver
    receiver.stop()


@pytest.mark.parametrize("protocol", ["otlp-http", "otlp-grpc"])
def test_otlp_export(
    protocol: str, collector: OTLPCollector, emulator: EmulatorServer, tmp_path: Path
) -> None:
    endpoint = collector.http_endpoint if protocol == "otlp-http" else collector.grpc_endpoint
    tracing = (
        f'{{enabled: true, exporter: {protocol}, endpoint: "{endpoint}", schedule_delay_ms: 50}}'
    )
    process = GatewayProcess(
        export_config(emulator.base_url, tmp_path / "k.pem", tracing),
        tmp_path,
        env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY},
    )
    before = len(collector.spans)
    try:
        process.wait()
        response = httpx.post(
            process.url + "/v1/chat/completions",
            headers={"authorization": f"Bearer {KEY}", "x-request-id": f"export-{protocol}"},
            json={"model": "gpt-4o-mini", "messages": USER},
        )
        assert response.status_code == 200
        deadline = time.monotonic() + 10
        while len(collector.spans) < before + 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        process.stop()
    spans = [
        s
        for s in collector.spans[before:]
        if s["attributes"].get("gateway.request_id") == f"export-{protocol}"
        or s["name"] == "chat gpt-4o-mini"
    ]
    names = sorted(s["name"] for s in spans)
    assert names == ["POST /v1/chat/completions", "chat gpt-4o-mini"]
    server = next(s for s in spans if s["name"].startswith("POST"))
    client = next(s for s in spans if s["name"].startswith("chat"))
    assert client["parent_span_id"] == server["span_id"]
    assert client["trace_id"] == server["trace_id"]
    assert server["resource"]["service.name"] == "gateway-under-test"
    assert client["schema_url"] == "https://opentelemetry.io/schemas/1.41.0"
    assert client["attributes"]["gen_ai.provider.name"] == "openai"
    received = collector.http_requests if protocol == "otlp-http" else collector.grpc_requests
    assert received >= 1


def test_metrics_add_up_across_workers(emulator: EmulatorServer, tmp_path: Path) -> None:
    process = GatewayProcess(
        export_config(emulator.base_url, tmp_path / "k.pem", "{enabled: false}"),
        tmp_path,
        env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY},
        args=("--workers", "2"),
    )
    try:
        process.wait()
        with httpx.Client(headers={"authorization": f"Bearer {KEY}"}, timeout=20) as session:
            for _ in range(20):  # new connections: the kernel spreads them over workers
                session.headers["connection"] = "close"
                response = session.post(
                    process.url + "/v1/chat/completions",
                    json={"model": "gpt-4o-mini", "messages": USER},
                )
                assert response.status_code == 200
        # Each worker hands its counts to the shared files once a second (and the one
        # that answers a scrape, at once): within ~1 s, whichever worker answers the
        # scrape sees every worker's count, and then keeps seeing it.
        totals = [_requests_total(process.url) for _ in range(3)]
        deadline = time.monotonic() + 5
        while totals[-1] != 20 and time.monotonic() < deadline:
            time.sleep(0.2)
            totals.append(_requests_total(process.url))
        assert totals[-1] == 20, totals
        assert all(total <= 20 for total in totals), totals
        assert [_requests_total(process.url) for _ in range(4)] == [20] * 4
    finally:
        process.stop()


def _requests_total(url: str) -> float:
    text = httpx.get(url + "/metrics", headers={"connection": "close"}).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    return sum(
        s.value for s in families["gateway_requests"].samples if s.name == "gateway_requests_total"
    )

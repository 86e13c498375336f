"""Hostile input, sampled for CI (``loadtests/fuzz.py`` runs 10,000+ requests): the
gateway's own OpenAPI document fuzzed with schemathesis, and a JSON-structure fuzzer on
chat bodies. No 500, no crash, no hang, every error in OpenAI's shape; and with tracing
on, neither the logs nor the exported spans carry a key or a prompt's text.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import MASTER_KEY, TEAM_KEY, UPSTREAM_KEY, GatewayProcess
from tests.emulators.openai_upstream import EmulatorServer
from tests.emulators.otlp_collector import OTLPCollector
from tests.fuzzing import CANARY, Tally, json_fuzz, openapi_fuzz

# Per operation and mode (positive, negative): about 24 operations -> ~300 requests.
OPENAPI_EXAMPLES = 6
JSON_CASES = 210


def fuzz_config(upstream: str, collector: str) -> str:
    return f"""
admin: {{master_key: "{MASTER_KEY}"}}
accounting: {{flush_interval_s: 0.02}}
telemetry:
  tracing: {{enabled: true, exporter: otlp-http, endpoint: "{collector}", schedule_delay_ms: 50}}
providers:
  emu:
    kind: openai
    base_url: "{upstream}"
    api_key: "{UPSTREAM_KEY}"
    timeouts: {{connect: 1, first_byte: 2, total: 5}}
models:
  gpt-4o-mini: {{targets: [{{provider: emu, model: gpt-4o-mini}}]}}
  text-embedding-3-small: {{targets: [{{provider: emu, model: text-embedding-3-small}}]}}
  "emu/*": {{targets: [{{provider: emu, model: "*"}}]}}
teams:
  one: {{models: ["*"]}}
keys:
  - {{team: one, key: "{TEAM_KEY}"}}
"""


@pytest.fixture(scope="module")
def collector() -> Iterator[OTLPCollector]:
    receiver = OTLPCollector().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def fuzzed(
    emulator: EmulatorServer, collector: OTLPCollector, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[GatewayProcess, Tally, Tally]]:
    """One gateway, fuzzed once by both fuzzers; the tests below judge the results."""
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    process = GatewayProcess(
        fuzz_config(emulator.base_url, collector.http_endpoint),
        tmp,
        env={"GATEWAY_DATA_DIR": str(tmp / "data")},
    )
    try:
        process.wait("/health/ready")
        by_schema, by_structure = Tally(), Tally()
        openapi_fuzz(
            process.url,
            team_key=TEAM_KEY,
            master_key=MASTER_KEY,
            examples=OPENAPI_EXAMPLES,
            tally=by_schema,
        )
        json_fuzz(
            process.url, key=TEAM_KEY, model="gpt-4o-mini", count=JSON_CASES, tally=by_structure
        )
        yield process, by_schema, by_structure
    finally:
        process.stop()


def test_the_document_describes_every_openai_route(fuzzed) -> None:
    """The /v1 POST routes are plain ASGI handlers that Litestar leaves out of its own
    document: without them the fuzzer would never reach the pipeline."""
    process, _, _ = fuzzed
    paths = httpx.get(process.url + "/openapi/openapi.json").json()["paths"]
    for path in ("/v1/chat/completions", "/v1/completions", "/v1/embeddings"):
        assert "requestBody" in paths[path]["post"], path


def test_openapi_fuzz_finds_no_500_crash_hang_or_misshapen_error(fuzzed) -> None:
    process, tally, _ = fuzzed
    assert tally.requests >= 200, tally.summary()
    assert not tally.problems(), tally.summary() + "\n" + "\n".join(tally.problems())
    assert process.process.poll() is None, "the gateway died"
    # The fuzz reached the handlers, not only the auth check.
    assert tally.statuses[200] + tally.statuses[201] > 20, tally.summary()
    assert tally.statuses[400] > 20, tally.summary()


def test_json_structure_fuzz_finds_no_500_crash_hang_or_misshapen_error(fuzzed) -> None:
    process, _, tally = fuzzed
    assert tally.requests == JSON_CASES
    assert not tally.problems(), tally.summary() + "\n" + "\n".join(tally.problems())
    assert process.process.poll() is None, "the gateway died"
    assert tally.statuses[400] > JSON_CASES // 3, tally.summary()
    assert tally.statuses[200] > 10, tally.summary()


def test_logs_and_spans_carry_no_key_or_prompt_text(fuzzed, collector: OTLPCollector) -> None:
    process, _, _ = fuzzed
    httpx.get(process.url + "/health/live")  # and wait for the last span batch
    spans_text = ""
    for _ in range(40):
        spans_text = repr(collector.spans)
        if "POST /v1/chat/completions" in spans_text:
            break
        import time

        time.sleep(0.1)
    assert "POST /v1/chat/completions" in spans_text, "no spans were exported"
    logs = process.logs()
    assert "/v1/chat/completions" in logs or '"status"' in logs, "no access log lines"
    for secret in (CANARY, TEAM_KEY, MASTER_KEY, UPSTREAM_KEY):
        assert secret not in logs, f"{secret[:12]}... in the logs"
        assert secret not in spans_text, f"{secret[:12]}... in a span"

"""``/metrics`` after a mixed workload, parsed with prometheus_client's own parser, and
the access log: one JSON line per request, with no key, token or prompt in any line."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import Completion, Reply
from gateway.pipeline.stages import Pipeline, Stage
from gateway.telemetry import events, semconv
from gateway.telemetry.config import Metrics
from gateway.telemetry.metrics import GatewayMetrics
from gateway.wire.types import Endpoint, Usage
from tests.conftest import UPSTREAM_KEY, GatewayProcess, free_port, scrape
from tests.emulators.openai_upstream import EmulatorServer

KEY = "sk-metrics-team-key-0123456789"
TIGHT = "sk-metrics-tight-key-0123456789"
WRONG_BEARER = "sk-never-valid-bearer-5550123"
SCRAPE = "sk-metrics-scrape-token-0123456789"
PROMPT = "confidential-prompt-zebra-4419"
USER = [{"role": "user", "content": PROMPT}]


def metrics_config(upstream: str, dead_port: int, key_file: Path) -> str:
    return f"""
providers:
  emu: {{kind: openai, base_url: "{upstream}", api_key: "${{TEST_UPSTREAM_KEY}}"}}
  wrongkey:
    kind: openai
    base_url: "{upstream}"
    api_key: "sk-wrong-upstream-key-987654321"
    health: null
models:
  gpt-4o-mini:
    targets: [{{provider: emu, model: gpt-4o-mini}}]
    price: {{input: 1.5, output: 6.0}}
  text-embedding-3-small: {{targets: [{{provider: emu, model: text-embedding-3-small}}]}}
  err-500: {{targets: [{{provider: emu, model: emu-error-500}}]}}
  badkey: {{targets: [{{provider: wrongkey, model: gpt-4o-mini}}], required_for_ready: false}}
  with-fallback:
    targets: [{{provider: emu, model: emu-error-500}}]
    fallbacks: [gpt-4o-mini]
  "emu/*": {{targets: [{{provider: emu, model: "*"}}]}}
teams:
  one: {{}}
  tight: {{limits: {{rpm: 1}}}}
keys:
  - {{team: one, key: "{KEY}"}}
  - {{team: tight, key: "{TIGHT}"}}
labeling: {{key_file: "{key_file}"}}
telemetry:
  metrics: {{max_label_values: 6, token: "{SCRAPE}"}}
"""


@pytest.fixture(scope="module")
def served(
    emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    tmp = tmp_path_factory.mktemp("metrics")
    process = GatewayProcess(
        metrics_config(emulator.base_url, free_port(), tmp / "key.pem"),
        tmp,
        env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY},
    )
    try:
        process.wait("/health/ready")
        yield process
    finally:
        process.stop()


def _post(url: str, key: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(url + path, headers={"authorization": f"Bearer {key}"}, json=body, timeout=20)


@pytest.fixture(scope="module")
def workload(served: GatewayProcess) -> dict[str, int]:
    """A mixed workload; returns how many pipeline requests it made per status."""
    url = served.url
    chat = {"model": "gpt-4o-mini", "messages": USER}
    statuses: dict[str, int] = {}
    calls = [
        (KEY, "/v1/chat/completions", chat),
        (KEY, "/v1/chat/completions", {**chat, "stream": True}),
        (KEY, "/v1/embeddings", {"model": "text-embedding-3-small", "input": PROMPT}),
        (KEY, "/v1/chat/completions", {**chat, "model": "with-fallback"}),
        (KEY, "/v1/chat/completions", {**chat, "model": "err-500"}),
        (KEY, "/v1/chat/completions", {**chat, "model": "badkey"}),
        (KEY, "/v1/chat/completions", {**chat, "model": "no-such-model"}),
        (WRONG_BEARER, "/v1/chat/completions", chat),
        (TIGHT, "/v1/chat/completions", chat),
        (TIGHT, "/v1/chat/completions", chat),  # over rpm: 1
        # Prefix-route names are the client's choice: bounded by max_label_values.
        *((KEY, "/v1/chat/completions", {**chat, "model": f"emu/m-{i}"}) for i in range(8)),
    ]
    for key, path, body in calls:
        if body.get("stream"):
            with httpx.stream(
                "POST", url + path, headers={"authorization": f"Bearer {key}"}, json=body
            ) as response:
                response.read()
        else:
            response = _post(url, key, path, body)
        statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1
    return statuses


def _families(url: str) -> dict[str, Any]:
    response = httpx.get(url + "/metrics", headers={"authorization": f"Bearer {SCRAPE}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def _samples(family: Any, suffix: str = "") -> list[Any]:
    return [s for s in family.samples if s.name == family.name + suffix]


def test_metrics_after_mixed_workload(served: GatewayProcess, workload: dict[str, int]) -> None:
    assert {"200", "401", "404", "429", "502"} <= set(workload)
    families = _families(served.url)

    requests = _samples(families["gateway_requests"], "_total")
    by_status: dict[str, float] = {}
    for sample in requests:
        assert set(sample.labels) == {"endpoint", "team", "model", "target", "status"}
        by_status[sample.labels["status"]] = (
            by_status.get(sample.labels["status"], 0) + sample.value
        )
    assert by_status == {status: float(count) for status, count in workload.items()}
    ok_chat = [
        s for s in requests if s.labels["status"] == "200" and s.labels["model"] == "gpt-4o-mini"
    ]
    assert ok_chat and ok_chat[0].labels["team"] == "one"
    assert ok_chat[0].labels["target"] == "emu/gpt-4o-mini"

    # Bounded cardinality: 8 client-chosen names, at most 6 kept, the rest folded.
    models = {s.labels["model"] for s in requests}
    assert "_other" in models and len(models) <= 6 + 2

    duration = families["gen_ai_server_request_duration_seconds"]
    assert _bucket_bounds(duration) == [*semconv.DURATION_BUCKETS, float("inf")]
    assert {"gen_ai_operation_name", "gen_ai_request_model", "team", "error_type"} <= set(
        _samples(duration, "_count")[0].labels
    )
    assert {s.labels["error_type"] for s in _samples(duration, "_count")} >= {"", "upstream_error"}

    ttft = families["gen_ai_server_time_to_first_token_seconds"]
    assert _bucket_bounds(ttft) == [*semconv.TTFT_BUCKETS, float("inf")]
    assert sum(s.value for s in _samples(ttft, "_count")) == 1  # the one stream

    client = families["gen_ai_client_operation_duration_seconds"]
    attempts = {
        (s.labels["gen_ai_request_model"], s.labels["error_type"]): s.value
        for s in _samples(client, "_count")
    }
    assert attempts[("emu-error-500", "upstream_error")] >= 2  # with-fallback and err-500
    assert attempts[("gpt-4o-mini", "")] >= 3
    assert _samples(client, "_count")[0].labels["gen_ai_provider_name"] == "openai"

    tokens = families["gen_ai_client_token_usage"]
    assert _bucket_bounds(tokens) == [*map(float, semconv.TOKEN_BUCKETS), float("inf")]
    assert {s.labels["gen_ai_token_type"] for s in _samples(tokens, "_count")} == {
        "input",
        "output",
    }
    totals = {
        s.labels["type"]: s.value
        for s in _samples(families["gateway_tokens"], "_total")
        if s.labels["model"] == "gpt-4o-mini"
    }
    assert totals["input"] > 0 and totals["output"] > 0

    # Settled by accounting when the request finishes, before telemetry concludes.
    cost = {
        s.labels["model"]: s.value
        for s in _samples(families["gateway_cost_usd"], "_total")
        if s.labels["team"] == "one"
    }
    assert cost["gpt-4o-mini"] > 0

    refusals = _samples(families["gateway_refusals"], "_total")
    assert [(s.labels["team"], s.value) for s in refusals] == [("tight", 1.0)]

    up = {s.labels["provider"]: s.value for s in families["gateway_target_up"].samples}
    assert up["emu"] == 1.0
    assert families["gateway_requests_in_flight"].samples[0].value == 0  # nothing leaked

    text = scrape(served.url, SCRAPE)
    for secret in (KEY, TIGHT, WRONG_BEARER, UPSTREAM_KEY, PROMPT):
        assert secret not in text
    assert not re.search(r'"req_[0-9a-f]{24}"', text)  # no request ids as label values


def _bucket_bounds(family: Any) -> list[float]:
    first = _samples(family, "_bucket")[0].labels
    same = [
        s
        for s in _samples(family, "_bucket")
        if {k: v for k, v in s.labels.items() if k != "le"}
        == {k: v for k, v in first.items() if k != "le"}
    ]
    return [float(s.labels["le"]) for s in same]


def test_access_log_one_line_per_request_no_secrets(
    served: GatewayProcess, workload: dict[str, int]
) -> None:
    logs = served.logs()
    for secret in (KEY, TIGHT, WRONG_BEARER, UPSTREAM_KEY, "sk-wrong-upstream-key", PROMPT):
        assert secret not in logs, f"{secret[:12]}... leaked into the logs"
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    assert len(lines) == sum(workload.values())
    for line in lines:
        assert {
            "time",
            "request_id",
            "trace_id",
            "team",
            "key_id",
            "model",
            "target",
            "status",
            "latency_ms",
            "prompt_tokens",
            "completion_tokens",
            "cost_usd",
            "cache",
            "guard_actions",
            "label_id",
        } <= set(line)
    ok = [
        line for line in lines if line["status"] == 200 and line["endpoint"] == "chat/completions"
    ]
    assert all(line["label_id"] and line["key_id"].startswith("key_") for line in ok)
    assert all(line["cost_usd"] > 0 for line in ok if line["model"] == "gpt-4o-mini")
    streamed = [line for line in ok if line["stream"]]
    assert len(streamed) == 1 and streamed[0]["ttft_ms"] is not None
    assert [line["team"] for line in lines if line["status"] == 429] == ["tight"]


def test_trace_id_logged_from_client_traceparent(served: GatewayProcess) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    response = httpx.post(
        served.url + "/v1/chat/completions",
        headers={
            "authorization": f"Bearer {KEY}",
            "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01",
            "x-request-id": "trace-log-check",
        },
        json={"model": "gpt-4o-mini", "messages": USER},
    )
    assert response.status_code == 200
    line = next(
        json.loads(line)
        for line in served.logs().splitlines()
        if line.startswith("{") and "trace-log-check" in line
    )
    assert line["trace_id"] == trace_id


# --- what other features report, through a real pipeline -------------------------------------


class _Decides(Stage):
    """Stands in for the cache, guard and limit stages: reports as they will."""

    async def enter(self, ctx: RequestContext) -> Reply | None:
        events.cache_result(ctx, "semantic", similarity=0.98)
        events.guard_action(ctx, rule="pii.email", action="redact", direction="input")
        events.charged(ctx, 0.25)
        ctx.usage = Usage(prompt_tokens=10, completion_tokens=5, cached_tokens=4)
        return Completion({"choices": []})


async def _never_called(ctx: RequestContext) -> Reply:
    raise AssertionError("a cache hit never reaches the upstream")


@pytest.mark.parametrize("refuse", [False, True], ids=["answered", "refused"])
async def test_feature_decisions_reach_metrics(refuse: bool) -> None:
    from gateway.config import parse_config
    from gateway.telemetry.observe import Observe

    config = parse_config("telemetry: {access_log: {enabled: false}}")
    metrics = GatewayMetrics(Metrics())
    observe = Observe(config, tracing=None, metrics=metrics)
    stages: list[Stage] = [observe, _Decides()]
    if refuse:

        class _Refuse(Stage):
            async def enter(self, ctx: RequestContext) -> Reply | None:
                from gateway.errors import RateLimitError

                events.refused(ctx, reason="budget", scope="key")
                raise RateLimitError("over budget", code="insufficient_quota")

        stages.insert(1, _Refuse())
    pipeline = Pipeline(stages, _never_called)
    ctx = RequestContext(Endpoint.CHAT, "req-1")
    try:
        await pipeline.run(ctx)
    except Exception:
        assert refuse
    families = {f.name: f for f in text_string_to_metric_families(metrics.exposition().decode())}
    if refuse:
        refused = _samples(families["gateway_refusals"], "_total")
        assert [(s.labels["reason"], s.labels["scope"], s.value) for s in refused] == [
            ("budget", "key", 1.0)
        ]
        return
    cache = _samples(families["gateway_cache_lookups"], "_total")
    assert [(s.labels["result"], s.value) for s in cache] == [("semantic", 1.0)]
    guard = _samples(families["gateway_guard_actions"], "_total")
    assert [(s.labels["rule"], s.labels["action"], s.labels["direction"]) for s in guard] == [
        ("pii.email", "redact", "input")
    ]
    assert _samples(families["gateway_cost_usd"], "_total")[0].value == 0.25
    tokens = {s.labels["type"]: s.value for s in _samples(families["gateway_tokens"], "_total")}
    assert tokens == {"input": 10.0, "output": 5.0, "cached_input": 4.0}


def test_state_gauges_set_by_their_owners() -> None:
    metrics = GatewayMetrics(Metrics(), health=lambda: {"a": True, "b": False})
    metrics.set_circuit_state("a/m", "open")
    metrics.set_engine_load("trt/llama", waiting=3, running=8, kv_cache_utilization=0.75)
    families = {f.name: f for f in text_string_to_metric_families(metrics.exposition().decode())}
    assert families["gateway_circuit_state"].samples[0].value == 2.0
    assert families["gateway_engine_requests_waiting"].samples[0].value == 3.0
    assert families["gateway_engine_kv_cache_utilization"].samples[0].value == 0.75
    assert {s.labels["provider"]: s.value for s in families["gateway_target_up"].samples} == {
        "a": 1.0,
        "b": 0.0,
    }


@pytest.mark.parametrize(
    ("authorization", "status", "code"),
    [
        (None, 401, "missing_api_key"),
        (f"Bearer {KEY}", 403, "insufficient_permissions"),
        (f"Bearer {WRONG_BEARER}", 403, "insufficient_permissions"),
        (f"Basic {SCRAPE}", 401, "missing_api_key"),
    ],
    ids=["anonymous", "team-key", "wrong-token", "not-bearer"],
)
def test_metrics_are_not_readable_by_a_team_or_anonymously(
    served: GatewayProcess, authorization: str | None, status: int, code: str
) -> None:
    """Its series name every team and what each spent: a team's key reads none of it."""
    headers = {"authorization": authorization} if authorization else {}
    response = httpx.get(served.url + "/metrics", headers=headers)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert "gateway_" not in response.text


def test_scrape_token_reads_metrics(served: GatewayProcess) -> None:
    assert "gateway_requests" in scrape(served.url, SCRAPE)


def test_recorded_series_expose_what_prometheus_client_would() -> None:
    """The hot path's own sums, flushed, give the exposition prometheus_client's
    ``inc``/``observe`` would: bucket edges (a value on a bound counts in that bucket),
    sums, counts, and an in-flight gauge that follows the requests being served."""
    from prometheus_client import CollectorRegistry, Counter, Histogram

    ours = GatewayMetrics(Metrics())
    registry = CollectorRegistry()
    labels = ["gen_ai_operation_name", "gen_ai_request_model", "team", "error_type"]
    reference = Histogram(
        "gen_ai_server_request_duration_seconds",
        "x",
        labels,
        buckets=semconv.DURATION_BUCKETS,
        registry=registry,
    )
    counter = Counter("gateway_cost_usd", "x", ["team", "model"], registry=registry)
    values = [0.0, *semconv.DURATION_BUCKETS, 0.0004, 0.33, 7.5, 1e9, -1.0]
    for value in values:
        ours.c_server_duration("chat", "m", "t", "").observe(value)
        reference.labels("chat", "m", "t", "").observe(value)
    for amount in (0.25, 0.0, 1e-7):
        ours.c_cost("t", "m").inc(amount)
        counter.labels("t", "m").inc(amount)
    with pytest.raises(ValueError):
        ours.c_cost("t", "m").inc(-1)
    ours.serving = 3

    def samples(text: bytes, name: str) -> list[tuple[str, dict[str, str], float]]:
        families = {f.name: f for f in text_string_to_metric_families(text.decode())}
        return [(s.name, s.labels, s.value) for s in families[name].samples]

    from prometheus_client import generate_latest

    theirs = generate_latest(registry)
    for name in ("gen_ai_server_request_duration_seconds", "gateway_cost_usd"):
        mine = [s for s in samples(ours.exposition(), name) if not s[0].endswith("_created")]
        expected = [s for s in samples(theirs, name) if not s[0].endswith("_created")]
        assert mine == expected
    assert samples(ours.exposition(), "gateway_requests_in_flight")[0][2] == 3.0
    # A second flush adds nothing twice.
    ours.flush()
    again = samples(ours.exposition(), "gateway_cost_usd")
    assert [s[2] for s in again if s[0].endswith("_total")] == [0.2500001]

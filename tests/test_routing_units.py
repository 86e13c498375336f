"""Routing's pure parts: breaker state machine, retry timing, strategies, router order,
affinity indexes and engine-metric parsing. The same code runs end to end in
``test_routing_faults`` and ``test_routing_engines``."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import msgspec
import pytest

from gateway.config.loader import parse_config
from gateway.engines.metrics import LoadSample, parse_iteration_stats, parse_prometheus
from gateway.errors import RateLimitError, UpstreamError, UpstreamStatusError
from gateway.pipeline.context import RequestContext
from gateway.routing.affinity import (
    PrefixIndex,
    SessionMap,
    block_hashes,
    checkpoints,
    prompt_text,
)
from gateway.routing.breaker import BreakerState, CircuitBreaker
from gateway.routing.config import Breaker, Retry
from gateway.routing.models import ModelTable
from gateway.routing.retry import backoff_s, classify, retry_after_s
from gateway.routing.router import Router
from gateway.wire.types import Endpoint

FAIL = UpstreamError("boom")


# ---------------------------------------------------------------- breaker


def test_breaker_opens_after_consecutive_failures_and_probes_once() -> None:
    breaker = CircuitBreaker("m->p/x", Breaker(failures=3, open_s=10))
    for t in range(2):
        breaker.failure(t, FAIL)
    assert breaker.state is BreakerState.CLOSED
    breaker.success(2.0)  # resets the run
    for t in range(3):
        breaker.failure(3.0 + t, FAIL)
    assert breaker.state is BreakerState.OPEN and not breaker.available(6.0)  # opened at 5
    assert not breaker.acquire(14.9)
    assert breaker.acquire(15.0) and breaker.state is BreakerState.HALF_OPEN
    assert not breaker.acquire(15.1), "only one probe at a time"
    breaker.failure(15.2, FAIL)  # probe failed: open again for open_s
    assert breaker.state is BreakerState.OPEN and breaker.retry_in(15.2) == pytest.approx(10)
    assert breaker.acquire(25.3)
    breaker.success(25.4)
    assert breaker.state is BreakerState.CLOSED and breaker.opened == 2


def test_breaker_error_rate_over_window() -> None:
    breaker = CircuitBreaker("x", Breaker(failures=100, error_rate=0.5, min_calls=10, window_s=10))
    for i in range(9):  # 9 calls at 5/9 failed: under min_calls
        breaker.success(i * 0.1) if i % 2 else breaker.failure(i * 0.1, FAIL)
    assert breaker.state is BreakerState.CLOSED
    breaker.failure(1.0, FAIL)  # 10 calls, 6 failed
    assert breaker.state is BreakerState.OPEN
    old = CircuitBreaker("y", Breaker(failures=100, error_rate=0.5, min_calls=4, window_s=10))
    for t in (0.0, 0.1, 0.2):
        old.failure(t, FAIL)
    old.failure(30.0, FAIL)  # the first three aged out of the window
    assert old.state is BreakerState.CLOSED


def test_disabled_breaker_never_opens() -> None:
    breaker = CircuitBreaker("x", Breaker(enabled=False, failures=1))
    for t in range(10):
        breaker.failure(t, FAIL)
    assert breaker.state is BreakerState.CLOSED and breaker.acquire(10)


# ---------------------------------------------------------------- retries


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "1.5", "retry-after-ms": "250"}, 0.25),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after_s(headers) == seconds


def test_retry_after_http_date() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < (retry_after_s({"retry-after": when}) or 0) <= 30


def test_backoff_grows_with_jitter_and_cap() -> None:
    policy = Retry(backoff_s=0.1, max_backoff_s=0.5)
    rng = random.Random(7)
    for round_, step in ((1, 0.1), (2, 0.2), (3, 0.4), (4, 0.5), (9, 0.5)):
        waits = [backoff_s(round_, policy, rng) for _ in range(200)]
        assert step / 2 <= min(waits) and max(waits) <= step
        assert max(waits) - min(waits) > step / 4, "no jitter"


@pytest.mark.parametrize(
    ("error", "elsewhere", "again", "failure"),
    [
        (UpstreamStatusError(400, "bad"), False, False, False),
        (RateLimitError("slow"), True, True, False),
        (RateLimitError("quota", code="insufficient_quota"), True, False, False),
        (UpstreamError("creds", code="upstream_auth_error"), True, False, True),
        (UpstreamError("gone", code="upstream_unreachable"), True, True, True),
    ],
)
def test_classify(error: Any, elsewhere: bool, again: bool, failure: bool) -> None:
    verdict = classify(error)
    assert (verdict.elsewhere, verdict.again, verdict.breaker_failure) == (
        elsewhere,
        again,
        failure,
    )


# ---------------------------------------------------------------- router and strategies


def table(strategy: str, targets: str, **routing: Any) -> ModelTable:
    extra = "".join(f", {k}: {msgspec.json.encode(v).decode()}" for k, v in routing.items())
    return ModelTable(
        parse_config(f"""
providers:
  a: {{kind: openai, base_url: "http://a:1/v1"}}
  b: {{kind: openai, base_url: "http://b:1/v1"}}
  c: {{kind: openai, base_url: "http://c:1/v1"}}
  e: {{kind: trtllm, base_url: "http://e:1"}}
  f: {{kind: trtllm, base_url: "http://f:1"}}
models:
  m: {{targets: {targets}, routing: {{strategy: {strategy}{extra}}}}}
""")
    )


def plan_labels(
    router: Router,
    tbl: ModelTable,
    *,
    stream: bool = False,
    headers: dict[str, str] | None = None,
    text: str = "hi",
) -> list[str]:
    route = tbl.resolve("m")
    assert route is not None
    ctx = RequestContext(
        Endpoint.CHAT,
        "r",
        stream=stream,
        client_headers=headers or {},
        body={"messages": [{"role": "user", "content": text}]},
    )
    return [t.label for t in router.plan(route, ctx).targets]


THREE = "[{provider: a, model: x}, {provider: b, model: x}, {provider: c, model: x}]"


def test_weighted_spreads_by_weight_and_zero_is_backup() -> None:
    tbl = table(
        "weighted",
        "[{provider: a, model: x, weight: 3}, {provider: b, model: x},"
        " {provider: c, model: x, weight: 0}]",
    )
    router = Router(lambda p: True, rng=random.Random(1))
    firsts = [plan_labels(router, tbl)[0] for _ in range(4000)]
    assert 0.70 < firsts.count("a/x") / 4000 < 0.80
    assert all(plan_labels(router, tbl)[-1] == "c/x" for _ in range(50))


def test_latency_prefers_fastest_measured() -> None:
    tbl = table("latency", THREE, explore=0)
    route = tbl.resolve("m")
    assert route is not None
    for target, ttfb, total in zip(route.targets, (0.3, 0.1, 0.2), (1.0, 2.0, 0.5), strict=True):
        target.state.observe_ttfb(ttfb)
        target.state.observe_total(total)
    router = Router(lambda p: True)
    assert plan_labels(router, tbl, stream=True) == ["b/x", "c/x", "a/x"]
    assert plan_labels(router, tbl) == ["c/x", "a/x", "b/x"]


def test_least_busy_and_cost() -> None:
    tbl = table("least-busy", THREE)
    route = tbl.resolve("m")
    assert route is not None
    for target, busy in zip(route.targets, (5, 0, 2), strict=True):
        target.state.in_flight = busy
    assert plan_labels(Router(lambda p: True), tbl) == ["b/x", "c/x", "a/x"]
    priced = table(
        "cost",
        "[{provider: a, model: x, price: {input: 5, output: 15}},"
        " {provider: b, model: x},"
        " {provider: c, model: x, price: {input: 0.1, output: 0.4}}]",
    )
    assert plan_labels(Router(lambda p: True), priced) == ["c/x", "a/x", "b/x"]


def test_router_puts_open_cooling_and_down_targets_where_they_belong() -> None:
    tbl = table("weighted", THREE)
    route = tbl.resolve("m")
    assert route is not None
    a, b, _ = route.targets
    a.state.breaker.failure(0.0, FAIL)
    for _ in range(5):
        a.state.breaker.failure(1e9, FAIL)  # open until far in the future
    b.state.cooldown_until = 1e12
    router = Router(lambda p: p != "c")
    assert plan_labels(router, tbl) in (["b/x", "c/x"], ["c/x", "b/x"])
    assert "a/x" not in plan_labels(router, tbl)


def test_session_stickiness() -> None:
    tbl = table("weighted", THREE)
    router = Router(lambda p: True, rng=random.Random(3))
    route = tbl.resolve("m")
    assert route is not None
    router.sessions.remember("m\x00s1", "c/x")
    assert all(
        plan_labels(router, tbl, headers={"x-session-id": "s1"})[0] == "c/x" for _ in range(30)
    )
    firsts = {plan_labels(router, tbl, headers={"x-session-id": "s2"})[0] for _ in range(60)}
    assert len(firsts) > 1


def test_engine_aware_without_metrics_uses_prefix_then_cloud() -> None:
    tbl = table(
        "engine-aware",
        "[{provider: e, model: x}, {provider: f, model: x}, {provider: a, model: x}]",
    )
    route = tbl.resolve("m")
    assert route is not None
    router = Router(lambda p: True)
    text = "shared " * 200
    ctx = RequestContext(Endpoint.CHAT, "r", body={"messages": [{"role": "user", "content": text}]})
    plan = router.plan(route, ctx)
    assert plan.targets[-1].label == "a/x" and len(plan.blocks) == 8  # 1400 chars: 21 blocks
    router.succeeded(route.targets[1], plan, 0.1, stream=False)
    assert all(plan_labels(router, tbl, text=text + f"q{i}")[0] == "f/x" for i in range(20))


def test_engine_aware_shed_refuses_with_retry_after() -> None:
    tbl = table(
        "engine-aware",
        "[{provider: e, model: x}, {provider: f, model: x}]",
        engine={"on_saturation": "shed"},
    )
    full = LoadSample(waiting=9, running=4, kv=0.5)
    router = Router(lambda p: True, lambda provider, now: full)
    route = tbl.resolve("m")
    assert route is not None
    plan = router.plan(route, RequestContext(Endpoint.CHAT, "r"))
    assert plan.targets == [] and plan.refusal is not None
    assert plan.refusal.code == "engines_saturated" and plan.refusal.headers["retry-after"] == "1"


# ---------------------------------------------------------------- affinity


def test_checkpoints_are_geometric() -> None:
    assert checkpoints(20) == (1, 2, 3, 4, 6, 8, 12, 16)
    assert len(checkpoints(512)) == 18


def test_block_hashes_chain_and_prefix_index() -> None:
    marks = checkpoints(100)
    a = block_hashes("x" * 64 + "y" * 64 + "z" * 10, 64, marks)
    b = block_hashes("x" * 64 + "w" * 64, 64, marks)
    assert len(a) == 2 and a[0] == b[0] and a[1] != b[1]  # partial block ignored
    assert block_hashes("y" * 64 + "y" * 64, 64, marks)[1] != a[1], "hashes must chain"
    assert len(block_hashes("q" * 64 * 16, 64, marks)) == 8  # 1 2 3 4 6 8 12 16
    assert len(block_hashes("q" * 64 * 999, 64, checkpoints(10))) == 6  # capped at 10 blocks
    index = PrefixIndex(capacity=3)
    index.remember(a, "e1")
    assert index.match(b) == {"e1": 1} and index.match(a) == {"e1": 2}
    index.remember(block_hashes("k" * 256, 64, marks), "e2")  # 3 hashes: evicts e1's
    assert len(index) == 3 and index.match(a) == {}


def test_session_map_expires_and_is_bounded() -> None:
    sessions = SessionMap(capacity=2, ttl_s=10)
    sessions.remember("a", "x", now=0)
    sessions.remember("b", "y", now=0)
    sessions.remember("c", "z", now=0)
    assert sessions.get("a", now=1) is None and sessions.get("c", now=1) == "z"
    assert sessions.get("c", now=11) is None


def test_prompt_text() -> None:
    body = {
        "messages": [
            {"role": "system", "content": "s"},
            {"role": "user", "content": [{"type": "text", "text": "t"}, {"type": "image_url"}]},
        ]
    }
    assert prompt_text(Endpoint.CHAT, body) == "system\x1fs\x1euser\x1ft\x1e"
    assert prompt_text(Endpoint.COMPLETIONS, {"prompt": ["p", "q"]}) == "p"
    assert prompt_text(Endpoint.EMBEDDINGS, {"input": "x"}) == ""


# ---------------------------------------------------------------- engine metrics


PROMETHEUS = """# HELP trtllm_num_requests_waiting Number of requests waiting.
# TYPE trtllm_num_requests_waiting gauge
trtllm_num_requests_waiting{model_name="undefined",engine_type="undefined"} 3.0
trtllm_num_requests_running{model_name="undefined",engine_type="undefined"} 7.0 1700000000000
trtllm_kv_cache_utilization{model_name="undefined",engine_type="undefined"} 0.42
trtllm_kv_cache_tokens_per_block{model_name="undefined",engine_type="undefined"} 32
trtllm_time_to_first_token_seconds_bucket{le="0.5",model_name="a b}"} 4
trtllm_num_requests_waiting_total 99
"""


def test_parse_prometheus() -> None:
    assert parse_prometheus(PROMETHEUS) == LoadSample(
        waiting=3, running=7, kv=0.42, tokens_per_block=32
    )
    assert parse_prometheus("# nothing\nother_metric 1\n") is None
    assert parse_prometheus("trtllm_kv_cache_utilization NaN\n") is None


def test_parse_iteration_stats() -> None:
    items = [
        {"numQueuedRequests": 9},
        {
            "numQueuedRequests": 2,
            "numActiveRequests": 5,
            "kvCacheStats": {"usedNumBlocks": 25, "maxNumBlocks": 100, "tokensPerBlock": 64},
        },
    ]
    assert parse_iteration_stats(items) == LoadSample(
        waiting=2, running=5, kv=0.25, tokens_per_block=64
    )
    assert parse_iteration_stats([]) is None and parse_iteration_stats({"x": 1}) is None

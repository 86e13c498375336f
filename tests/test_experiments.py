"""A/B experiments: sticky assignment per end user, the split within ±3% of the weights
over 10,000 users, start/stop at run time, per-variant reports and metrics."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from gateway.experiments.assign import Splitter, bucket
from gateway.experiments.config import Experiment, Variant
from gateway.experiments.report import wilson
from tests.conftest import GatewayProcess, scrape
from tests.pipeline_support import (
    FLAG_KEY,
    PLAIN_KEY,
    admin,
    chat,
    ledger_note,
    pipeline_gateway,  # noqa: F401 (fixture)
)

HELLO = [{"role": "user", "content": "hello"}]


def _experiment(*weights: float) -> Experiment:
    return Experiment(
        model="m",
        variants=[Variant(name=f"v{i}", model="x", weight=w) for i, w in enumerate(weights)],
    )


@pytest.mark.parametrize("weights", [(50, 50), (70, 30), (90, 10), (60, 30, 10)], ids=str)
def test_split_over_10000_users_is_within_3_percent(weights: tuple[float, ...]) -> None:
    splitter = Splitter("exp", _experiment(*weights))
    counts = Counter(splitter.assign(f"user-{i}").name for i in range(10_000))
    total = sum(weights)
    for i, weight in enumerate(weights):
        assert abs(counts[f"v{i}"] / 10_000 - weight / total) <= 0.03, counts


def test_assignment_is_sticky_and_salted() -> None:
    splitter = Splitter("exp", _experiment(50, 50))
    first = [splitter.assign(f"u{i}").name for i in range(500)]
    assert first == [splitter.assign(f"u{i}").name for i in range(500)]
    assert bucket("exp", "u1") != bucket("exp", "u1", salt="round-2")
    assert bucket("exp", "u1") != bucket("other", "u1")


def test_wilson_interval() -> None:
    assert wilson(0, 0) is None
    low, high = wilson(50, 100)  # type: ignore[misc]
    assert low == pytest.approx(0.4038, abs=1e-3)
    assert high == pytest.approx(0.5962, abs=1e-3)


def _variant(url: str, key: str = FLAG_KEY, **extra: object) -> str:
    headers = extra.pop("headers", None)
    response = chat(url, {"model": "chat", "messages": HELLO, **extra}, key, headers=headers)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    experiment = response.headers["x-gateway-experiment"]
    name = experiment.split("variant=")[1]
    expected = {"control": "emu/gpt-4o-mini", "candidate": "emu/gpt-4.1"}[name]
    assert response.headers["x-gateway-target"] == expected
    return name


def test_users_keep_their_variant_through_the_gateway(
    pipeline_gateway: GatewayProcess,  # noqa: F811
) -> None:
    url = pipeline_gateway.url
    seen = {}
    for i in range(60):
        seen[f"person-{i}"] = _variant(url, user=f"person-{i}")
    assert set(seen.values()) == {"control", "candidate"}
    for user, variant in list(seen.items())[:20]:
        assert _variant(url, user=user) == variant
        # The same person through the header (no ``user`` field), and another team's key.
        assert _variant(url, headers={"x-gateway-user": user}) == variant
        assert _variant(url, PLAIN_KEY, user=user) == variant


def test_stop_sends_everyone_to_control_and_start_resumes(
    pipeline_gateway: GatewayProcess,  # noqa: F811
) -> None:
    url = pipeline_gateway.url
    candidates = [f"p{i}" for i in range(200) if _variant(url, user=f"p{i}") == "candidate"][:3]
    assert candidates
    assert admin(url, "POST", "/admin/experiments/chat-ab/stop").json()["active"] is False
    try:
        for user in candidates:
            assert (
                _variant(url, user=user, headers={"x-request-id": f"stopped-{user}"}) == "control"
            )
        assert ledger_note(url, f"stopped-{candidates[0]}")["assignment"] == "stopped"
        listed = admin(url, "GET", "/admin/experiments").json()["data"]
        assert listed[0]["name"] == "chat-ab" and listed[0]["active"] is False
    finally:
        assert admin(url, "POST", "/admin/experiments/chat-ab/start").json()["active"] is True
    assert all(_variant(url, user=user) == "candidate" for user in candidates)


def test_report_has_counts_and_intervals_per_variant(
    pipeline_gateway: GatewayProcess,  # noqa: F811
) -> None:
    url = pipeline_gateway.url
    for i in range(40):
        _variant(url, user=f"report-{i}", headers={"x-request-id": f"report-{i}"})
    variant = ledger_note(url, "report-0")["variant"]
    rated = httpx.post(
        url + "/feedback",
        json={"request_id": "report-0", "rating": "good"},
        headers={"authorization": f"Bearer {FLAG_KEY}"},
    )
    assert rated.status_code == 200, rated.text
    report = admin(url, "GET", "/admin/experiments/chat-ab").json()
    assert report["object"] == "experiment" and report["active"] is True
    variants = {v["name"]: v for v in report["variants"]}
    assert set(variants) == {"control", "candidate"}
    assert sum(v["requests"] for v in variants.values()) == report["requests"] >= 40
    for view in variants.values():
        assert view["expected_share"] in (0.7, 0.3)
        if view["requests"]:
            low, high = view["latency_ms"]["ci95"]
            assert low <= view["latency_ms"]["mean"] <= high
            assert view["errors"]["count"] == 0
            assert view["errors"]["ci95"][0] == 0.0
            assert view["output_tokens"]["mean"] > 0
    assert variants[variant]["feedback"]["good"] >= 1
    metrics = scrape(url)
    assert (
        f'gateway_experiment_feedback_total{{experiment="chat-ab",rating="good",variant="{variant}"}}'
        in metrics
    )
    assert (
        'gateway_experiment_requests_total{assignment="user",cache="none",experiment="chat-ab"'
        in metrics
    )
    assert "gateway_experiment_latency_seconds_bucket" in metrics


def test_unknown_experiment_and_non_master_are_refused(
    pipeline_gateway: GatewayProcess,  # noqa: F811
) -> None:
    url = pipeline_gateway.url
    missing = admin(url, "GET", "/admin/experiments/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "experiment_not_found"
    forbidden = httpx.post(
        url + "/admin/experiments/chat-ab/stop", headers={"authorization": f"Bearer {FLAG_KEY}"}
    )
    assert forbidden.status_code == 403
    assert set(forbidden.json()["error"]) == {"message", "type", "param", "code"}

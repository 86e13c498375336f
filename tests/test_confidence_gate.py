"""The confidence gate against an emulated upstream whose answers carry low (p ≈ 0.10)
or high (p ≈ 0.99) token log-probabilities, or none at all."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from gateway.confidence.config import GatePolicy
from gateway.confidence.scoring import judge
from tests.conftest import GatewayProcess
from tests.pipeline_support import (
    FLAG_KEY,
    PLAIN_KEY,
    REPLACE_KEY,
    RETRY_BROKEN_KEY,
    RETRY_KEY,
    chat,
    ledger_note,
    pipeline_gateway,  # noqa: F401 (fixture)
)

QUESTION = [{"role": "user", "content": "what is the boiling point of water"}]


@pytest.mark.parametrize(
    ("key", "model", "verdict", "action", "content", "target"),
    [
        (
            FLAG_KEY,
            "high",
            "ok",
            "",
            "echo: what is the boiling point of water",
            "emu-logprobs-high",
        ),
        (
            FLAG_KEY,
            "low",
            "low",
            "flag",
            "echo: what is the boiling point of water",
            "emu-logprobs-low",
        ),
        (
            RETRY_KEY,
            "low",
            "ok",
            "retry",
            "echo: what is the boiling point of water",
            "emu-logprobs-high",
        ),
        (
            RETRY_BROKEN_KEY,
            "low",
            "low",
            "retry_failed",
            "echo: what is the boiling point of water",
            "emu-logprobs-low",
        ),
        (REPLACE_KEY, "low", "low", "replace", "Not sure.", "emu-logprobs-low"),
        (
            REPLACE_KEY,
            "high",
            "ok",
            "",
            "echo: what is the boiling point of water",
            "emu-logprobs-high",
        ),
    ],
    ids=[
        "high-ok",
        "low-flagged",
        "low-retried-on-stronger",
        "retry-failed-keeps-first-answer",
        "low-replaced",
        "high-kept",
    ],
)
def test_gate_acts_on_low_confidence(
    pipeline_gateway: GatewayProcess,  # noqa: F811
    key: str,
    model: str,
    verdict: str,
    action: str,
    content: str,
    target: str,
) -> None:
    rid = f"gate-{model}-{verdict}-{action or 'none'}-{key[8:20]}"
    response = chat(
        pipeline_gateway.url,
        {"model": model, "messages": QUESTION},
        key,
        headers={"x-request-id": rid},
    )
    assert response.status_code == 200, response.text
    header = response.headers["x-gateway-confidence"]
    assert header.startswith(verdict + ";")
    assert ("action=" + action in header) if action else "action=" not in header
    assert response.headers["x-gateway-target"] == "emu/" + target
    body = response.json()
    assert body["choices"][0]["message"]["content"] == content
    # The client did not ask for logprobs: the gate's own request stays invisible.
    assert body["choices"][0]["logprobs"] is None
    note = ledger_note(pipeline_gateway.url, rid)
    assert (note["gate"], note.get("gate_action", "")) == (verdict, action)
    mean = float(header.split("mean=")[1].split(";")[0])
    assert note["confidence"] == pytest.approx(mean, abs=1e-4)
    assert (mean < 0.5) == (verdict == "low")


def test_retry_charges_both_calls(pipeline_gateway: GatewayProcess) -> None:  # noqa: F811
    once = chat(pipeline_gateway.url, {"model": "high", "messages": QUESTION}, RETRY_KEY).json()
    twice = chat(pipeline_gateway.url, {"model": "low", "messages": QUESTION}, RETRY_KEY).json()
    assert twice["usage"]["completion_tokens"] == once["usage"]["completion_tokens"]
    rid = "gate-retry-usage"
    chat(
        pipeline_gateway.url,
        {"model": "low", "messages": QUESTION},
        RETRY_KEY,
        headers={"x-request-id": rid},
    )
    records = httpx.get(
        pipeline_gateway.url + "/admin/usage/records",
        params={"request_id": rid},
        headers={"authorization": "Bearer sk-master-key-0123456789"},
    ).json()["data"]
    assert records[0]["completion_tokens"] == 2 * once["usage"]["completion_tokens"]
    # Each call at its own model's price: the first on low (1/2 USD per million), the
    # retry on high (10/20), not both at one rate.
    usage = once["usage"]
    low = usage["prompt_tokens"] * 1.0 + usage["completion_tokens"] * 2.0
    high = usage["prompt_tokens"] * 10.0 + usage["completion_tokens"] * 20.0
    assert records[0]["cost_usd"] == pytest.approx((low + high) / 1e6), records[0]


def test_client_that_asked_for_logprobs_keeps_them(pipeline_gateway: GatewayProcess) -> None:  # noqa: F811
    client = openai.OpenAI(base_url=pipeline_gateway.url + "/v1", api_key=FLAG_KEY, max_retries=0)
    answer = client.chat.completions.create(model="low", messages=QUESTION, logprobs=True)  # type: ignore[arg-type]
    tokens = answer.choices[0].logprobs.content  # type: ignore[union-attr]
    assert tokens and all(t.logprob == pytest.approx(-2.3) for t in tokens)


def test_provider_without_logprobs_is_unknown_not_a_number(
    pipeline_gateway: GatewayProcess,  # noqa: F811
) -> None:
    response = chat(
        pipeline_gateway.url,
        {"model": "sparse", "messages": QUESTION},
        FLAG_KEY,
        headers={"x-request-id": "gate-sparse"},
    )
    assert response.headers["x-gateway-confidence"] == "unknown"
    note = ledger_note(pipeline_gateway.url, "gate-sparse")
    assert note["gate"] == "unknown"
    assert "confidence" not in note


def test_team_without_policy_is_not_gated(pipeline_gateway: GatewayProcess) -> None:  # noqa: F811
    response = chat(pipeline_gateway.url, {"model": "low", "messages": QUESTION}, PLAIN_KEY)
    assert "x-gateway-confidence" not in response.headers
    assert response.json()["choices"][0]["logprobs"] is None


def _comments(raw: str) -> list[dict[str, object]]:
    prefix = ": x-gateway-confidence "
    return [json.loads(line[len(prefix) :]) for line in raw.splitlines() if line.startswith(prefix)]


@pytest.mark.parametrize(
    ("key", "model", "verdict"),
    [
        (FLAG_KEY, "low", "low"),
        (FLAG_KEY, "high", "ok"),
        (REPLACE_KEY, "low", "low"),
        (FLAG_KEY, "sparse", "unknown"),
    ],
    ids=["low", "high", "low-replace-policy", "no-logprobs"],
)
def test_stream_verdict_is_an_sse_comment(
    pipeline_gateway: GatewayProcess,  # noqa: F811
    key: str,
    model: str,
    verdict: str,
) -> None:
    body = {"model": model, "messages": QUESTION, "stream": True}
    raw = httpx.post(
        pipeline_gateway.url + "/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {key}"},
        timeout=20,
    ).text
    (comment,) = _comments(raw)
    assert comment["verdict"] == verdict
    # A stream is only ever flagged: its text is already with the client.
    assert comment.get("action") == ("flag" if verdict == "low" else None)
    assert ("mean" in comment) == (verdict != "unknown")
    assert raw.rstrip().endswith("data: [DONE]")
    events = [json.loads(line[6:]) for line in raw.splitlines() if line.startswith("data: {")]
    assert all(c.get("logprobs") is None for e in events for c in e["choices"])
    # The real SDK reads the same stream without noticing the comment.
    client = openai.OpenAI(base_url=pipeline_gateway.url + "/v1", api_key=key, max_retries=0)
    chunks = list(client.chat.completions.create(model=model, messages=QUESTION, stream=True))  # type: ignore[arg-type]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: what is the boiling point of water"


@pytest.mark.parametrize(
    ("logprobs", "policy", "verdict"),
    [
        ([], GatePolicy(), "unknown"),
        ([-0.01, -0.02], GatePolicy(min_mean=0.5), "ok"),
        ([-0.01, -5.0], GatePolicy(min_mean=0.4), "ok"),
        ([-0.01, -5.0], GatePolicy(min_mean=0.4, min_token=0.05), "low"),
        ([-2.3, -2.3], GatePolicy(min_mean=0.5), "low"),
    ],
    ids=["none", "sure", "one-unsure-token-mean-ok", "one-unsure-token-min", "unsure"],
)
def test_judge(logprobs: list[float], policy: GatePolicy, verdict: str) -> None:
    result = judge(logprobs, policy)
    assert result.verdict == verdict
    assert (result.mean is None) == (verdict == "unknown")

"""Intent routing end to end: ``"model": "auto"`` classified by the packaged MiniLM plus
n-grams, built at start-up from the shipped example policy's utterances."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import openai
import pytest

from gateway.intent.classifier import IntentClassifier
from gateway.intent.config import Intent, IntentRouter
from gateway.intent.features import grams
from gateway.wire.texts import cjk_letter_share as cjk_share
from tests.cache_support import minilm_dir  # noqa: F401 (fixture)
from tests.conftest import TEAM_KEY, GatewayProcess, scrape
from tests.emulators.openai_upstream import EmulatorServer
from tests.pipeline_support import (
    PLAIN_KEY,
    chat,
    ledger_note,
    pipeline_config,
    policy_intents,
    serving,
)

EXAMPLES = [
    (name, intent["target"], intent.get("tier", ""), text)
    for name, intent in policy_intents()["auto"]["intents"].items()
    for text in intent["examples"]
]


@pytest.fixture(scope="module")
def routed(
    emulator: EmulatorServer,
    tmp_path_factory: pytest.TempPathFactory,
    minilm_dir: Any,  # noqa: F811
) -> Iterator[GatewayProcess]:
    config = pipeline_config(emulator.base_url, model_dir=minilm_dir)
    with serving(config, tmp_path_factory.mktemp("intent")) as process:
        yield process


def test_every_labelled_example_goes_to_its_tier(routed: GatewayProcess) -> None:
    client = openai.OpenAI(base_url=routed.url + "/v1", api_key=TEAM_KEY, max_retries=0)
    wrong = []
    for intent, target, tier, text in EXAMPLES:
        raw = client.chat.completions.with_raw_response.create(
            model="auto", messages=[{"role": "user", "content": text}]
        )
        decision = raw.headers["x-gateway-intent"]
        answered = raw.headers["x-gateway-target"]
        if answered != f"emu/{target}" or not decision.startswith(f"{intent};"):
            wrong.append((text, intent, decision, answered))
        assert f"tier={tier}" in decision
        assert raw.parse().choices[0].message.content == f"echo: {text}"
    assert not wrong, wrong


def test_decision_is_in_the_ledger_and_the_stream_works(routed: GatewayProcess) -> None:
    client = openai.OpenAI(base_url=routed.url + "/v1", api_key=TEAM_KEY, max_retries=0)
    with client.chat.completions.with_streaming_response.create(
        model="auto",
        messages=[{"role": "user", "content": "用 Python 写一个快速排序"}],
        stream=True,
        extra_headers={"x-request-id": "intent-stream-1"},
    ) as response:
        assert response.headers["x-gateway-intent"].startswith("code;")
        text = "".join(c.choices[0].delta.content or "" for c in response.parse() if c.choices)
    assert text == "echo: 用 Python 写一个快速排序"
    note = ledger_note(routed.url, "intent-stream-1")
    assert note["router"] == "auto"
    assert note["intent"] == "code"
    assert note["tier"] == "cloud-large"
    assert 0 < note["intent_score"] <= 1


def test_router_and_experiment_names_are_listed(routed: GatewayProcess) -> None:
    client = openai.OpenAI(base_url=routed.url + "/v1", api_key=TEAM_KEY, max_retries=0)
    names = {m.id for m in client.models.list()}
    assert {"auto", "chat", "gpt-4o-mini"} <= names
    assert client.models.retrieve("auto").owned_by == "gateway"
    restricted = openai.OpenAI(base_url=routed.url + "/v1", api_key=PLAIN_KEY, max_retries=0)
    assert "auto" not in {m.id for m in restricted.models.list()}


def test_text_without_words_takes_the_default_intent(routed: GatewayProcess) -> None:
    response = chat(routed.url, {"model": "auto", "messages": [{"role": "user", "content": "   "}]})
    assert response.status_code == 200
    assert response.headers["x-gateway-intent"].startswith("general;")
    assert response.headers["x-gateway-target"] == "emu/gpt-4o-mini"


@pytest.mark.parametrize(
    ("key", "path", "body", "status", "code"),
    [
        (
            PLAIN_KEY,
            "/v1/chat/completions",
            {"messages": [{"role": "user", "content": "hi"}]},
            403,
            "model_not_allowed",
        ),
        (TEAM_KEY, "/v1/embeddings", {"input": "hi"}, 400, "unsupported_endpoint"),
        (TEAM_KEY, "/v1/chat/completions", {"messages": "hi"}, 400, None),
    ],
    ids=["team-without-auto", "embeddings", "bad-messages"],
)
def test_refusals_use_openai_errors(
    routed: GatewayProcess, key: str, path: str, body: dict[str, Any], status: int, code: str | None
) -> None:
    import httpx

    response = httpx.post(
        routed.url + path,
        json={"model": "auto", **body},
        headers={"authorization": f"Bearer {key}"},
        timeout=20,
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    if code is not None:
        assert error["code"] == code


def test_intent_metrics_are_exposed(routed: GatewayProcess) -> None:

    chat(routed.url, {"model": "auto", "messages": [{"role": "user", "content": "hello there"}]})
    text = scrape(routed.url)
    assert (
        'gateway_intent_decisions_total{intent="greeting",matched="true",router="auto",tier="local"}'
        in text
    )


# --- the classifier on its own --------------------------------------------------------


def _router(**intents: list[str]) -> IntentRouter:
    return IntentRouter(
        intents={n: Intent(target=n, examples=ex) for n, ex in intents.items()},
        default=next(iter(intents)),
        min_score=0.3,
    )


def test_ngrams_read_chinese_and_latin() -> None:
    assert "取消" in grams("如何取消订阅")
    assert "w:cancel" in grams("Cancel it")
    assert cjk_share("取消 subscription") == pytest.approx(2 / 14)


def test_regression_learns_the_examples_and_scores_a_probability() -> None:
    def embed(text: str) -> np.ndarray:  # a stand-in embedder: one axis per topic word
        vector = np.asarray(
            [w in text for w in ("refund", "python", "hello")] + [1.0], dtype=np.float32
        )
        return vector / np.linalg.norm(vector)

    classifier = IntentClassifier(
        _router(other=["weather today"], refund=["refund please"], code=["python error"]), embed
    )
    assert classifier.embeds
    decision = classifier.decide("I want a refund")
    assert decision.intent == "refund" and 0.3 < decision.score <= 1
    assert classifier.decide("python").target == "code"
    assert classifier.fallback().intent == "other"


def test_lexical_classifier_separates_scripts_and_falls_back() -> None:
    classifier = IntentClassifier(
        _router(
            other=["zzz"], refund=["退款怎么申请", "我要退款"], code=["python bug", "fix my code"]
        )
    )
    assert classifier.decide("申请退款").intent == "refund"
    assert classifier.decide("my python code has a bug").intent == "code"
    fallback = classifier.decide("completely unrelated words")
    assert (fallback.intent, fallback.matched) == ("other", False)
    assert classifier.decide("").intent == "other"

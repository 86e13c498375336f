"""The response cache end to end: a real gateway, the real openai SDK, the OpenAI-wire
emulator as upstream. Every test runs against both stores: in process (the embedded
default) and a real redis-server (``state.url: redis://``)."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from gateway.cache import verifier
from tests import openapi_schema
from tests.cache_support import (
    OTHER_KEY,
    STRICT_KEY,
    ask,
    cache_config,
    chat,
    unique,
    upstream_calls,
    wait_searchable,
)
from tests.cache_support import minilm_dir as minilm_dir  # fixture
from tests.conftest import (
    MASTER_KEY,
    RESTRICTED_KEY,
    TEAM_KEY,
    UPSTREAM_KEY,
    GatewayProcess,
    RedisServer,
)
from tests.emulators.openai_upstream import EmulatorServer
from tests.wire import assert_error, validate_chat_chunks


@pytest.fixture(scope="module", params=["memory", "redis"])
def cached(
    request: pytest.FixtureRequest,
    emulator: EmulatorServer,
    minilm_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[GatewayProcess]:
    redis: RedisServer | None = None
    if request.param == "redis":
        if shutil.which("redis-server") is None:
            pytest.skip("redis-server is not installed")
        redis = RedisServer(tmp_path_factory.mktemp("cache-redis")).start()
    process = GatewayProcess(
        cache_config(emulator.base_url, minilm_dir, state_url=redis.url if redis else ""),
        tmp_path_factory.mktemp("cache"),
        env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY},
    )
    try:
        process.wait("/health/ready", timeout=60)
        yield process
    finally:
        process.stop()
        if redis is not None:
            redis.stop()


def sdk(gateway: GatewayProcess, key: str = TEAM_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=key, max_retries=0)


def wait_stored(gateway: GatewayProcess, body: dict[str, object], key: str = TEAM_KEY) -> str:
    """Stores run in the background after the response: poll until the entry is there."""
    deadline = time.monotonic() + 5
    while True:
        status = ask(gateway.url, body, key).headers["x-gateway-cache"]
        if status != "miss" or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def test_exact_hit_replays_the_stored_answer_without_an_upstream_call(
    cached: GatewayProcess, emulator: EmulatorServer
) -> None:
    text = unique("What is the capital of Portugal?")
    first = ask(cached.url, chat(text))
    assert first.headers["x-gateway-cache"] == "miss"
    assert wait_stored(cached, chat(text)) == "hit"
    again = ask(cached.url, chat(text))
    assert again.headers["x-gateway-cache"] == "hit"
    assert "x-gateway-cache-similarity" not in again.headers
    assert upstream_calls(emulator, text) == 1
    body = again.json()
    openapi_schema.validate("CreateChatCompletionResponse", body)
    assert body["choices"] == first.json()["choices"]
    assert body["id"] != first.json()["id"]
    assert body["usage"] == first.json()["usage"]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"temperature": 0.2}, id="temperature"),
        pytest.param({"max_tokens": 3}, id="max_tokens"),
        pytest.param({"model": "gpt-4.1-mini"}, id="model"),
        pytest.param({"seed": 7}, id="seed"),
        pytest.param(
            {"messages": [{"role": "system", "content": "Answer in French."}]}, id="context"
        ),
    ],
)
def test_no_hit_across_models_parameters_or_context(
    cached: GatewayProcess, emulator: EmulatorServer, change: dict[str, object]
) -> None:
    text = unique("How long does shipping to Canada take?")
    ask(cached.url, chat(text))
    assert wait_stored(cached, chat(text)) == "hit"
    other = chat(text, **{k: v for k, v in change.items() if k != "messages"})
    if "messages" in change:
        other["messages"] = [*change["messages"], *other["messages"]]  # type: ignore[misc]
    assert ask(cached.url, other).headers["x-gateway-cache"] == "miss"


def test_no_hit_across_teams(cached: GatewayProcess, emulator: EmulatorServer) -> None:
    text = unique("Which plan includes priority support?")
    ask(cached.url, chat(text))
    assert wait_stored(cached, chat(text)) == "hit"
    assert ask(cached.url, chat(text), RESTRICTED_KEY).headers["x-gateway-cache"] == "miss"
    assert upstream_calls(emulator, text) == 2


def test_team_with_cache_off_gets_no_cache_header(
    cached: GatewayProcess, emulator: EmulatorServer
) -> None:
    text = unique("Is there a student discount?")
    for _ in range(2):
        assert "x-gateway-cache" not in ask(cached.url, chat(text), OTHER_KEY).headers
    assert upstream_calls(emulator, text) == 2


@pytest.mark.parametrize(
    ("stored", "query"),
    [
        pytest.param("How do I reset my password?", "How can I reset my password?", id="en"),
        pytest.param(
            "What is the refund policy for annual plans?",
            "What's the refund policy for annual plans?",
            id="en-contraction",
        ),
        pytest.param("年假怎么请？", "年假怎么请", id="zh"),  # noqa: RUF001
    ],
)
def test_semantic_hit_on_a_paraphrase(
    cached: GatewayProcess, emulator: EmulatorServer, stored: str, query: str
) -> None:
    tag = unique("")
    first = ask(cached.url, chat(stored + tag))
    assert wait_stored(cached, chat(stored + tag)) == "hit"
    assert wait_searchable(cached, first.headers["x-gateway-cache-key"])["searchable"]
    hit = ask(cached.url, chat(query + tag))
    assert hit.headers["x-gateway-cache"] == "semantic"
    similarity = float(hit.headers["x-gateway-cache-similarity"])
    assert 0.86 <= similarity <= 1.0
    # The emulator echoes the question: the answer is the stored question's.
    assert hit.json()["choices"] == first.json()["choices"]
    assert upstream_calls(emulator, query + tag) == 0


@pytest.mark.parametrize(
    ("stored", "query"),
    [
        pytest.param("Where is my order #1234?", "Where is my order #1243?", id="number"),
        pytest.param(
            "How do I enable two-factor authentication?",
            "How do I disable two-factor authentication?",
            id="negation",
        ),
        pytest.param("Convert 100 USD to EUR", "Convert 100 EUR to USD", id="direction"),
        pytest.param(
            "Does my plan cover Visa cards?", "Does my plan cover Mastercard cards?", id="entity"
        ),
        pytest.param("我的年假还剩几天？", "我的病假还剩几天？", id="zh-scope"),  # noqa: RUF001
        pytest.param("帮我把卧室的灯打开", "帮我把卧室的灯关闭", id="zh-negation"),
    ],
)
def test_lexically_close_but_different_questions_miss(
    cached: GatewayProcess, emulator: EmulatorServer, stored: str, query: str
) -> None:
    tag = unique("")
    first = ask(cached.url, chat(stored + tag))
    assert wait_stored(cached, chat(stored + tag)) == "hit"
    assert wait_searchable(cached, first.headers["x-gateway-cache-key"])["searchable"]
    answer = ask(cached.url, chat(query + tag))
    assert answer.headers["x-gateway-cache"] == "miss"
    assert query in answer.json()["choices"][0]["message"]["content"]
    assert upstream_calls(emulator, query + tag) == 1


def test_a_client_can_tell_when_an_answer_is_searchable(
    cached: GatewayProcess, emulator: EmulatorServer
) -> None:
    tag = unique("")
    miss = ask(cached.url, chat("How do I rotate my API key?" + tag))
    assert miss.headers["x-gateway-cache"] == "miss"
    # The team's threshold, or (once the query is embedded: other entries share its
    # namespace) the lower one an English query is searched with, the verifier judging.
    assert miss.headers["x-gateway-cache-threshold"] in ("0.8600", f"{0.86 - verifier.MARGIN:.4f}")
    key = miss.headers["x-gateway-cache-key"]
    assert wait_searchable(cached, key) == {"key": key, "stored": True, "searchable": True}
    # Searchable means a rewording hits now, with no polling of its own.
    hit = ask(cached.url, chat("How can I rotate my API key?" + tag))
    assert hit.headers["x-gateway-cache"] == "semantic"
    # Keys are per team: another team's key does not see the entry.
    other = httpx.get(
        f"{cached.url}/v1/cache/entries/{key}", headers={"authorization": f"Bearer {OTHER_KEY}"}
    )
    assert other.json()["stored"] is False
    unknown = httpx.get(
        f"{cached.url}/v1/cache/entries/{'0' * 64}",
        headers={"authorization": f"Bearer {TEAM_KEY}"},
    )
    assert unknown.json() == {"key": "0" * 64, "stored": False, "searchable": False}
    assert httpx.get(f"{cached.url}/v1/cache/entries/{key}").status_code == 401


def test_a_refused_candidate_says_why(cached: GatewayProcess) -> None:
    tag = unique("")
    stored = ask(cached.url, chat("How do I convert a JSON file to YAML?" + tag))
    wait_searchable(cached, stored.headers["x-gateway-cache-key"])
    reverse = ask(cached.url, chat("How do I convert a YAML file to JSON?" + tag))
    assert reverse.headers["x-gateway-cache"] == "miss"
    reason, _, similarity = reverse.headers["x-gateway-cache-refused"].partition("; similarity=")
    assert reason == "direction" and 0.86 <= float(similarity) <= 1.0
    far = ask(cached.url, chat("What is the capital of Mongolia?" + tag))
    assert far.headers["x-gateway-cache-refused"].startswith("below-threshold")
    # A context nobody cached before: nothing comparable, said as such.
    fresh = ask(cached.url, chat("Hello?" + tag, seed=int(uuid.uuid4().int % 10**6)))
    assert fresh.headers["x-gateway-cache-refused"] == "empty"


def test_the_verifier_judges_english_rewordings_below_the_threshold(
    cached: GatewayProcess, emulator: EmulatorServer
) -> None:
    """An English query is searched ``verifier.MARGIN`` below the threshold, and each
    candidate must be confirmed by the verifier: a rewording is served, another question
    on the same subject is refused and says so. (A fresh seed keeps the namespace this
    test's own: no tag in the text for the verifier to read.)"""
    seed = int(uuid.uuid4().int % 10**9)
    stored = ask(cached.url, chat("How do I change my Wi-Fi password?", seed=seed))
    wait_searchable(cached, stored.headers["x-gateway-cache-key"])
    # (The verifier retrained on 2026-12-07 scores this rewording 0.998; with "update" for
    # "change", 0.92, under its cut of 0.97: docs/cache.md.)
    reworded = ask(cached.url, chat("steps to change the router's wireless password", seed=seed))
    assert reworded.headers["x-gateway-cache"] == "semantic"
    assert reworded.headers["x-gateway-cache-threshold"] == f"{0.86 - verifier.MARGIN:.4f}"
    assert float(reworded.headers["x-gateway-cache-similarity"]) < 0.86  # below: verified
    related = "Is it safe to change my Wi-Fi password?"  # the guard lets it through
    refused = ask(cached.url, chat(related, seed=seed))
    assert refused.headers["x-gateway-cache"] == "miss"
    assert refused.headers["x-gateway-cache-refused"].startswith("verifier; similarity=")
    assert upstream_calls(emulator, related) >= 1


def test_semantic_needs_a_deterministic_request_and_a_team_that_allows_it(
    cached: GatewayProcess,
) -> None:
    tag = unique("")
    stored, query = "How do I change my billing email?", "How can I change my billing email?"
    for key in (TEAM_KEY, STRICT_KEY):
        ask(cached.url, chat(stored + tag, temperature=0.9), key)
        assert wait_stored(cached, chat(stored + tag, temperature=0.9), key) == "hit"
        # temperature 0.9 > semantic max_temperature 0.5: exact only
        miss = ask(cached.url, chat(query + tag, temperature=0.9), key)
        assert miss.headers["x-gateway-cache"] == "miss"
    ask(cached.url, chat(stored + tag), STRICT_KEY)
    wait_stored(cached, chat(stored + tag), STRICT_KEY)
    # team exactonly: cache on, semantic off
    assert ask(cached.url, chat(query + tag), STRICT_KEY).headers["x-gateway-cache"] == "miss"


def test_too_random_requests_bypass_the_cache(cached: GatewayProcess) -> None:
    body = chat(unique("Tell me a joke."), temperature=1.5)
    for _ in range(2):
        assert "x-gateway-cache" not in ask(cached.url, body).headers


def test_cache_control_no_cache_and_no_store(
    cached: GatewayProcess, emulator: EmulatorServer
) -> None:
    text = unique("What is the warranty period?")
    ask(cached.url, chat(text), headers={"cache-control": "no-store"})
    time.sleep(0.3)
    assert ask(cached.url, chat(text)).headers["x-gateway-cache"] == "miss"  # nothing stored
    assert wait_stored(cached, chat(text)) == "hit"
    skipped = ask(cached.url, chat(text), headers={"cache-control": "no-cache"})
    assert skipped.headers["x-gateway-cache"] == "miss"
    assert upstream_calls(emulator, text) >= 3


@pytest.mark.parametrize("include_usage", [False, True], ids=["plain", "usage"])
def test_streamed_answer_is_stored_and_replays_as_a_valid_stream(
    cached: GatewayProcess, emulator: EmulatorServer, include_usage: bool
) -> None:
    text = unique("Explain what a semantic cache does in one long sentence please.")
    client = sdk(cached)
    options = {"stream_options": {"include_usage": True}} if include_usage else {}
    first = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(**chat(text), stream=True, **options)
        if c.choices
    )
    assert wait_stored(cached, chat(text)) == "hit"  # a streamed answer serves plain requests
    raw = client.chat.completions.with_raw_response.create(**chat(text), stream=True, **options)
    assert raw.headers["x-gateway-cache"] == "hit"
    chunks = list(raw.parse())
    validate_chat_chunks([c.model_dump(exclude_unset=True) for c in chunks])
    replayed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert replayed == first
    assert chunks[-1 if not include_usage else -2].choices[0].finish_reason == "stop"
    if include_usage:
        assert chunks[-1].choices == [] and chunks[-1].usage is not None
        assert chunks[-1].usage.completion_tokens > 0
    assert upstream_calls(emulator, text) == 1


@pytest.mark.parametrize("model", ["truncated", "stream-error"])
def test_broken_streams_are_not_stored(cached: GatewayProcess, model: str) -> None:
    body = chat(unique("Give me a long answer."), model=model, stream=True)
    for _ in range(2):
        with httpx.stream(
            "POST",
            cached.url + "/v1/chat/completions",
            json=body,
            headers={"authorization": f"Bearer {TEAM_KEY}"},
            timeout=20,
        ) as response:
            assert response.headers["x-gateway-cache"] == "miss"
            for _line in response.iter_lines():
                pass
        time.sleep(0.3)


def test_stream_abandoned_by_the_client_is_not_stored(
    cached: GatewayProcess, emulator: EmulatorServer
) -> None:
    body = chat(unique("Count slowly."), model="slow", stream=True)
    with httpx.stream(
        "POST",
        cached.url + "/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {TEAM_KEY}"},
        timeout=20,
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data: {"):
                break  # leave after the first chunk
    time.sleep(0.5)
    body["stream"] = False
    assert ask(cached.url, body).headers["x-gateway-cache"] == "miss"


def test_completions_and_embeddings_use_the_exact_cache(
    cached: GatewayProcess, emulator: EmulatorServer
) -> None:
    prompt = unique("Once upon a time")
    completion = {"model": "gpt-4o-mini", "prompt": prompt, "temperature": 0}
    ask(cached.url, completion)
    assert wait_stored(cached, completion) == "hit"
    hit = ask(cached.url, completion)
    openapi_schema.validate("CreateCompletionResponse", hit.json())
    embedding = {"model": "text-embedding-3-small", "input": unique("vector me")}
    headers = {"authorization": f"Bearer {TEAM_KEY}"}
    first = httpx.post(cached.url + "/v1/embeddings", json=embedding, headers=headers)
    assert first.headers["x-gateway-cache"] == "miss"
    deadline = time.monotonic() + 5
    while True:
        again = httpx.post(cached.url + "/v1/embeddings", json=embedding, headers=headers)
        if again.headers["x-gateway-cache"] == "hit" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert again.headers["x-gateway-cache"] == "hit"
    assert again.json()["data"] == first.json()["data"]


def test_admin_purge_drops_one_teams_entries(cached: GatewayProcess) -> None:
    text = unique("How do I export my data?")
    for key in (TEAM_KEY, RESTRICTED_KEY):
        ask(cached.url, chat(text), key)
        assert wait_stored(cached, chat(text), key) == "hit"
    url = cached.url + "/admin/cache"
    assert_error(httpx.delete(url, params={"team": "one"}), 401)
    assert_error(
        httpx.delete(url, params={"team": "one"}, headers={"authorization": f"Bearer {TEAM_KEY}"}),
        403,
    )
    master = {"authorization": f"Bearer {MASTER_KEY}"}
    assert_error(httpx.delete(url, headers=master), 400)
    purged = httpx.delete(url, params={"team": "one"}, headers=master)
    assert purged.status_code == 200, purged.text
    assert purged.json()["team"] == "one" and purged.json()["purged"] >= 2
    no_store = {"cache-control": "no-store"}
    similar = text.replace("How do I", "How can I")
    assert ask(cached.url, chat(similar), headers=no_store).headers["x-gateway-cache"] == "miss"
    assert ask(cached.url, chat(text), headers=no_store).headers["x-gateway-cache"] == "miss"
    assert ask(cached.url, chat(text), RESTRICTED_KEY).headers["x-gateway-cache"] == "hit"

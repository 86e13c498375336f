"""What a client sees when the upstream misbehaves: the right status, OpenAI's error
shape, no secrets, and a gateway that recovers."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from tests.conftest import UPSTREAM_KEY
from tests.wire import assert_error, stream_events

USER = [{"role": "user", "content": "hi there"}]


def chat(http: httpx.Client, model: str, **extra: object) -> httpx.Response:
    return http.post("/v1/chat/completions", json={"model": model, "messages": USER, **extra})


@pytest.mark.parametrize(
    ("model", "status", "code"),
    [
        ("err-400", 400, "invalid_value"),  # a provider's client error passes through
        ("err-429", 429, None),
        ("err-500", 502, "upstream_error"),
        ("err-503", 503, "service_unavailable"),
        ("hang", 504, "upstream_timeout"),
        ("malformed", 502, "bad_response"),
        ("reset", 502, "upstream_disconnected"),
        ("dead", 502, "upstream_unreachable"),
        ("badkey", 502, "upstream_auth_error"),
    ],
    ids=lambda v: str(v),
)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_upstream_error_mapping(
    http: httpx.Client, model: str, status: int, code: str | None, stream: bool
) -> None:
    started = time.monotonic()
    response = chat(http, model, stream=stream)
    body = assert_error(response, status, code)
    assert UPSTREAM_KEY not in response.text
    assert "sk-wrong" not in response.text and "127.0.0.1" not in response.text
    assert time.monotonic() - started < 5, "first-byte timeout not applied"
    if model == "err-400":
        assert body["error"]["param"] == "temperature"  # the provider's own detail survives
    if model == "err-429":
        assert response.headers.get("retry-after") == "1"


def test_sdk_raises_typed_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="err-400", messages=USER)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="err-429", messages=USER)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="err-500", messages=USER)


def test_failure_mid_stream_reaches_sdk_as_error(client: openai.OpenAI, http: httpx.Client) -> None:
    """After the first byte there is no status code left to change: the stream ends with
    an OpenAI error event, which the SDK raises, and no [DONE]."""
    for model in ("truncated", "stream-error"):
        chunks, _, done = stream_events(
            http, "/v1/chat/completions", {"model": model, "messages": USER, "stream": True}
        )
        assert not done
        assert "error" in chunks[-1] and chunks[-1]["error"]["message"]
        assert any("choices" in c for c in chunks), "content before the failure was lost"
        with pytest.raises(openai.APIError):
            list(client.chat.completions.create(model=model, messages=USER, stream=True))


def test_failover_to_next_target(http: httpx.Client) -> None:
    for _ in range(4):
        response = chat(http, "failover")
        assert response.status_code == 200, response.text
        assert response.headers["x-gateway-target"] == "emu/gpt-4o-mini"


def test_fallback_model(http: httpx.Client) -> None:
    response = chat(http, "with-fallback")
    assert response.status_code == 200, response.text
    assert response.headers["x-gateway-target"] == "emu/gpt-4o-mini"
    assert response.headers["x-gateway-attempts"] == "2"
    assert response.json()["model"] == "with-fallback"


def test_client_errors_are_not_retried(http: httpx.Client, emulator) -> None:
    before = emulator.stats.requests
    chat(http, "err-400")
    assert emulator.stats.requests == before + 1


def test_recovers_after_failures(client: openai.OpenAI) -> None:
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert answer.choices[0].message.content == "echo: hi there"

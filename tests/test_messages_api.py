"""/v1/messages and /v1/messages/count_tokens with the real ``anthropic`` SDK, routed to
an Anthropic upstream (the Anthropic emulator) and to an OpenAI-wire upstream (the
OpenAI emulator): create, stream, tools, system prompt, token counting, and errors in
Anthropic's shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest

from tests.conftest import TEAM_KEY, GatewayProcess
from tests.emulators.anthropic_upstream import AnthropicServer
from tests.emulators.openai_upstream import EmulatorServer

ANTHROPIC_KEY = "sk-ant-upstream-key-0123456789"
OPENAI_KEY = "sk-upstream-secret-key-0123456789"
OTHER_KEY = "sk-messages-other-team-0123456789"
MODELS = ["claude", "gpt-4o-mini"]
TOOL = {
    "name": "lookup",
    "description": "Look something up",
    "input_schema": {
        "type": "object",
        "properties": {"query": {"type": "string"}},
        "required": ["query"],
    },
}


class Upstreams:
    def __init__(self) -> None:
        self.anthropic = AnthropicServer(api_key=ANTHROPIC_KEY).start()
        self.openai = EmulatorServer(api_key=OPENAI_KEY)
        self.openai.start()

    def stop(self) -> None:
        self.anthropic.stop()
        self.openai.stop()


@pytest.fixture(scope="module")
def upstreams() -> Iterator[Upstreams]:
    up = Upstreams()
    yield up
    up.stop()


@pytest.fixture(scope="module")
def gw(upstreams: Upstreams, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    text = f"""
server: {{max_body_bytes: 65536}}
providers:
  anthropic: {{kind: anthropic, base_url: "{upstreams.anthropic.base_url}",
              api_key: "{ANTHROPIC_KEY}"}}
  emu: {{kind: openai, base_url: "{upstreams.openai.base_url}", api_key: "{OPENAI_KEY}"}}
models:
  claude: {{targets: [{{provider: anthropic, model: claude-sonnet-4-20250514}}]}}
  gpt-4o-mini: {{targets: [{{provider: emu, model: gpt-4o-mini}}]}}
  stream-error: {{targets: [{{provider: emu, model: emu-stream-error}}]}}
teams:
  one: {{models: ["*"]}}
  two: {{models: ["claude"]}}
keys:
  - {{team: one, key: "{TEAM_KEY}"}}
  - {{team: two, key: "{OTHER_KEY}"}}
"""
    process = GatewayProcess(text, tmp_path_factory.mktemp("messages"))
    try:
        process.wait("/health/ready")
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def client(gw: GatewayProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url, api_key=TEAM_KEY, max_retries=0)


@pytest.mark.parametrize("model", MODELS)
def test_create_with_system_prompt(client: anthropic.Anthropic, model: str) -> None:
    message = client.messages.create(
        model=model,
        max_tokens=100,
        system="be brief",
        messages=[{"role": "user", "content": "hello there"}],
    )
    assert message.type == "message" and message.role == "assistant"
    assert message.model == model
    [block] = message.content
    assert block.type == "text" and block.text == "echo: hello there"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0


def test_system_prompt_reaches_the_upstream(
    client: anthropic.Anthropic, upstreams: Upstreams
) -> None:
    client.messages.create(
        model="gpt-4o-mini",
        max_tokens=50,
        system=[{"type": "text", "text": "rules"}],
        messages=[{"role": "user", "content": "x"}],
        stop_sequences=["END"],
        extra_body={"temperature": 0.5},  # not a keyword of this SDK version
    )
    sent = [r for r in upstreams.openai.requests if r["path"].endswith("/chat/completions")][-1]
    body = sent["body"]
    assert body["messages"][0] == {"role": "system", "content": "rules"}
    assert body["temperature"] == 0.5 and body["stop"] == ["END"]
    assert body["max_completion_tokens"] == 50


@pytest.mark.parametrize("model", MODELS)
def test_stream(client: anthropic.Anthropic, model: str) -> None:
    with client.messages.stream(
        model=model, max_tokens=100, messages=[{"role": "user", "content": "stream me"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "echo: stream me"
    assert final.content[0].type == "text" and final.content[0].text == text
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0


def test_stream_event_order(gw: GatewayProcess) -> None:
    body = {
        "model": "gpt-4o-mini",
        "max_tokens": 50,
        "stream": True,
        "messages": [{"role": "user", "content": "a b"}],
    }
    headers = {"x-api-key": TEAM_KEY, "anthropic-version": "2023-06-01"}
    with httpx.stream("POST", gw.url + "/v1/messages", json=body, headers=headers) as reply:
        assert reply.status_code == 200
        names = [x[7:] for x in reply.iter_lines() if x.startswith("event: ")]
    assert names[0] == "message_start"
    assert names[1] == "content_block_start"
    assert set(names[2:-3]) == {"content_block_delta"}
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]


@pytest.mark.parametrize("model", MODELS)
def test_tool_round_trip(client: anthropic.Anthropic, model: str) -> None:
    first = client.messages.create(
        model=model,
        max_tokens=100,
        tools=[TOOL],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "weather in Paris"}],
    )
    assert first.stop_reason == "tool_use"
    [call] = [b for b in first.content if b.type == "tool_use"]
    assert call.name == "lookup" and call.input == {"query": "weather in Paris"}
    second = client.messages.create(
        model=model,
        max_tokens=100,
        tools=[TOOL],  # type: ignore[list-item]
        messages=[
            {"role": "user", "content": "weather in Paris"},
            {"role": "assistant", "content": [c.model_dump() for c in first.content]},  # type: ignore[misc]
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}],
            },
        ],
    )
    assert second.stop_reason == "end_turn"
    assert second.content[0].type == "text"


def test_tool_use_stream(client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model="gpt-4o-mini",
        max_tokens=100,
        tools=[TOOL],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "q"}],
    ) as stream:
        final = stream.get_final_message()
    [call] = [b for b in final.content if b.type == "tool_use"]
    assert call.input == {"query": "q"}
    assert final.stop_reason == "tool_use"


@pytest.mark.parametrize("model", MODELS)
def test_count_tokens(client: anthropic.Anthropic, model: str) -> None:
    small = client.messages.count_tokens(model=model, messages=[{"role": "user", "content": "hi"}])
    large = client.messages.count_tokens(
        model=model,
        system="a long system prompt " * 20,
        messages=[{"role": "user", "content": "hi"}],
        tools=[TOOL],  # type: ignore[list-item]
    )
    assert 0 < small.input_tokens < large.input_tokens


def _error(reply: httpx.Response) -> dict[str, Any]:
    body = reply.json()
    assert body["type"] == "error", body
    assert set(body["error"]) >= {"type", "message"}
    return dict(body["error"])


BAD: list[tuple[dict[str, Any], int, str]] = [
    (
        {"model": "claude", "messages": [{"role": "user", "content": "x"}]},
        400,
        "invalid_request_error",
    ),
    ({"model": "claude", "max_tokens": 5, "messages": []}, 400, "invalid_request_error"),
    (
        {"model": "claude", "max_tokens": 5, "messages": [{"role": "wizard", "content": "x"}]},
        400,
        "invalid_request_error",
    ),
    (
        {
            "model": "claude",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": [{"type": "hologram"}]}],
        },
        400,
        "invalid_request_error",
    ),
    (
        {"model": "nope", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
        404,
        "not_found_error",
    ),
]


@pytest.mark.parametrize(("body", "status", "kind"), BAD)
def test_errors_in_anthropic_shape(
    gw: GatewayProcess, body: dict[str, Any], status: int, kind: str
) -> None:
    reply = httpx.post(gw.url + "/v1/messages", json=body, headers={"x-api-key": TEAM_KEY})
    assert reply.status_code == status, reply.text
    assert _error(reply)["type"] == kind


def test_auth_errors(gw: GatewayProcess, client: anthropic.Anthropic) -> None:
    body = {"model": "claude", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    reply = httpx.post(gw.url + "/v1/messages", json=body, headers={"x-api-key": "sk-bad"})
    assert reply.status_code == 401
    assert _error(reply)["type"] == "authentication_error"
    other = anthropic.Anthropic(base_url=gw.url, api_key=OTHER_KEY, max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as denied:
        other.messages.create(
            model="gpt-4o-mini", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    assert denied.value.status_code in (403, 404)
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(base_url=gw.url, api_key="sk-bad", max_retries=0).messages.create(
            model="claude", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )


def test_oversized_body(gw: GatewayProcess) -> None:
    body = json.dumps(
        {"model": "claude", "max_tokens": 5, "messages": [{"role": "user", "content": "x" * 70000}]}
    )
    reply = httpx.post(
        gw.url + "/v1/messages",
        content=body,
        headers={"x-api-key": TEAM_KEY, "content-type": "application/json"},
    )
    assert reply.status_code == 413
    assert _error(reply)["type"] == "request_too_large"


def test_upstream_error_mid_stream_is_an_error_event(gw: GatewayProcess) -> None:
    body = {"model": "stream-error", "max_tokens": 50, "stream": True,
            "messages": [{"role": "user", "content": "x"}]}  # fmt: skip
    with httpx.stream(
        "POST", gw.url + "/v1/messages", json=body, headers={"x-api-key": TEAM_KEY}
    ) as reply:
        assert reply.status_code == 200
        lines = list(reply.iter_lines())
    names = [x[7:] for x in lines if x.startswith("event: ")]
    events = [json.loads(x[6:]) for x in lines if x.startswith("data: ")]
    assert names[0] == "message_start" and names[-1] == "error"
    assert events[-1]["type"] == "error" and events[-1]["error"]["type"]


def test_responses_api_on_an_anthropic_target(gw: GatewayProcess) -> None:
    """The other surface on the same Anthropic upstream: /v1/responses with reasoning
    gets the model's thinking back as a reasoning item."""
    import openai

    from tests.openapi_schema import validate

    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=TEAM_KEY, max_retries=0)
    raw = client.responses.with_raw_response.create(
        model="claude", input="why?", reasoning={"effort": "low"}, max_output_tokens=4000
    )
    validate("Response", raw.http_response.json())
    response = raw.parse()
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert response.output_text == "echo: why?"
    events = list(
        client.responses.create(
            model="claude", input="why?", reasoning={"effort": "low"}, max_output_tokens=4000,
            stream=True,
        )
    )  # fmt: skip
    kinds = [e.type for e in events]
    assert "response.reasoning_text.delta" in kinds
    assert kinds[-1] == "response.completed"


def test_extended_thinking_round_trip(client: anthropic.Anthropic) -> None:
    """Thinking on an Anthropic target: signed thinking blocks come back (also streamed,
    with their signature) and go back upstream in the tool loop."""
    thinking = {"type": "enabled", "budget_tokens": 2000}
    first = client.messages.create(
        model="claude",
        max_tokens=4000,
        thinking=thinking,  # type: ignore[arg-type]
        tools=[TOOL],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "weather in Paris"}],
    )
    assert [b.type for b in first.content] == ["thinking", "tool_use"]
    assert first.content[0].signature  # type: ignore[union-attr]
    [call] = [b for b in first.content if b.type == "tool_use"]
    second = client.messages.create(
        model="claude",
        max_tokens=4000,
        thinking=thinking,  # type: ignore[arg-type]
        tools=[TOOL],  # type: ignore[list-item]
        messages=[
            {"role": "user", "content": "weather in Paris"},
            {"role": "assistant", "content": [c.model_dump() for c in first.content]},  # type: ignore[misc]
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny"}],
            },
        ],
    )
    assert second.content[-1].type == "text"
    with client.messages.stream(
        model="claude",
        max_tokens=4000,
        thinking=thinking,  # type: ignore[arg-type]
        messages=[{"role": "user", "content": "think"}],
    ) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].signature and final.content[0].thinking  # type: ignore[union-attr]

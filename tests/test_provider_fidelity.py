"""What Anthropic, Azure and trtllm-serve really accept, and nothing lost on the way back.

Each translator builds its request without I/O; here the request is sent to the
provider's emulator (which reproduces the quirk: a model that rejects ``temperature``,
an old Azure api-version, the engine's completions model), so a test fails exactly
when the real provider would answer 400.

New modules are imported inside the tests that need them, so the file also runs
against the tree before the change (to see each test fail there).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest

from gateway.config.schema import Provider
from gateway.providers.anthropic import AnthropicTranslator
from gateway.providers.base import StreamDone, TranslatorInput, UpstreamRequest
from gateway.wire.sse import SSEDecoder
from gateway.wire.types import Endpoint
from tests.emulators.anthropic_upstream import AnthropicServer
from tests.emulators.azure_upstream import AzureServer
from tests.emulators.trtllm_upstream import TrtllmServer

KEY = "fidelity-key-0123456789"
U = {"role": "user", "content": "hello there"}


class Servers:
    def __init__(self) -> None:
        self.anthropic = AnthropicServer(api_key=KEY).start()
        self.azure = AzureServer(api_key=KEY).start()
        self.engine = TrtllmServer().start()

    def stop(self) -> None:
        for server in (self.anthropic, self.azure, self.engine):
            server.stop()


@pytest.fixture(scope="module")
def up() -> Iterator[Servers]:
    servers = Servers()
    yield servers
    servers.stop()


def provider(kind: str, base_url: str, **extra: Any) -> Provider:
    return msgspec.convert({"kind": kind, "base_url": base_url, "api_key": KEY, **extra}, Provider)


def request(
    body: dict[str, Any],
    model: str,
    *,
    endpoint: Endpoint = Endpoint.CHAT,
    stream: bool = False,
    include_usage: bool = False,
) -> TranslatorInput:
    return TranslatorInput(
        endpoint=endpoint,
        body={"model": "client-model", **body},
        upstream_model=model,
        reported_model="client-model",
        keep_model=False,
        stream=stream,
        include_usage=include_usage,
        request_id="req_1",
    )


def send(built: UpstreamRequest) -> httpx.Response:
    return httpx.request(
        built.method, built.url, headers=built.headers, content=built.content, timeout=10
    )


def sent(built: UpstreamRequest) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(built.content)
    return body


def stream_of(translator: Any, response: httpx.Response) -> tuple[list[dict[str, Any]], Any]:
    """The client chunks of a stream and the usage the translator learned from it."""
    decoder = SSEDecoder()
    out: list[dict[str, Any]] = []
    usage = None
    try:
        for event in [*decoder.feed(response.content), *decoder.close()]:
            step = translator.parse_stream_event(event)
            out.extend(step.chunks)
            usage = step.usage or usage
    except StreamDone:
        pass
    return out, usage


def chunks_of(translator: Any, response: httpx.Response) -> list[dict[str, Any]]:
    return stream_of(translator, response)[0]


# ---------------------------------------------------------------- capability table


def test_shipped_table_loads_and_unknown_models_get_the_conservative_default() -> None:
    from gateway.providers.capabilities import capabilities_for, shipped_table

    table = shipped_table()
    assert {"anthropic", "azure"} <= set(table)
    unknown = capabilities_for("anthropic", "claude-unheard-of")
    assert "temperature" in unknown.drop and unknown.structured_outputs == "tool"
    assert capabilities_for("anthropic", "claude-sonnet-4-20250514").drop == frozenset()
    old = capabilities_for("azure", "2024-06-01")
    assert not old.stream_options and "developer" not in old.roles


def test_config_overrides_the_table() -> None:
    from gateway.providers.capabilities import capabilities_for

    caps = provider(
        "anthropic",
        "http://x",
        capabilities={"claude-sonnet-4*": {"drop": ["top_p"], "max_output_tokens": 1000}},
    ).capabilities
    resolved = capabilities_for("anthropic", "claude-sonnet-4-20250514", caps)
    assert resolved.drop == {"top_p"} and resolved.max_output_tokens == 1000
    assert resolved.reasoning == "budget"  # unset fields keep the file's value
    with pytest.raises(msgspec.ValidationError):
        provider("anthropic", "http://x", capabilities={"x": {"no_such_field": 1}})


# ---------------------------------------------------------------- Anthropic sampling


@pytest.mark.parametrize(
    ("model", "body", "expected"),
    [
        ("claude-opus-4-7", {"temperature": 0.2}, {}),
        ("claude-sonnet-5", {"temperature": 0.2, "top_p": 0.9}, {"top_p": 0.9}),
        (
            "claude-sonnet-4-5-20250929",
            {"temperature": 0.2, "top_p": 0.9},
            {"temperature": 0.2},
        ),
        (
            "claude-sonnet-4-20250514",
            {"temperature": 0.2, "top_p": 0.9, "top_k": 5},
            {"temperature": 0.2, "top_p": 0.9, "top_k": 5},
        ),
    ],
)
def test_anthropic_sends_only_the_sampling_the_model_accepts(
    up: Servers, model: str, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    translator = AnthropicTranslator(
        provider("anthropic", up.anthropic.base_url), request({"messages": [U], **body}, model)
    )
    built = translator.build_request()
    response = send(built)
    assert response.status_code == 200, response.text
    knobs = {k: v for k, v in sent(built).items() if k in ("temperature", "top_p", "top_k")}
    assert knobs == expected


# ---------------------------------------------------------------- Azure


def azure(up: Servers, version: str, body: dict[str, Any], **flags: Any) -> Any:
    from gateway.providers.azure import AzureTranslator

    return AzureTranslator(
        provider("azure", up.azure.base_url, api_version=version),
        request(body, "chat", **flags),
    )


DEVELOPER = [{"role": "developer", "content": "be brief"}, U]


@pytest.mark.parametrize(
    ("version", "role"), [("2024-06-01", "system"), ("2024-10-21", "system"),
                          ("2024-12-01-preview", "developer")]
)  # fmt: skip
def test_azure_developer_role_by_api_version(up: Servers, version: str, role: str) -> None:
    built = azure(up, version, {"messages": DEVELOPER}).build_request()
    response = send(built)
    assert response.status_code == 200, response.text
    assert sent(built)["messages"][0]["role"] == role


@pytest.mark.parametrize(
    ("version", "asked"), [("2024-06-01", False), ("2024-10-21", True)]
)  # fmt: skip
def test_azure_stream_options_by_api_version(up: Servers, version: str, asked: bool) -> None:
    body = {"messages": [U], "stream": True, "stream_options": {"include_usage": True}}
    translator = azure(up, version, body, stream=True, include_usage=True)
    built = translator.build_request()
    response = send(built)
    assert response.status_code == 200, response.text
    assert ("stream_options" in sent(built)) == asked
    chunks, usage = stream_of(translator, response)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "echo: hello there"
    assert (usage is not None) == asked  # else the gateway counts itself


@pytest.mark.parametrize(
    ("version", "forwarded"),
    [("2024-10-21", set()), ("2025-01-01-preview", {"reasoning_effort"})],
)
def test_azure_drops_fields_the_api_version_does_not_declare(
    up: Servers, version: str, forwarded: set[str]
) -> None:
    body = {"messages": [U], "reasoning_effort": "low", "service_tier": "auto"}
    built = azure(up, version, body).build_request()
    response = send(built)
    assert response.status_code == 200, response.text
    assert {"reasoning_effort", "service_tier"} & set(sent(built)) == forwarded


def test_azure_filter_annotation_chunks_get_the_stream_id(up: Servers) -> None:
    translator = azure(up, "2024-10-21", {"messages": [U], "stream": True}, stream=True)
    response = send(translator.build_request())
    chunks = chunks_of(translator, response)
    annotated = [c for c in chunks if "content_filter_offsets" in (c["choices"] or [{}])[0]]
    assert annotated, "the emulator sends an annotation chunk"
    ids = {c["id"] for c in chunks}
    assert len(ids) == 1 and "" not in ids
    assert {c["created"] for c in chunks} != {0} and all(c["created"] for c in chunks)


# ---------------------------------------------------------------- trtllm-serve


def trtllm(up: Servers, body: dict[str, Any], endpoint: Endpoint) -> Any:
    from gateway.providers.trtllm import TrtllmTranslator

    return TrtllmTranslator(
        provider("trtllm", up.engine.base_url), request(body, "llama", endpoint=endpoint)
    )


EXTRAS = {"early_stopping": True, "thinking_token_budget": 64, "cache_salt": "team-a"}


@pytest.mark.parametrize(
    ("endpoint", "body", "forwarded"),
    [
        (Endpoint.CHAT, {"messages": [U], **EXTRAS}, set(EXTRAS)),
        (
            Endpoint.COMPLETIONS,
            {"prompt": "hello", **EXTRAS},
            {"early_stopping", "thinking_token_budget"},
        ),
    ],
    ids=["chat", "completions"],
)
def test_trtllm_forwards_exactly_what_each_request_model_declares(
    up: Servers, endpoint: Endpoint, body: dict[str, Any], forwarded: set[str]
) -> None:
    built = trtllm(up, body, endpoint).build_request()
    response = send(built)
    assert response.status_code == 200, response.text
    assert set(EXTRAS) & set(sent(built)) == forwarded


@pytest.mark.parametrize(
    ("endpoint", "body", "param"),
    [
        (Endpoint.COMPLETIONS, {"prompt": "a", "suffix": "z"}, "suffix"),
        (
            Endpoint.CHAT,
            {"messages": [U], "functions": [{"name": "f", "parameters": {}}]},
            "functions",
        ),
        (Endpoint.CHAT, {"messages": [U], "modalities": ["text", "audio"]}, "modalities"),
    ],
)
def test_trtllm_refuses_undeclared_fields_that_change_meaning(
    up: Servers, endpoint: Endpoint, body: dict[str, Any], param: str
) -> None:
    from gateway.errors import InvalidRequestError

    with pytest.raises(InvalidRequestError) as caught:
        trtllm(up, body, endpoint).build_request()
    assert caught.value.param == param and caught.value.status_code == 400


# ---------------------------------------------------------------- Anthropic max_tokens

LONG = {"role": "user", "content": " ".join(f"w{i}" for i in range(5000))}


@pytest.mark.parametrize("model", ["claude-sonnet-4-20250514", "claude-3-5-haiku-20241022"])
def test_anthropic_default_max_tokens_is_the_models_ceiling(up: Servers, model: str) -> None:
    from gateway.providers.capabilities import capabilities_for

    translator = AnthropicTranslator(
        provider("anthropic", up.anthropic.base_url), request({"messages": [LONG]}, model)
    )
    built = translator.build_request()
    response = send(built)
    assert response.status_code == 200, response.text
    assert sent(built)["max_tokens"] == capabilities_for("anthropic", model).max_output_tokens
    assert translator.parse_response(response.content).body["choices"][0]["finish_reason"] == "stop"


def test_anthropic_max_tokens_from_the_client_or_the_provider_wins(up: Servers) -> None:
    model = "claude-sonnet-4-20250514"
    for configured, body, expected in [
        ({}, {"max_completion_tokens": 7}, 7),
        ({"max_tokens": 300}, {}, 300),
    ]:
        translator = AnthropicTranslator(
            provider("anthropic", up.anthropic.base_url, **configured),
            request({"messages": [U], **body}, model),
        )
        assert sent(translator.build_request())["max_tokens"] == expected


# ---------------------------------------------------------------- Anthropic thinking

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def anthropic(up: Servers, body: dict[str, Any], model: str, **flags: Any) -> AnthropicTranslator:
    return AnthropicTranslator(
        provider("anthropic", up.anthropic.base_url), request(body, model, **flags)
    )


def complete(translator: AnthropicTranslator) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what was sent upstream, the OpenAI response)."""
    from tests import openapi_schema

    built = translator.build_request()
    response = send(built)
    assert response.status_code == 200, response.text
    body = translator.parse_response(response.content).body
    openapi_schema.validate("CreateChatCompletionResponse", body)
    return sent(built), body


@pytest.mark.parametrize(
    ("model", "body", "thinking", "output_config"),
    [
        (
            "claude-sonnet-4-20250514",
            {"reasoning_effort": "medium", "temperature": 0.3},
            {"type": "enabled", "budget_tokens": 4096},
            None,
        ),
        ("claude-opus-4-7", {"reasoning_effort": "high"}, {"type": "adaptive"}, {"effort": "high"}),
        (
            "claude-sonnet-4-5-20250929",
            {"thinking": {"type": "enabled", "budget_tokens": 2000}, "top_k": 5},
            {"type": "enabled", "budget_tokens": 2000},
            None,
        ),
        (
            "claude-opus-4-7",
            {"thinking": {"type": "adaptive"}, "output_config": {"effort": "max"}},
            {"type": "adaptive"},
            {"effort": "max"},
        ),
    ],
    ids=["effort-budget", "effort-adaptive", "extra-body-thinking", "extra-body-output-config"],
)
def test_anthropic_thinking_in_and_reasoning_out(
    up: Servers,
    model: str,
    body: dict[str, Any],
    thinking: dict[str, Any],
    output_config: dict[str, Any] | None,
) -> None:
    upstream, answer = complete(anthropic(up, {"messages": [U], **body}, model))
    assert upstream["thinking"] == thinking
    assert upstream.get("output_config") == output_config
    assert "temperature" not in upstream and "top_k" not in upstream  # not while thinking
    message = answer["choices"][0]["message"]
    assert message["content"] == "echo: hello there"
    assert message["reasoning_content"] == "The user wrote: hello there"
    (block,) = message["thinking_blocks"]
    assert block["thinking"] == message["reasoning_content"] and block["signature"]


def test_anthropic_reasoning_effort_dropped_where_the_model_cannot_think(up: Servers) -> None:
    upstream, answer = complete(
        anthropic(up, {"messages": [U], "reasoning_effort": "low"}, "claude-3-5-haiku-20241022")
    )
    assert "thinking" not in upstream and "reasoning_content" not in answer["choices"][0]["message"]


def test_anthropic_reasoning_needs_room_for_the_minimum_budget(up: Servers) -> None:
    from gateway.errors import InvalidRequestError

    body = {"messages": [U], "reasoning_effort": "low", "max_completion_tokens": 500}
    with pytest.raises(InvalidRequestError) as caught:
        anthropic(up, body, "claude-sonnet-4-20250514").build_request()
    assert caught.value.param == "max_completion_tokens"


def test_anthropic_thinking_streams_as_reasoning_deltas(up: Servers) -> None:
    from tests import openapi_schema

    body = {"messages": [U], "reasoning_effort": "low", "stream": True}
    translator = anthropic(up, body, "claude-sonnet-4-20250514", stream=True)
    response = send(translator.build_request())
    assert response.status_code == 200, response.text
    chunks = chunks_of(translator, response)
    for chunk in chunks:
        openapi_schema.validate("CreateChatCompletionStreamResponse", chunk)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    reasoning = "".join(d.get("reasoning_content") or "" for d in deltas)
    assert reasoning == "The user wrote: hello there"
    assert "".join(d.get("content") or "" for d in deltas) == "echo: hello there"
    blocks = [b for d in deltas for b in d.get("thinking_blocks") or ()]
    assert [b["thinking"] for b in blocks] == [reasoning] and blocks[0]["signature"]
    first_text = next(i for i, d in enumerate(deltas) if d.get("content"))
    assert all(not d.get("reasoning_content") for d in deltas[first_text:])


def test_anthropic_thinking_signature_round_trips_in_tool_use(up: Servers) -> None:
    model = "claude-sonnet-4-20250514"
    first = {"messages": [U], "tools": [WEATHER], "reasoning_effort": "low"}
    _, answer = complete(anthropic(up, first, model))
    message = answer["choices"][0]["message"]
    assert message["tool_calls"] and message["thinking_blocks"]
    call = message["tool_calls"][0]
    follow_up = {
        **first,
        "messages": [
            U,
            message,
            {"role": "tool", "tool_call_id": call["id"], "content": "sunny"},
        ],
    }
    upstream, answer = complete(anthropic(up, follow_up, model))
    assert upstream["messages"][1]["content"][0] == message["thinking_blocks"][0]
    assert answer["choices"][0]["message"]["content"] == "echo: sunny"


# ---------------------------------------------------------------- Anthropic structured output

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}
JSON_SCHEMA = {"type": "json_schema", "json_schema": {"name": "place", "schema": SCHEMA}}


def test_anthropic_native_structured_outputs(up: Servers) -> None:
    body = {"messages": [U], "response_format": JSON_SCHEMA}
    upstream, answer = complete(anthropic(up, body, "claude-sonnet-4-5-20250929"))
    assert upstream["output_config"] == {"format": {"type": "json_schema", "schema": SCHEMA}}
    assert "system" not in upstream and "tools" not in upstream
    assert json.loads(answer["choices"][0]["message"]["content"]) == {"city": "echo: hello there"}


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_anthropic_structured_output_by_forced_tool(up: Servers, stream: bool) -> None:
    body = {"messages": [U], "response_format": JSON_SCHEMA, "stream": stream}
    translator = anthropic(up, body, "claude-sonnet-4-20250514", stream=stream)
    built = translator.build_request()
    upstream = sent(built)
    assert upstream["tool_choice"] == {"type": "tool", "name": "json_response"}
    assert upstream["tools"][0]["input_schema"] == SCHEMA and "system" not in upstream
    response = send(built)
    assert response.status_code == 200, response.text
    if stream:
        chunks = chunks_of(translator, response)
        deltas = [c["choices"][0] for c in chunks if c["choices"]]
        content = "".join(d["delta"].get("content") or "" for d in deltas)
        assert not any(d["delta"].get("tool_calls") for d in deltas)
        finish = deltas[-1]["finish_reason"]
    else:
        choice = translator.parse_response(response.content).body["choices"][0]
        content, finish = choice["message"]["content"], choice["finish_reason"]
        assert "tool_calls" not in choice["message"]
    assert json.loads(content) == {"query": "hello there"} and finish == "stop"


def test_anthropic_structured_output_falls_back_to_an_instruction(up: Servers) -> None:
    """With the client's own tools a forced tool would exclude them: an instruction."""
    body = {"messages": [U], "response_format": JSON_SCHEMA, "tools": [WEATHER]}
    upstream, _ = complete(anthropic(up, body, "claude-sonnet-4-20250514"))
    assert [t["name"] for t in upstream["tools"]] == ["get_weather"]
    assert "JSON Schema" in upstream["system"] and "tool_choice" not in upstream


# ---------------------------------------------------------------- Anthropic usage details


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_anthropic_thinking_tokens_reach_the_usage(up: Servers, stream: bool) -> None:
    body = {"messages": [U], "reasoning_effort": "low", "stream": stream}
    translator = anthropic(
        up, body, "claude-sonnet-4-20250514", stream=stream, include_usage=stream
    )
    response = send(translator.build_request())
    if stream:
        usage = [c for c in chunks_of(translator, response) if c.get("usage")][-1]["usage"]
    else:
        usage = translator.parse_response(response.content).body["usage"]
    from tests.emulators.openai_bodies import tokenize

    thinking = len(tokenize("The user wrote: hello there"))  # the emulator's count
    assert usage["completion_tokens_details"] == {"reasoning_tokens": thinking}
    assert usage["completion_tokens"] > thinking


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_anthropic_refusal_details_are_kept(up: Servers, stream: bool) -> None:
    from tests import openapi_schema

    body = {"messages": [U], "stream": stream}
    translator = anthropic(up, body, "claude-refuses", stream=stream)
    response = send(translator.build_request())
    if stream:
        chunks = chunks_of(translator, response)
        for chunk in chunks:
            openapi_schema.validate("CreateChatCompletionStreamResponse", chunk)
        choice = chunks[-1]["choices"][0]
        refusal = choice["delta"]["refusal"]
    else:
        answer = translator.parse_response(response.content).body
        openapi_schema.validate("CreateChatCompletionResponse", answer)
        choice = answer["choices"][0]
        refusal = choice["message"]["refusal"]
    assert choice["finish_reason"] == "content_filter"
    assert refusal == "This request asks for help with malware."
    assert choice["stop_details"]["category"] == "cyber"

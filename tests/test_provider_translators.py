"""Translators without I/O: request building, response and stream parsing, errors.

Table-driven, one row per case; what each provider does on the wire is checked
end to end against its emulator in ``test_provider_e2e``.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from gateway.config.schema import Provider
from gateway.errors import (
    GatewayError,
    InvalidRequestError,
    RateLimitError,
    ServiceUnavailableError,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from gateway.providers.anthropic import AnthropicTranslator
from gateway.providers.anthropic_messages import to_messages
from gateway.providers.azure import AzureTranslator
from gateway.providers.base import StreamDone, TranslatorInput
from gateway.providers.trtllm import TrtllmTranslator
from gateway.wire.sse import Event, SSEDecoder
from gateway.wire.types import Endpoint, Usage
from tests import openapi_schema

TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


def provider(kind: str, **extra: Any) -> Provider:
    return msgspec.convert({"kind": kind, "base_url": "http://up:1", **extra}, Provider)


def request(
    body: dict[str, Any],
    *,
    endpoint: Endpoint = Endpoint.CHAT,
    stream: bool = False,
    include_usage: bool = False,
    keep_model: bool = False,
) -> TranslatorInput:
    return TranslatorInput(
        endpoint=endpoint,
        body=body,
        upstream_model="up-model",
        reported_model="client-model",
        keep_model=keep_model,
        stream=stream,
        include_usage=include_usage,
        request_id="req_1",
        session_id="s-1",
    )


def events(raw: bytes) -> list[Event]:
    decoder = SSEDecoder()
    return [*decoder.feed(raw), *decoder.close()]


def run_stream(translator: Any, raw: bytes) -> list[dict[str, Any]]:
    return run_stream_usage(translator, raw)[0]


def run_stream_usage(translator: Any, raw: bytes) -> tuple[list[dict[str, Any]], Usage | None]:
    """The chunks a stream yields and the usage it reported last (as the exchange keeps)."""
    chunks: list[dict[str, Any]] = []
    usage: Usage | None = None
    for event in events(raw):
        try:
            step = translator.parse_stream_event(event)
        except StreamDone:
            break
        chunks.extend(step.chunks)
        usage = step.usage or usage
    return chunks, usage


# ---------------------------------------------------------------- Anthropic requests

U = {"role": "user", "content": "hi"}
CASES = [
    (
        "system-and-developer",
        {
            "messages": [
                {"role": "system", "content": "a"},
                {"role": "developer", "content": "b"},
                U,
            ]
        },
        {
            "system": "a\n\nb",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        },
    ),
    ("max-tokens-default", {"messages": [U]}, {"max_tokens": 100}),
    ("max-completion-tokens", {"messages": [U], "max_completion_tokens": 7}, {"max_tokens": 7}),
    ("temperature-capped", {"messages": [U], "temperature": 1.5}, {"temperature": 1.0}),
    ("stop-string", {"messages": [U], "stop": "END"}, {"stop_sequences": ["END"]}),
    ("user", {"messages": [U], "user": "u"}, {"metadata": {"user_id": "u"}}),
    (
        "tool-choice-required",
        {"messages": [U], "tools": [TOOL], "tool_choice": "required"},
        {
            "tool_choice": {"type": "any"},
            "tools": [{"name": "f", "input_schema": {"type": "object"}}],
        },
    ),
    (
        "tool-choice-named",
        {
            "messages": [U],
            "tools": [TOOL],
            "tool_choice": {"type": "function", "function": {"name": "f"}},
        },
        {"tool_choice": {"type": "tool", "name": "f"}},
    ),
    (
        "no-parallel",
        {"messages": [U], "tools": [TOOL], "parallel_tool_calls": False},
        {"tool_choice": {"type": "auto", "disable_parallel_tool_use": True}},
    ),
    ("tool-choice-without-tools-dropped", {"messages": [U], "tool_choice": "none"}, {}),
    (
        "image-data-url",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,QUJD"}}
                    ],
                }
            ]
        },
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": "QUJD"},
                        }
                    ],
                }
            ]
        },
    ),
    (
        "tool-results-merged-first",
        {
            "messages": [
                U,
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "t1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        },
                        {
                            "id": "t2",
                            "type": "function",
                            "function": {"name": "f", "arguments": '{"a":1}'},
                        },
                    ],
                },
                {"role": "tool", "tool_call_id": "t1", "content": "r1"},
                {"role": "tool", "tool_call_id": "t2", "content": [{"type": "text", "text": "r2"}]},
                {"role": "user", "content": "next"},
            ]
        },
        {
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "hi"}]},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "t1", "name": "f", "input": {}},
                        {"type": "tool_use", "id": "t2", "name": "f", "input": {"a": 1}},
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "t1", "content": "r1"},
                        {
                            "type": "tool_result",
                            "tool_use_id": "t2",
                            "content": [{"type": "text", "text": "r2"}],
                        },
                        {"type": "text", "text": "next"},
                    ],
                },
            ]
        },
    ),
]


@pytest.mark.parametrize(("body", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_anthropic_request_mapping(body: dict[str, Any], expected: dict[str, Any]) -> None:
    built = to_messages(body, "claude-x", 100)
    assert built["model"] == "claude-x"
    for key, value in expected.items():
        assert built[key] == value, key
    if "tool_choice" not in expected:
        assert "tool_choice" not in built or "tools" in built


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [U], "n": 2}, "n"),
        ({"messages": [U], "logprobs": True}, "logprobs"),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}
                ]
            },
            "messages[0].content[0]",
        ),
        ({"messages": [{"role": "function", "content": "x"}]}, "messages[0].role"),
    ],
)
def test_anthropic_refuses_what_it_cannot_do(body: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        to_messages(body, "claude-x", 100)
    assert caught.value.param == param


# ---------------------------------------------------------------- Anthropic responses


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("something_new", "stop"),
    ],
)
def test_anthropic_response(stop_reason: str, finish: str) -> None:
    translator = AnthropicTranslator(provider("anthropic"), request({"messages": [U]}))
    parsed = translator.parse_response(
        json.dumps(
            {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-x",
                "content": [
                    {"type": "text", "text": "a"},
                    {"type": "thinking", "thinking": "..."},
                    {"type": "text", "text": "b"},
                    {"type": "tool_use", "id": "tu", "name": "f", "input": {"x": [1]}},
                ],
                "stop_reason": stop_reason,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 10,
                    "output_tokens": 4,
                    "cache_read_input_tokens": 5,
                    "cache_creation_input_tokens": 3,
                },
            }
        ).encode()
    )
    body = parsed.body
    openapi_schema.validate("CreateChatCompletionResponse", body)
    choice = body["choices"][0]
    assert choice["finish_reason"] == finish and choice["message"]["content"] == "ab"
    assert json.loads(choice["message"]["tool_calls"][0]["function"]["arguments"]) == {"x": [1]}
    assert body["usage"] == {
        "prompt_tokens": 18,
        "completion_tokens": 4,
        "total_tokens": 22,
        "prompt_tokens_details": {"cached_tokens": 5},
    }
    assert parsed.usage is not None and parsed.usage.cache_write_tokens == 3
    assert body["model"] == "client-model"


def _sse(*items: tuple[str, dict[str, Any]]) -> bytes:
    return b"".join(
        f"event: {k}\ndata: {json.dumps({'type': k, **d})}\n\n".encode() for k, d in items
    )


STREAM = _sse(
    (
        "message_start",
        {
            "message": {
                "id": "msg_1",
                "model": "claude-x",
                "usage": {"input_tokens": 9, "output_tokens": 1},
            }
        },
    ),
    ("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
    ("ping", {}),
    ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "Hel"}}),
    ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "lo"}}),
    ("content_block_stop", {"index": 0}),
    (
        "content_block_start",
        {"index": 1, "content_block": {"type": "tool_use", "id": "tu", "name": "f", "input": {}}},
    ),
    (
        "content_block_delta",
        {"index": 1, "delta": {"type": "input_json_delta", "partial_json": ""}},
    ),
    (
        "content_block_delta",
        {"index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"a": 1}'}},
    ),
    ("message_delta", {"delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 6}}),
    ("message_stop", {}),
)


@pytest.mark.parametrize("include_usage", [False, True])
@pytest.mark.parametrize("split", [1, 7, 10_000], ids=["bytewise", "small", "whole"])
def test_anthropic_stream(include_usage: bool, split: int) -> None:
    translator = AnthropicTranslator(
        provider("anthropic"), request({"messages": [U]}, stream=True, include_usage=include_usage)
    )
    decoder = SSEDecoder()
    chunks: list[dict[str, Any]] = []
    usage: Usage | None = None
    with pytest.raises(StreamDone):
        for start in range(0, len(STREAM), split):
            for event in decoder.feed(STREAM[start : start + split]):
                step = translator.parse_stream_event(event)
                chunks.extend(step.chunks)
                usage = step.usage or usage
    for chunk in chunks:
        openapi_schema.validate("CreateChatCompletionStreamResponse", chunk)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas[0] == {"role": "assistant", "content": "Hel"}
    assert deltas[2]["tool_calls"][0]["id"] == "tu"
    assert deltas[3]["tool_calls"][0] == {"index": 0, "function": {"arguments": '{"a": 1}'}}
    assert chunks[-1 - include_usage]["choices"][0]["finish_reason"] == "tool_calls"
    assert (chunks[-1].get("usage") is not None) == include_usage
    assert usage is not None and usage.completion_tokens == 6


@pytest.mark.parametrize(
    ("status", "body", "kind", "code"),
    [
        (
            400,
            {"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}},
            UpstreamStatusError,
            "upstream_error",
        ),
        (
            401,
            {"type": "error", "error": {"type": "authentication_error", "message": "key"}},
            UpstreamError,
            "upstream_auth_error",
        ),
        (
            429,
            {"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}},
            RateLimitError,
            "rate_limit_exceeded",
        ),
        (
            500,
            {"type": "error", "error": {"type": "api_error", "message": "oops"}},
            UpstreamError,
            "upstream_error",
        ),
        (
            529,
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            ServiceUnavailableError,
            "service_unavailable",
        ),
        (504, "<html>gateway timeout</html>", UpstreamTimeoutError, "upstream_timeout"),
    ],
)
def test_anthropic_errors(status: int, body: Any, kind: type[GatewayError], code: str) -> None:
    translator = AnthropicTranslator(
        provider("anthropic", api_key="sk-ant-secret"), request({"messages": [U]})
    )
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    error = translator.parse_error(status, content, {"retry-after": "3"})
    assert type(error) is kind and error.code == code
    assert error.headers["retry-after"] == "3"
    openapi_schema.validate("ErrorResponse", error.body())


def test_anthropic_stream_error_event_before_content_is_retryable() -> None:
    translator = AnthropicTranslator(provider("anthropic"), request({"messages": [U]}, stream=True))
    raw = _sse(
        ("message_start", {"message": {"id": "m", "usage": {"input_tokens": 1}}}),
        ("error", {"error": {"type": "overloaded_error", "message": "Overloaded"}}),
    )
    with pytest.raises(ServiceUnavailableError):
        run_stream(translator, raw)


# ---------------------------------------------------------------- trtllm


def test_trtllm_request_is_cut_to_what_the_engine_accepts() -> None:
    body = {
        "model": "x",
        "messages": [{"role": "developer", "content": "d"}, U],
        "store": True,
        "metadata": {},
        "service_tier": "auto",
        "max_completion_tokens": 9,
        "top_k": 3,
        "stream_options": {"include_usage": False},
        "functions": [],
        "cache_salt": "s",
    }
    built = TrtllmTranslator(provider("trtllm"), request(body)).build_request()
    sent = json.loads(built.content)
    assert built.url == "http://up:1/v1/chat/completions"
    assert built.headers["x-session-id"] == "s-1" and "authorization" not in built.headers
    assert sent == {
        "model": "up-model",
        "messages": [{"role": "system", "content": "d"}, U],
        "max_tokens": 9,
        "top_k": 3,
        "cache_salt": "s",
    }
    streamed = TrtllmTranslator(
        provider("trtllm", base_url="http://up:1/v1"), request(body, stream=True)
    ).build_request()
    assert json.loads(streamed.content)["stream_options"] == {"include_usage": True}
    assert streamed.url == "http://up:1/v1/chat/completions"


def test_trtllm_stream_repairs() -> None:
    raw = (
        b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"x",'
        b'"choices":[{"index":0,"delta":{"role":"assistant"}}]} \n\n'
        b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"x",'
        b'"choices":[{"index":0,"delta":{"content":"Hi"},"stop_reason":null}]}\n\n'
        b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"x",'
        b'"choices":[{"index":0,"delta":{"content":"!"},"finish_reason":"stop"}]}\n\n'
        b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"x",'
        b'"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5,'
        b'"prompt_tokens_details":null}}\n\n'
        b"data: [DONE]\n\n"
    )
    for include_usage in (False, True):
        translator = TrtllmTranslator(
            provider("trtllm"), request({}, stream=True, include_usage=include_usage)
        )
        chunks, usage = run_stream_usage(translator, raw)
        for chunk in chunks:
            openapi_schema.validate("CreateChatCompletionStreamResponse", chunk)
        assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": "Hi"}
        assert chunks[0]["choices"][0]["finish_reason"] is None
        assert "stop_reason" not in chunks[0]["choices"][0]
        assert len(chunks) == 2 + include_usage
        assert usage is not None and usage.prompt_tokens == 3


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            400,
            {
                "object": "error",
                "message": "bad top_k",
                "type": "BadRequestError",
                "param": None,
                "code": 400,
            },
            "bad top_k",
        ),
        (
            400,
            {"error": "1 validation error for ChatCompletionRequest\nstore\n  Extra inputs"},
            "1 validation error",
        ),
    ],
)
def test_trtllm_errors_in_openai_shape(status: int, body: dict[str, Any], message: str) -> None:
    error = TrtllmTranslator(provider("trtllm"), request({})).parse_error(
        status, json.dumps(body).encode(), {}
    )
    assert error.status_code == 400 and error.body()["error"]["message"].startswith(message)
    assert error.body()["error"]["type"] == "invalid_request_error"
    assert error.body()["error"]["code"] not in (400, "400")  # the engine's integer code
    openapi_schema.validate("ErrorResponse", error.body())


# ---------------------------------------------------------------- Azure


def test_azure_request() -> None:
    translator = AzureTranslator(
        provider(
            "azure", base_url="https://res.openai.azure.com/", api_key="k", api_version="2024-06-01"
        ),
        request({"model": "x", "messages": [U]}, endpoint=Endpoint.EMBEDDINGS),
    )
    built = translator.build_request()
    assert built.url == (
        "https://res.openai.azure.com/openai/deployments/up-model/embeddings?api-version=2024-06-01"
    )
    assert built.headers["api-key"] == "k" and "authorization" not in built.headers


def test_azure_prompt_filter_chunk_is_dropped() -> None:
    translator = AzureTranslator(provider("azure"), request({}, stream=True))
    raw = (
        b'data: {"choices":[],"created":0,"id":"","model":"","object":"",'
        b'"prompt_filter_results":[]}\n\n'
        b'data: {"choices":[{"content_filter_results":{},"delta":{"content":"a","role":'
        b'"assistant"},"finish_reason":null,"index":0}],"created":1,"id":"c","model":"m",'
        b'"object":"chat.completion.chunk"}\n\ndata: [DONE]\n\n'
    )
    chunks = run_stream(translator, raw)
    assert len(chunks) == 1 and chunks[0]["choices"][0]["delta"]["content"] == "a"

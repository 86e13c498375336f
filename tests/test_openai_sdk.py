"""End to end with the real ``openai`` SDK against a running gateway, and every body and
chunk it emits validated against OpenAI's OpenAPI schemas."""

from __future__ import annotations

import base64
import json
import struct

import httpx
import openai
import pytest

from tests import openapi_schema
from tests.wire import post_json, stream_events, validate_chat_chunks

USER = [{"role": "user", "content": "hello gateway world"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search",
            "description": "Search the docs",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        },
    }
]


def test_chat_completion(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=USER)
    openapi_schema.validate("CreateChatCompletionResponse", raw.http_response.json())
    completion = raw.parse()
    assert completion.choices[0].message.content == "echo: hello gateway world"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    assert completion.model == "gpt-4o-mini-2024-07-18"  # not an alias: upstream snapshot kept
    headers = raw.http_response.headers
    assert headers["x-gateway-target"] == "emu/gpt-4o-mini"
    assert float(headers["x-gateway-overhead-ms"]) >= 0
    assert headers["x-request-id"]


def test_chat_parameters_n_and_stop(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=USER, n=3, stop=[" world"], temperature=0.2
    )
    assert [c.index for c in completion.choices] == [0, 1, 2]
    assert completion.choices[0].message.content == "echo: hello gateway"


def test_request_id_echoed(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=USER, extra_headers={"x-request-id": "trace-abc-123"}
    )
    assert raw.http_response.headers["x-request-id"] == "trace-abc-123"


def test_chat_stream(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: hello gateway world"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks), "usage chunk leaked though not requested"


def test_chat_stream_include_usage(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=USER, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


def test_chat_stream_chunks_validate(http: httpx.Client) -> None:
    for options in (None, {"include_usage": True}):
        body = {"model": "gpt-4o-mini", "messages": USER, "stream": True, "n": 2}
        if options:
            body["stream_options"] = options
        chunks, _, done = stream_events(http, "/v1/chat/completions", body)
        assert done
        validate_chat_chunks(chunks)
        assert {c["choices"][0]["index"] for c in chunks if c["choices"]} == {0, 1}


def test_tool_calls(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=USER, tools=TOOLS, tool_choice="auto"
    )
    call = completion.choices[0].message.tool_calls[0]
    assert completion.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "search"
    assert json.loads(call.function.arguments) == {"query": "hello gateway world"}


def test_tool_call_deltas_in_stream(client: openai.OpenAI, http: httpx.Client) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=USER,
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "search"}},
        stream=True,
    )
    arguments = ""
    names = []
    for chunk in stream:
        for choice in chunk.choices:
            for delta in choice.delta.tool_calls or []:
                if delta.function and delta.function.name:
                    names.append(delta.function.name)
                arguments += (delta.function.arguments or "") if delta.function else ""
    assert names == ["search"]
    assert json.loads(arguments) == {"query": "hello gateway world"}
    chunks, _, _ = stream_events(
        http,
        "/v1/chat/completions",
        {"model": "gpt-4o-mini", "messages": USER, "tools": TOOLS, "stream": True},
    )
    validate_chat_chunks(chunks)


@pytest.mark.parametrize(
    "response_format",
    [
        {"type": "json_object"},
        {
            "type": "json_schema",
            "json_schema": {
                "name": "echo",
                "schema": {"type": "object", "properties": {"echo": {"type": "string"}}},
                "strict": True,
            },
        },
    ],
    ids=["json_object", "json_schema"],
)
def test_response_format(client: openai.OpenAI, response_format: dict) -> None:
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=USER, response_format=response_format
    )
    assert json.loads(completion.choices[0].message.content) == {"echo": "hello gateway world"}


def test_legacy_completions(client: openai.OpenAI, http: httpx.Client) -> None:
    completion = client.completions.create(model="gpt-4o-mini", prompt="say this", max_tokens=5)
    assert completion.choices[0].text
    post_json(
        http,
        "/v1/completions",
        {"model": "gpt-4o-mini", "prompt": ["a b", "c d"]},
        "CreateCompletionResponse",
    )
    chunks = list(client.completions.create(model="gpt-4o-mini", prompt="say this", stream=True))
    assert "".join(c.choices[0].text for c in chunks if c.choices)


def test_embeddings(client: openai.OpenAI, http: httpx.Client) -> None:
    result = client.embeddings.create(model="text-embedding-3-small", input=["one", "two"])
    assert len(result.data) == 2 and len(result.data[0].embedding) > 0
    post_json(
        http,
        "/v1/embeddings",
        {"model": "text-embedding-3-small", "input": "one"},
        "CreateEmbeddingResponse",
    )
    # OpenAI's spec types `embedding` as an array only; base64 is what OpenAI really sends
    # for encoding_format=base64 (and what the SDK asks for by default), so check it apart.
    response = http.post(
        "/v1/embeddings",
        json={"model": "text-embedding-3-small", "input": "one", "encoding_format": "base64"},
    )
    raw = base64.b64decode(response.json()["data"][0]["embedding"])
    assert len(raw) % 4 == 0 and struct.unpack(f"<{len(raw) // 4}f", raw)


def test_models_list_and_retrieve(client: openai.OpenAI, http: httpx.Client) -> None:
    listed = http.get("/v1/models")
    openapi_schema.validate("ListModelsResponse", listed.json())
    ids = {m.id for m in client.models.list()}
    assert {"gpt-4o-mini", "sparse", "text-embedding-3-small"} <= ids
    assert client.models.retrieve("gpt-4o-mini").id == "gpt-4o-mini"
    assert client.models.retrieve("emu/gpt-4o").id == "emu/gpt-4o"  # prefix route
    openapi_schema.validate("Model", http.get("/v1/models/gpt-4o-mini").json())
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_models_list_shows_only_allowed(gateway) -> None:
    from tests.conftest import RESTRICTED_KEY

    restricted = openai.OpenAI(base_url=gateway.url + "/v1", api_key=RESTRICTED_KEY)
    assert [m.id for m in restricted.models.list()] == ["gpt-4o-mini"]
    with pytest.raises(openai.PermissionDeniedError):
        restricted.chat.completions.create(model="sparse", messages=USER)


def test_prefix_route_forwards_model(client: openai.OpenAI, emulator) -> None:
    completion = client.chat.completions.create(model="emu/gpt-4o", messages=USER)
    assert completion.choices[0].message.content == "echo: hello gateway world"
    assert emulator.requests[-1]["body"]["model"] == "gpt-4o"


def test_sparse_upstream_is_repaired(client: openai.OpenAI, http: httpx.Client) -> None:
    """A loose OpenAI-compatible server's bodies and chunks come out schema-valid."""
    document = post_json(
        http,
        "/v1/chat/completions",
        {"model": "sparse", "messages": USER},
        "CreateChatCompletionResponse",
    )
    assert document["model"] == "sparse"  # an alias never leaks the upstream's name
    assert document["choices"][0]["message"]["refusal"] is None
    chunks, _, done = stream_events(
        http, "/v1/chat/completions", {"model": "sparse", "messages": USER, "stream": True}
    )
    assert done
    validate_chat_chunks(chunks)
    assert all("usage" not in c for c in chunks), "usage passed on though not requested"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "echo: hello gateway world"


def test_upstream_sees_gateway_credentials_only(client: openai.OpenAI, emulator) -> None:
    from tests.conftest import TEAM_KEY, UPSTREAM_KEY

    list(client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True))
    sent = emulator.requests[-1]
    headers = {k.lower(): v for k, v in sent["headers"].items()}
    assert headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert TEAM_KEY not in json.dumps(sent)
    # The gateway always asks for the usage chunk so it can account for the stream.
    assert sent["body"]["stream_options"] == {"include_usage": True}

"""The OpenAI emulator is only worth testing against if it is faithful.

Every body and every stream chunk it sends is checked against OpenAI's OpenAPI
schemas, and the real ``openai`` SDK must accept it. The ``emu-sparse`` quirks must
*fail* the schemas: that proves both the quirk and the validator are real. The
failure scenarios are checked at the transport level with httpx.
"""

from __future__ import annotations

import base64
import json
import math
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import (
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageParam,
    ChatCompletionToolParam,
)

from tests import openapi_schema
from tests.emulators.openai_bodies import tokenize
from tests.emulators.openai_upstream import EmulatorServer

KEY = "sk-test-emulator-key"
USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello brave new world"}]
TOOLS: list[ChatCompletionToolParam] = [
    {"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}},
    {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}},
]
DONE = "[DONE]"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(api_key=KEY, slow_chunk_delay=0.05, hang_seconds=5) as server:
        yield server


@pytest.fixture(scope="module")
def client(emulator: EmulatorServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=emulator.base_url, api_key=KEY, max_retries=0, timeout=10)


@pytest.fixture(scope="module")
def web() -> Iterator[httpx.Client]:
    """One plain client for absolute URLs; building clients is not free (TLS setup)."""
    with httpx.Client(timeout=10) as session:
        yield session


@pytest.fixture(scope="module", autouse=True)
def cli_server() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``python -m tests.emulators.openai_upstream``, started before anything else so
    its second of imports overlaps the spec load."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free now; the child binds it a moment later
    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, "-m", "tests.emulators.openai_upstream", "--port", str(port)]
    process = subprocess.Popen(command, cwd=root, stderr=subprocess.PIPE)
    try:
        yield process, port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def http(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=emulator.base_url, headers=headers, timeout=10) as session:
        yield session


def sse_events(response: httpx.Response) -> list[Any]:
    """``data:`` payloads in order, JSON-decoded; ``[DONE]`` stays a string."""
    events: list[Any] = []
    for line in response.iter_lines():
        if line.startswith("data: "):
            payload = line.removeprefix("data: ")
            events.append(payload if payload == DONE else json.loads(payload))
        else:
            assert line == "", f"unexpected SSE line {line!r}"
    return events


def stream(http: httpx.Client, path: str, body: dict[str, Any]) -> list[Any]:
    with http.stream("POST", path, json=body | {"stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        return sse_events(response)


def chat_stream(http: httpx.Client, **body: Any) -> list[dict[str, Any]]:
    """A chat stream whose every chunk is valid and which ends with ``[DONE]``."""
    events = stream(http, "/chat/completions", {"messages": USER} | body)
    assert events[-1] == DONE
    chunks = events[:-1]
    for chunk in chunks:
        assert isinstance(chunk, dict)
        openapi_schema.validate("CreateChatCompletionStreamResponse", chunk)
    return chunks


# ---------------------------------------------------------------- chat, non-streaming


def test_chat_plain_body_is_openai_shaped(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=USER)
    body = json.loads(raw.text)
    openapi_schema.validate("CreateChatCompletionResponse", body)
    assert raw.text.startswith('{\n  "id": "chatcmpl-')
    assert raw.headers["x-request-id"].startswith("req_")
    choice = body["choices"][0]
    assert choice["message"] == {
        "role": "assistant",
        "content": "echo: hello brave new world",
        "refusal": None,
        "annotations": [],
    }
    assert (choice["finish_reason"], choice["logprobs"]) == ("stop", None)
    assert body["model"] == "gpt-4o-mini-2024-07-18"
    assert body["service_tier"] == "default"
    assert body["system_fingerprint"].startswith("fp_")
    usage = body["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (7, 5, 12)
    assert usage["prompt_tokens_details"]["cached_tokens"] == 0
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 0
    parsed = raw.parse()
    assert parsed.choices[0].message.content == "echo: hello brave new world"


def test_chat_n_returns_indexed_choices(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model="emu-echo", messages=USER, n=3)
    body = json.loads(raw.text)
    openapi_schema.validate("CreateChatCompletionResponse", body)
    contents = [(c["index"], c["message"]["content"]) for c in body["choices"]]
    base = "echo: hello brave new world"
    assert contents == [(0, base), (1, f"{base} #1"), (2, f"{base} #2")]
    assert body["usage"]["completion_tokens"] == 5 + 6 + 6


@pytest.mark.parametrize(
    ("options", "content", "finish"),
    [
        ({"stop": " new"}, "echo: hello brave", "stop"),
        ({"stop": ["world", "brave"]}, "echo: hello ", "stop"),
        ({"max_tokens": 2}, "echo: hello", "length"),
        ({"max_completion_tokens": 3}, "echo: hello brave", "length"),
        ({"max_tokens": 50}, "echo: hello brave new world", "stop"),
    ],
    ids=["stop-string", "stop-list", "max-tokens", "max-completion-tokens", "budget-unused"],
)
def test_chat_stop_and_token_budget(
    client: openai.OpenAI, options: dict[str, Any], content: str, finish: str
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="emu-echo", messages=USER, **options
    )
    body = json.loads(raw.text)
    openapi_schema.validate("CreateChatCompletionResponse", body)
    choice = body["choices"][0]
    assert (choice["message"]["content"], choice["finish_reason"]) == (content, finish)


@pytest.mark.parametrize(
    ("tool_choice", "name"),
    [
        (openai.omit, "search"),
        ("auto", "search"),
        ("required", "search"),
        ({"type": "function", "function": {"name": "lookup"}}, "lookup"),
    ],
    ids=["default", "auto", "required", "named"],
)
def test_chat_tools_answer_with_a_tool_call(
    client: openai.OpenAI, tool_choice: Any, name: str
) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=USER, tools=TOOLS, tool_choice=tool_choice
    )
    body = json.loads(raw.text)
    openapi_schema.validate("CreateChatCompletionResponse", body)
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["id"].startswith("call_")
    assert call["type"] == "function"
    assert call["function"]["name"] == name
    assert json.loads(call["function"]["arguments"]) == {"query": "hello brave new world"}
    (parsed,) = raw.parse().choices[0].message.tool_calls or []
    assert isinstance(parsed, ChatCompletionMessageFunctionToolCall)
    assert parsed.function.name == name


def test_chat_tool_choice_none_and_tool_results_answer_in_text(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(
        model="emu-echo", messages=USER, tools=TOOLS, tool_choice="none"
    )
    assert plain.choices[0].message.content == "echo: hello brave new world"
    followup = client.chat.completions.create(
        model="emu-echo",
        tools=TOOLS,
        messages=[
            *USER,
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "search", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "42 results"},
        ],
    )
    assert followup.choices[0].finish_reason == "stop"
    assert followup.choices[0].message.content == "echo: 42 results"


@pytest.mark.parametrize(
    "response_format",
    [
        {"type": "json_object"},
        {"type": "json_schema", "json_schema": {"name": "echo", "schema": {"type": "object"}}},
    ],
    ids=["json_object", "json_schema"],
)
def test_chat_response_format_answers_json(client: openai.OpenAI, response_format: Any) -> None:
    completion = client.chat.completions.create(
        model="emu-echo", messages=USER, response_format=response_format
    )
    assert json.loads(completion.choices[0].message.content or "") == {
        "echo": "hello brave new world"
    }


def test_chat_logprobs(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="emu-echo", messages=USER, logprobs=True, top_logprobs=2
    )
    body = json.loads(raw.text)
    openapi_schema.validate("CreateChatCompletionResponse", body)
    logprobs = body["choices"][0]["logprobs"]
    assert logprobs["refusal"] is None
    tokens = [entry["token"] for entry in logprobs["content"]]
    assert "".join(tokens) == body["choices"][0]["message"]["content"]
    assert all(len(entry["top_logprobs"]) == 2 for entry in logprobs["content"])


# ---------------------------------------------------------------- chat, streaming


def test_chat_stream_with_usage_chunks(http: httpx.Client, client: openai.OpenAI) -> None:
    chunks = chat_stream(http, model="gpt-4o-mini", stream_options={"include_usage": True})
    first, *middle, finish, usage = chunks
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": "", "refusal": None}
    assert "".join(c["choices"][0]["delta"]["content"] for c in middle) == (
        "echo: hello brave new world"
    )
    assert finish["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }
    assert all(c["usage"] is None for c in chunks[:-1])
    assert usage["choices"] == []
    assert usage["usage"]["total_tokens"] == 12
    assert len({c["id"] for c in chunks}) == 1

    sdk_chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=USER,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in sdk_chunks if c.choices)
    assert text == "echo: hello brave new world"
    assert sdk_chunks[-1].usage is not None
    assert sdk_chunks[-1].usage.completion_tokens == 5


def test_chat_stream_without_usage_has_no_usage_key(http: httpx.Client) -> None:
    chunks = chat_stream(http, model="emu-echo")
    assert all("usage" not in c for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_chat_stream_n_interleaves_choices(http: httpx.Client) -> None:
    chunks = chat_stream(http, model="emu-echo", n=2, stop=" brave")
    indexes = [c["choices"][0]["index"] for c in chunks]
    assert indexes == [0, 1] * (len(chunks) // 2)
    texts = ["", ""]
    for chunk in chunks:
        choice = chunk["choices"][0]
        texts[choice["index"]] += choice["delta"].get("content") or ""
    assert texts == ["echo: hello", "echo: hello"]


def test_chat_stream_tool_call_deltas(http: httpx.Client, client: openai.OpenAI) -> None:
    chunks = chat_stream(http, model="gpt-4o-mini", tools=TOOLS)
    head = chunks[0]["choices"][0]["delta"]
    (call,) = head["tool_calls"]
    assert head["role"] == "assistant"
    assert head["content"] is None
    assert call["index"] == 0
    assert call["id"].startswith("call_")
    assert call["type"] == "function"
    assert call["function"] == {"name": "search", "arguments": ""}
    fragments = [c["choices"][0]["delta"]["tool_calls"][0] for c in chunks[1:-1]]
    assert len(fragments) > 2
    assert all(set(f) == {"index", "function"} for f in fragments)
    arguments = "".join(f["function"]["arguments"] for f in fragments)
    assert json.loads(arguments) == {"query": "hello brave new world"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"

    accumulated = ""
    finish = None
    for chunk in client.chat.completions.create(
        model="gpt-4o-mini", messages=USER, tools=TOOLS, stream=True
    ):
        delta = chunk.choices[0].delta
        for tool_call in delta.tool_calls or []:
            accumulated += (tool_call.function and tool_call.function.arguments) or ""
        finish = chunk.choices[0].finish_reason or finish
    assert json.loads(accumulated) == {"query": "hello brave new world"}
    assert finish == "tool_calls"


def test_chat_stream_logprobs(http: httpx.Client) -> None:
    chunks = chat_stream(http, model="emu-echo", logprobs=True)
    content = [c for c in chunks if c["choices"][0]["delta"].get("content")]
    assert all(c["choices"][0]["logprobs"]["content"] for c in content)


def test_stream_options_without_stream_is_rejected(http: httpx.Client) -> None:
    response = http.post(
        "/chat/completions",
        json={"model": "emu-echo", "messages": USER, "stream_options": {"include_usage": True}},
    )
    assert response.status_code == 400
    openapi_schema.validate("ErrorResponse", response.json())
    assert response.json()["error"]["param"] == "stream_options"


# ---------------------------------------------------------------- completions


def test_completions(client: openai.OpenAI) -> None:
    raw = client.completions.with_raw_response.create(
        model="gpt-3.5-turbo-instruct", prompt=["one two", "three"], n=2, max_tokens=2
    )
    body = json.loads(raw.text)
    openapi_schema.validate("CreateCompletionResponse", body)
    assert body["object"] == "text_completion"
    assert [(c["index"], c["text"], c["finish_reason"]) for c in body["choices"]] == [
        (0, "echo: one", "length"),
        (1, "echo: one", "length"),
        (2, "echo: three", "stop"),
        (3, "echo: three", "length"),
    ]
    assert all(c["logprobs"] is None for c in body["choices"])
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 8, "total_tokens": 11}


def test_completions_logprobs(client: openai.OpenAI) -> None:
    raw = client.completions.with_raw_response.create(
        model="gpt-3.5-turbo-instruct", prompt="one two", logprobs=2
    )
    body = json.loads(raw.text)
    openapi_schema.validate("CreateCompletionResponse", body)
    logprobs = body["choices"][0]["logprobs"]
    assert "".join(logprobs["tokens"]) == body["choices"][0]["text"]
    assert logprobs["text_offset"] == [0, 5, 9]


def test_completions_stream(http: httpx.Client, client: openai.OpenAI) -> None:
    """No stream schema exists for completions; chunks reuse ``CreateCompletionResponse``,
    where neither ``finish_reason`` nor ``usage`` is nullable. So every chunk before
    the finish fails it, and with ``include_usage`` so does the finish chunk (its
    ``"usage": null``), exactly as OpenAI's own chunks would."""
    body = {"model": "gpt-3.5-turbo-instruct", "prompt": "one two"}
    events = stream(http, "/completions", body)
    assert events[-1] == DONE
    *tokens, finish = events[:-1]
    assert isinstance(finish, dict)
    assert "".join(t["choices"][0]["text"] for t in tokens) == "echo: one two"
    for chunk in tokens:
        assert openapi_schema.errors("CreateCompletionResponse", chunk) == [
            "$.choices[0].finish_reason: None is not of type 'string'",
            "$.choices[0].finish_reason: None is not one of ['stop', 'length', 'content_filter']",
        ]
    openapi_schema.validate("CreateCompletionResponse", finish)
    assert finish["choices"][0] == {
        "text": "",
        "index": 0,
        "logprobs": None,
        "finish_reason": "stop",
    }

    events = stream(http, "/completions", body | {"stream_options": {"include_usage": True}})
    *_, finish, usage, _ = events
    assert isinstance(finish, dict)
    assert isinstance(usage, dict)
    assert openapi_schema.errors("CreateCompletionResponse", finish) == [
        "$.usage: None is not of type 'object'"
    ]
    openapi_schema.validate("CreateCompletionResponse", usage)
    assert usage["choices"] == []
    assert usage["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}

    sdk = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="one two", stream=True)
    assert "".join(c.choices[0].text for c in sdk if c.choices) == "echo: one two"


# ---------------------------------------------------------------- embeddings


def test_embeddings_float(client: openai.OpenAI) -> None:
    raw = client.embeddings.with_raw_response.create(
        model="text-embedding-3-small", input=["alpha beta", "gamma"], encoding_format="float"
    )
    body = json.loads(raw.text)
    openapi_schema.validate("CreateEmbeddingResponse", body)
    vectors = [item["embedding"] for item in body["data"]]
    assert [item["index"] for item in body["data"]] == [0, 1]
    assert all(len(v) == 8 for v in vectors)
    assert all(math.isclose(math.hypot(*v), 1.0, rel_tol=1e-5) for v in vectors)
    assert vectors[0] != vectors[1]
    assert body["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    again = client.embeddings.create(
        model="text-embedding-3-small", input="alpha beta", encoding_format="float"
    )
    assert again.data[0].embedding == vectors[0]


def test_embeddings_dimensions_and_token_input(client: openai.OpenAI) -> None:
    raw = client.embeddings.with_raw_response.create(
        model="text-embedding-3-small",
        input=[[1, 2, 3], [4]],
        dimensions=16,
        encoding_format="float",
    )
    body = json.loads(raw.text)
    openapi_schema.validate("CreateEmbeddingResponse", body)
    assert [len(item["embedding"]) for item in body["data"]] == [16, 16]
    assert body["usage"]["prompt_tokens"] == 4


def test_embeddings_base64(client: openai.OpenAI, http: httpx.Client) -> None:
    """The SDK asks for base64 when no format is given and decodes it itself.

    The spec types ``Embedding.embedding`` as an array only, so a base64 body fails
    ``CreateEmbeddingResponse`` although it is exactly what OpenAI sends.
    """
    floats = (
        client.embeddings.create(
            model="text-embedding-3-small", input="alpha beta", encoding_format="float"
        )
        .data[0]
        .embedding
    )
    decoded = client.embeddings.create(model="text-embedding-3-small", input="alpha beta")
    assert decoded.data[0].embedding == floats

    response = http.post(
        "/embeddings",
        json={
            "model": "text-embedding-3-small",
            "input": "alpha beta",
            "encoding_format": "base64",
        },
    )
    body = response.json()
    encoded = body["data"][0]["embedding"]
    assert list(struct.unpack("<8f", base64.b64decode(encoded))) == floats
    problems = openapi_schema.errors("CreateEmbeddingResponse", body)
    assert problems == [f"$.data[0].embedding: {encoded!r} is not of type 'array'"]


@pytest.mark.parametrize(
    "value", ["", [], [""], [1, "a"]], ids=["empty", "empty-list", "blank", "mixed"]
)
def test_embeddings_reject_invalid_input(http: httpx.Client, value: object) -> None:
    response = http.post("/embeddings", json={"model": "text-embedding-3-small", "input": value})
    assert response.status_code == 400
    openapi_schema.validate("ErrorResponse", response.json())


# ---------------------------------------------------------------- models


def test_models_list_and_retrieve(client: openai.OpenAI) -> None:
    raw = client.models.with_raw_response.list()
    body = json.loads(raw.text)
    openapi_schema.validate("ListModelsResponse", body)
    ids = [model["id"] for model in body["data"]]
    assert "gpt-4o-mini" in ids
    assert "emu-echo" in ids

    one = client.models.with_raw_response.retrieve("gpt-4o-mini")
    openapi_schema.validate("Model", json.loads(one.text))
    assert one.parse().owned_by == "system"

    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("no-such-model")
    openapi_schema.validate("ErrorResponse", {"error": caught.value.body})
    assert caught.value.code == "model_not_found"


# ---------------------------------------------------------------- errors


def test_wrong_key_is_rejected_with_a_partial_echo(
    emulator: EmulatorServer, web: httpx.Client
) -> None:
    wrong = openai.OpenAI(base_url=emulator.base_url, api_key="sk-wrong-key-xy", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        wrong.chat.completions.create(model="emu-echo", messages=USER)
    assert caught.value.code == "invalid_api_key"
    assert "Incorrect API key provided: sk-wr***xy." in caught.value.message

    response = web.get(f"{emulator.base_url}/models")
    assert response.status_code == 401
    openapi_schema.validate("ErrorResponse", response.json())
    assert response.json()["error"]["message"].startswith("You didn't provide an API key")


@pytest.mark.parametrize(
    ("status", "sdk_error", "type_", "code"),
    [
        (400, openai.BadRequestError, "invalid_request_error", "invalid_value"),
        (401, openai.AuthenticationError, "invalid_request_error", "invalid_api_key"),
        (404, openai.NotFoundError, "invalid_request_error", "model_not_found"),
        (429, openai.RateLimitError, "requests", "rate_limit_exceeded"),
        (500, openai.InternalServerError, "server_error", None),
        (503, openai.InternalServerError, "server_error", None),
    ],
    ids=str,
)
def test_error_scenarios(
    client: openai.OpenAI,
    http: httpx.Client,
    status: int,
    sdk_error: type[openai.APIStatusError],
    type_: str,
    code: str | None,
) -> None:
    model = f"emu-error-{status}"
    cases: list[tuple[str, dict[str, Any]]] = [
        ("/chat/completions", {"messages": USER}),
        ("/completions", {"prompt": "x"}),
        ("/embeddings", {"input": "x"}),
    ]
    for path, extra in cases:
        response = http.post(path, json={"model": model, "stream": path != "/embeddings"} | extra)
        assert response.status_code == status
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        openapi_schema.validate("ErrorResponse", body)
        assert (body["error"]["type"], body["error"]["code"]) == (type_, code)
        assert ("retry-after" in response.headers) == (status == 429)
    if status == 429:
        assert response.headers["retry-after"] == "1"
        assert response.headers["x-ratelimit-remaining-requests"] == "0"
    if status == 400:
        assert body["error"]["param"] == "temperature"
    with pytest.raises(sdk_error) as caught:
        client.chat.completions.create(model=model, messages=USER)
    assert caught.value.status_code == status


def test_quota_error_has_no_retry_after(http: httpx.Client) -> None:
    response = http.post("/chat/completions", json={"model": "emu-quota", "messages": USER})
    assert response.status_code == 429
    assert "retry-after" not in response.headers
    assert response.json()["error"]["code"] == "insufficient_quota"


@pytest.mark.parametrize(
    ("method", "path", "content", "status"),
    [
        ("POST", "/v1/nope", b"{}", 404),
        ("GET", "/v1/chat/completions", b"", 404),
        ("POST", "/v1/chat/completions", b"{not json", 400),
        ("POST", "/v1/chat/completions", b"[1, 2]", 400),
        ("POST", "/v1/chat/completions", b'{"messages": []}', 400),
        ("POST", "/v1/chat/completions", b'{"model": "emu-echo"}', 400),
        ("POST", "/v1/embeddings", b'{"model": "emu-echo"}', 400),
    ],
    ids=[
        "unknown-route",
        "wrong-method",
        "bad-json",
        "not-object",
        "no-model",
        "no-messages",
        "no-input",
    ],
)
def test_bad_requests_are_openai_errors(
    emulator: EmulatorServer, web: httpx.Client, method: str, path: str, content: bytes, status: int
) -> None:
    response = web.request(
        method,
        emulator.root_url + path,
        content=content,
        headers={"Authorization": f"Bearer {KEY}", "content-type": "application/json"},
    )
    assert response.status_code == status
    openapi_schema.validate("ErrorResponse", response.json())
    assert response.text.startswith('{\n    "error": {')


# ---------------------------------------------------------------- sparse servers


def test_sparse_body_breaks_the_schema(http: httpx.Client) -> None:
    response = http.post("/chat/completions", json={"model": "emu-sparse", "messages": USER})
    problems = openapi_schema.errors("CreateChatCompletionResponse", response.json())
    assert problems == [
        "$.choices[0]: 'logprobs' is a required property",
        "$.choices[0].message: 'refusal' is a required property",
    ]


def test_sparse_stream_breaks_the_schema(http: httpx.Client, client: openai.OpenAI) -> None:
    events = stream(
        http,
        "/chat/completions",
        {"model": "emu-sparse", "messages": USER, "stream_options": {"include_usage": True}},
    )
    assert events[-1] == DONE
    *early, last = events[:-1]
    for chunk in early:
        assert isinstance(chunk, dict)
        assert "usage" not in chunk
        assert "logprobs" not in chunk["choices"][0]
        assert "refusal" not in chunk["choices"][0]["delta"]
        problems = openapi_schema.errors("CreateChatCompletionStreamResponse", chunk)
        assert problems == ["$.choices[0]: 'finish_reason' is a required property"]
    assert isinstance(last, dict)
    assert last["choices"][0]["finish_reason"] == "stop"
    assert last["usage"]["total_tokens"] == 12
    openapi_schema.validate("CreateChatCompletionStreamResponse", last)

    # The SDK is lenient; the gateway's clients may not be.
    sdk = client.chat.completions.create(model="emu-sparse", messages=USER, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in sdk) == "echo: hello brave new world"


# ---------------------------------------------------------------- failure scenarios


def test_reset_closes_without_a_response(http: httpx.Client) -> None:
    with pytest.raises(httpx.TransportError):
        http.post("/chat/completions", json={"model": "emu-reset", "messages": USER})


def test_truncated_stream_stops_after_three_events(http: httpx.Client) -> None:
    received: list[str] = []
    body = {"model": "emu-truncated-stream", "messages": USER, "stream": True}
    with (
        pytest.raises(httpx.RemoteProtocolError),
        http.stream("POST", "/chat/completions", json=body) as response,
    ):
        assert response.status_code == 200
        received.extend(line for line in response.iter_lines() if line)
    assert len(received) == 3
    assert all(line.startswith("data: {") for line in received)


def test_stream_error_event(client: openai.OpenAI) -> None:
    chunks = client.chat.completions.create(model="emu-stream-error", messages=USER, stream=True)
    with pytest.raises(openai.APIError, match="The server had an error"):
        list(chunks)


def test_malformed_body(http: httpx.Client, client: openai.OpenAI) -> None:
    response = http.post("/chat/completions", json={"model": "emu-malformed", "messages": USER})
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()
    with pytest.raises(ValueError):  # the SDK lets the JSONDecodeError through
        client.chat.completions.create(model="emu-malformed", messages=USER)


def test_hang_never_sends_headers(http: httpx.Client) -> None:
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        http.post("/chat/completions", json={"model": "emu-hang", "messages": USER}, timeout=0.2)
    assert time.monotonic() - started < 2


def test_client_disconnect_is_counted(web: httpx.Client) -> None:
    with EmulatorServer(slow_chunk_delay=0.01) as server:
        url = f"{server.base_url}/chat/completions"
        body = {"model": "emu-slow-stream", "messages": USER, "stream": True}
        with web.stream("POST", url, json=body) as response:
            lines = response.iter_lines()
            assert next(lines).startswith("data: {")
        assert server.wait_for(lambda stats: stats.streams_aborted == 1)
        assert server.stats.streams_completed == 0

        events = stream(web, url, body)
        assert len(events) == 23  # role, 20 words, finish, [DONE]
        # The handler counts completion after its last write, just after the client read it.
        assert server.wait_for(lambda stats: stats.streams_completed == 1)
        assert server.stats.as_dict() == {
            "requests": 2,
            "streams_started": 2,
            "streams_completed": 1,
            "streams_aborted": 1,
            "streams_cut": 0,
        }


# ---------------------------------------------------------------- control endpoints


def test_control_endpoints_expose_what_was_sent(web: httpx.Client) -> None:
    with EmulatorServer(log_size=2) as server:
        root = server.root_url
        for word in ["one", "two", "three"]:
            web.post(
                f"{root}/v1/chat/completions",
                json={"model": "emu-echo", "messages": [{"role": "user", "content": word}]},
                headers={"Authorization": "Bearer sk-client", "X-Trace": word},
            )
        logged = web.get(f"{root}/_emulator/requests").json()
        assert [entry["body"]["messages"][0]["content"] for entry in logged] == ["two", "three"]
        assert logged[-1]["method"] == "POST"
        assert logged[-1]["path"] == "/v1/chat/completions"
        assert logged[-1]["headers"]["authorization"] == "Bearer sk-client"
        assert logged[-1]["headers"]["x-trace"] == "three"
        assert web.get(f"{root}/_emulator/stats").json()["requests"] == 3
        assert server.requests == logged

        web.post(f"{root}/v1/chat/completions", content=b"not json")
        assert web.get(f"{root}/_emulator/requests").json()[-1]["raw_body"] == "not json"

        assert web.post(f"{root}/_emulator/reset").json() == {"ok": True}
        assert web.get(f"{root}/_emulator/requests").json() == []
        assert web.get(f"{root}/_emulator/stats").json() == {
            "requests": 0,
            "streams_started": 0,
            "streams_completed": 0,
            "streams_aborted": 0,
            "streams_cut": 0,
        }


def test_module_runs_as_a_server(
    cli_server: tuple[subprocess.Popen[bytes], int], web: httpx.Client
) -> None:
    process, port = cli_server
    deadline = time.monotonic() + 10
    while True:
        try:
            response = web.get(f"http://127.0.0.1:{port}/v1/models", timeout=1)
            break
        except httpx.TransportError:
            assert process.poll() is None, process.stderr and process.stderr.read()
            assert time.monotonic() < deadline, "emulator did not start"
            time.sleep(0.05)
    openapi_schema.validate("ListModelsResponse", response.json())


# ---------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    "text", ["", "a", "echo: hello  world", " lead", "trail ", "x\ny\tz", "   "], ids=repr
)
def test_tokens_concatenate_back(text: str) -> None:
    pieces = tokenize(text)
    assert "".join(pieces) == text
    assert len(pieces) == max(len(text.split()), 1 if text else 0)

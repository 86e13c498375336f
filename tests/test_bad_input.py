"""A table of malformed requests: each gets the right status and OpenAI's error shape,
and the gateway keeps serving afterwards."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.conftest import TEAM_KEY
from tests.wire import assert_error

AUTH = {"authorization": f"Bearer {TEAM_KEY}"}
MSG = [{"role": "user", "content": "hi"}]


def chat(**fields: Any) -> bytes:
    return json.dumps({"model": "gpt-4o-mini", "messages": MSG, **fields}).encode()


# (id, method, path, headers, body, status, code, param)
CASES: list[tuple[str, str, str, dict[str, str], bytes | None, int, str | None, str | None]] = [
    ("no-key", "POST", "/v1/chat/completions", {}, chat(), 401, "missing_api_key", None),
    (
        "wrong-key",
        "POST",
        "/v1/chat/completions",
        {"authorization": "Bearer sk-nope-000000"},
        chat(),
        401,
        "invalid_api_key",
        None,
    ),
    (
        "basic-auth",
        "POST",
        "/v1/chat/completions",
        {"authorization": "Basic dXNlcjpwYXNz"},
        chat(),
        401,
        "missing_api_key",
        None,
    ),
    (
        "empty-bearer",
        "POST",
        "/v1/chat/completions",
        {"authorization": "Bearer"},
        chat(),
        401,
        "missing_api_key",
        None,
    ),
    ("models-no-key", "GET", "/v1/models", {}, None, 401, "missing_api_key", None),
    ("empty-body", "POST", "/v1/chat/completions", AUTH, b"", 400, None, None),
    ("not-json", "POST", "/v1/chat/completions", AUTH, b"{model: x", 400, "invalid_json", None),
    ("json-array", "POST", "/v1/chat/completions", AUTH, b"[1,2]", 400, "invalid_json", None),
    ("json-string", "POST", "/v1/chat/completions", AUTH, b'"hello"', 400, "invalid_json", None),
    (
        "nan",
        "POST",
        "/v1/chat/completions",
        AUTH,
        b'{"model":"gpt-4o-mini","messages":[],"temperature":NaN}',
        400,
        "invalid_json",
        None,
    ),
    (
        "invalid-utf8",
        "POST",
        "/v1/chat/completions",
        AUTH,
        b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"\xff\xfe"}]}',
        400,
        "invalid_json",
        None,
    ),
    (
        "missing-model",
        "POST",
        "/v1/chat/completions",
        AUTH,
        json.dumps({"messages": MSG}).encode(),
        400,
        "missing_required_parameter",
        "model",
    ),
    (
        "missing-messages",
        "POST",
        "/v1/chat/completions",
        AUTH,
        json.dumps({"model": "gpt-4o-mini"}).encode(),
        400,
        "missing_required_parameter",
        "messages",
    ),
    (
        "empty-messages",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(messages=[]),
        400,
        "invalid_value",
        "messages",
    ),
    (
        "messages-not-array",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(messages="hi"),
        400,
        "invalid_value",
        "messages",
    ),
    (
        "model-not-string",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(model=42),
        400,
        "invalid_value",
        "model",
    ),
    (
        "empty-model",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(model=""),
        400,
        "invalid_value",
        "model",
    ),
    (
        "bad-role",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(messages=[{"role": "wizard", "content": "hi"}]),
        400,
        "invalid_value",
        "messages[0].role",
    ),
    (
        "no-role",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(messages=[{"content": "hi"}]),
        400,
        "missing_required_parameter",
        "messages[0].role",
    ),
    (
        "content-number",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(messages=[{"role": "user", "content": 7}]),
        400,
        "invalid_value",
        "messages[0].content",
    ),
    (
        "user-no-content",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(messages=[{"role": "user"}]),
        400,
        "missing_required_parameter",
        "messages[0].content",
    ),
    (
        "bad-content-part",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(messages=[{"role": "user", "content": [{"type": "video", "video": "x"}]}]),
        400,
        "invalid_value",
        "messages[0].content[0].type",
    ),
    (
        "tool-msg-no-id",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(messages=[{"role": "tool", "content": "42"}]),
        400,
        "missing_required_parameter",
        "messages[0].tool_call_id",
    ),
    (
        "temperature-high",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(temperature=3),
        400,
        "invalid_value",
        "temperature",
    ),
    (
        "temperature-string",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(temperature="hot"),
        400,
        "invalid_value",
        "temperature",
    ),
    (
        "top-p-negative",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(top_p=-0.1),
        400,
        "invalid_value",
        "top_p",
    ),
    ("n-zero", "POST", "/v1/chat/completions", AUTH, chat(n=0), 400, "invalid_value", "n"),
    (
        "max-tokens-negative",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(max_tokens=-5),
        400,
        "invalid_value",
        "max_tokens",
    ),
    (
        "stream-not-bool",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(stream="yes"),
        400,
        "invalid_value",
        "stream",
    ),
    (
        "stream-options-without-stream",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(stream_options={"include_usage": True}),
        400,
        None,
        "stream_options",
    ),
    (
        "too-many-stops",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(stop=["a", "b", "c", "d", "e"]),
        400,
        "invalid_value",
        "stop",
    ),
    (
        "tool-choice-without-tools",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(tool_choice="required"),
        400,
        None,
        "tool_choice",
    ),
    (
        "tool-bad-type",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(tools=[{"type": "retrieval", "function": {"name": "x"}}]),
        400,
        "invalid_value",
        "tools[0].type",
    ),
    (
        "tool-bad-name",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(tools=[{"type": "function", "function": {"name": "has spaces"}}]),
        400,
        "invalid_value",
        "tools[0].function.name",
    ),
    (
        "bad-response-format",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(response_format={"type": "yaml"}),
        400,
        "invalid_value",
        "response_format.type",
    ),
    (
        "json-schema-missing",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(response_format={"type": "json_schema"}),
        400,
        "missing_required_parameter",
        "response_format.json_schema",
    ),
    (
        "unknown-model",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(model="gpt-9"),
        404,
        "model_not_found",
        "model",
    ),
    (
        "endpoint-not-served",
        "POST",
        "/v1/embeddings",
        AUTH,
        json.dumps({"model": "chat-only", "input": "x"}).encode(),
        400,
        "unsupported_endpoint",
        "model",
    ),
    (
        "completions-no-prompt",
        "POST",
        "/v1/completions",
        AUTH,
        json.dumps({"model": "gpt-4o-mini"}).encode(),
        400,
        "missing_required_parameter",
        "prompt",
    ),
    (
        "completions-empty-prompt-list",
        "POST",
        "/v1/completions",
        AUTH,
        json.dumps({"model": "gpt-4o-mini", "prompt": []}).encode(),
        400,
        None,
        "prompt",
    ),
    (
        "embeddings-no-input",
        "POST",
        "/v1/embeddings",
        AUTH,
        json.dumps({"model": "text-embedding-3-small"}).encode(),
        400,
        "missing_required_parameter",
        "input",
    ),
    (
        "embeddings-bad-format",
        "POST",
        "/v1/embeddings",
        AUTH,
        json.dumps(
            {"model": "text-embedding-3-small", "input": "x", "encoding_format": "hex"}
        ).encode(),
        400,
        "invalid_value",
        "encoding_format",
    ),
    (
        "embeddings-empty-input",
        "POST",
        "/v1/embeddings",
        AUTH,
        json.dumps({"model": "text-embedding-3-small", "input": ""}).encode(),
        400,
        None,
        "input",
    ),
    (
        "body-too-large",
        "POST",
        "/v1/chat/completions",
        AUTH,
        chat(messages=[{"role": "user", "content": "x" * 70_000}]),
        413,
        "request_too_large",
        None,
    ),
    ("unknown-route", "POST", "/v1/nothing-here", AUTH, chat(), 404, "unknown_url", None),
    ("wrong-method", "GET", "/v1/chat/completions", AUTH, None, 405, "method_not_allowed", None),
    (
        "unknown-model-retrieve",
        "GET",
        "/v1/models/gpt-9",
        AUTH,
        None,
        404,
        "model_not_found",
        "model",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "code", "param"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_request(gateway, method, path, headers, body, status, code, param) -> None:
    response = httpx.request(
        method,
        gateway.url + path,
        headers={"content-type": "application/json", **headers},
        content=body,
        timeout=10,
    )
    error = assert_error(response, status, code)["error"]
    if param is not None:
        assert error["param"] == param, error
    assert "Traceback" not in response.text


def test_enough_cases() -> None:
    assert len(CASES) >= 30


def test_gateway_still_serves_after_bad_input(gateway, client) -> None:
    for _, method, path, headers, body, *_ in CASES:
        httpx.request(method, gateway.url + path, headers=headers, content=body, timeout=10)
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    assert answer.choices[0].message.content == "echo: hi"


def test_error_never_echoes_secrets(gateway) -> None:
    secret = "sk-secret-looking-key-abcdef123456"
    response = httpx.post(
        gateway.url + "/v1/chat/completions",
        headers={"authorization": f"Bearer {secret}"},
        content=chat(),
    )
    assert_error(response, 401)
    assert secret not in response.text and secret[:12] not in response.text

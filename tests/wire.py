"""Test helpers that read the gateway's raw wire output and check it against OpenAI's spec."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests import openapi_schema


def post_json(http: httpx.Client, path: str, body: dict[str, Any], schema: str) -> dict[str, Any]:
    response = http.post(path, json=body)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    openapi_schema.validate(schema, document)
    return document


def stream_events(
    http: httpx.Client, path: str, body: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[str], bool]:
    """POST a streaming request; return (data chunks, comment lines, saw [DONE])."""
    chunks: list[dict[str, Any]] = []
    comments: list[str] = []
    done = False
    with http.stream("POST", path, json=body) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if not line:
                continue
            if line.startswith(":"):
                comments.append(line)
            elif line == "data: [DONE]":
                done = True
            else:
                assert line.startswith("data: "), line
                assert not done, "data after [DONE]"
                chunks.append(json.loads(line[len("data: ") :]))
    return chunks, comments, done


def validate_chat_chunks(chunks: list[dict[str, Any]]) -> None:
    for chunk in chunks:
        openapi_schema.validate("CreateChatCompletionStreamResponse", chunk)


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    openapi_schema.validate("ErrorResponse", body)
    assert set(body["error"]) == {"message", "type", "param", "code"}
    if code is not None:
        assert body["error"]["code"] == code, body
    assert response.headers.get("x-request-id")
    return body

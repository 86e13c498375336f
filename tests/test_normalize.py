"""Upstream bodies repaired into OpenAI's schemas, table-driven."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gateway.wire import normalize
from tests import openapi_schema

SPARSE_CHAT = {
    "id": "x",
    "created": 1,
    "model": "upstream-name",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1},
}
CHAT_CASES: list[tuple[str, dict[str, Any]]] = [
    ("sparse", SPARSE_CHAT),
    ("no-id-no-created", {"choices": [{"message": {"content": "hi"}, "finish_reason": "eos"}]}),
    (
        "tool-call-without-type",
        {
            "id": "y",
            "created": 2,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "{}"}}],
                    },
                }
            ],
        },
    ),
    ("usage-not-object", {**SPARSE_CHAT, "usage": "lots"}),
]


@pytest.mark.parametrize("body", [c[1] for c in CHAT_CASES], ids=[c[0] for c in CHAT_CASES])
def test_chat_completion_repaired(body: dict[str, Any]) -> None:
    repaired = normalize.chat_completion(copy.deepcopy(body), "client-name")
    openapi_schema.validate("CreateChatCompletionResponse", repaired)
    assert repaired["model"] == "client-name"


def test_keep_model_prefers_upstream_snapshot() -> None:
    repaired = normalize.chat_completion(copy.deepcopy(SPARSE_CHAT), "client", keep_model=True)
    assert repaired["model"] == "upstream-name"


CHUNK_CASES = [
    (
        "no-finish-reason",
        {"id": "c", "created": 1, "choices": [{"index": 0, "delta": {"content": "a"}}]},
    ),
    ("no-delta", {"id": "c", "created": 1, "choices": [{"index": 0, "finish_reason": "stop"}]}),
    (
        "odd-finish-reason",
        {
            "id": "c",
            "created": 1,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "eos_token"}],
        },
    ),
    (
        "usage-chunk",
        {
            "id": "c",
            "created": 1,
            "choices": [],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2},
        },
    ),
]


@pytest.mark.parametrize("chunk", [c[1] for c in CHUNK_CASES], ids=[c[0] for c in CHUNK_CASES])
def test_chat_chunk_repaired(chunk: dict[str, Any]) -> None:
    repaired = normalize.chat_chunk(copy.deepcopy(chunk), "m")
    openapi_schema.validate("CreateChatCompletionStreamResponse", repaired)
    for choice in repaired["choices"]:
        assert "finish_reason" in choice


def test_completion_and_embeddings_repaired() -> None:
    body = {"choices": [{"text": "x", "finish_reason": None}]}
    openapi_schema.validate("CreateCompletionResponse", normalize.completion(body, "m"))
    embedding = {"data": [{"embedding": [0.1, 0.2]}], "usage": {"prompt_tokens": 2}}
    openapi_schema.validate("CreateEmbeddingResponse", normalize.embeddings(embedding, "m"))

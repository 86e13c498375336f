"""What admission reserves cannot be shrunk or hidden by a client's own fields.

A hostile client's two vectors (issue 22): two output caps that a translator reads
differently, and text where the prompt formula does not look (nested tool schemas,
``file`` and ``input_audio`` parts). Admission must count at least what reaches the
model and reserve at least what the provider may generate.
"""

from __future__ import annotations

import base64

import pytest

from gateway.accounting.tokens import count_request_tokens
from gateway.wire.caps import output_tokens
from gateway.wire.types import Endpoint

LONG = " ".join(f"word{i}" for i in range(3000))


def _tool(parameters: dict[str, object]) -> dict[str, object]:
    return {"type": "function", "function": {"name": "f", "parameters": parameters}}


def _chat(tools: list[dict[str, object]]) -> dict[str, object]:
    return {"messages": [{"role": "user", "content": "hi"}], "tools": tools}


def _count(body: dict[str, object]) -> int:
    return count_request_tokens(Endpoint.CHAT, body, "gpt-4o")


TOP = _count(
    _chat([_tool({"type": "object", "properties": {"a": {"type": "string", "description": LONG}}})])
)


@pytest.mark.parametrize(
    "parameters",
    [
        {
            "type": "object",
            "properties": {
                "a": {
                    "type": "object",
                    "properties": {"b": {"type": "string", "description": LONG}},
                }
            },
        },
        {
            "type": "object",
            "properties": {
                "a": {"type": "array", "items": {"type": "string", "description": LONG}}
            },
        },
        {
            "type": "object",
            "properties": {"a": {"$ref": "#/$defs/b"}},
            "$defs": {"b": {"type": "string", "description": LONG}},
        },
        {"type": "object", "description": LONG, "properties": {}},
    ],
    ids=["nested-properties", "array-items", "defs", "schema-description"],
)
def test_nested_schema_text_is_counted(parameters: dict[str, object]) -> None:
    """The same 3,000 words count at least as much wherever the schema nests them."""
    assert TOP > 3000
    assert _count(_chat([_tool(parameters)])) >= TOP


@pytest.mark.parametrize(
    "part",
    [
        {"type": "file", "file": {"filename": "a.txt", "file_data": LONG}},
        {"type": "input_audio", "input_audio": {"data": LONG, "format": "wav"}},
        {"type": "some_future_part", "payload": {"text": LONG}},
    ],
    ids=["file", "input_audio", "unknown-type"],
)
def test_every_content_part_is_counted(part: dict[str, object]) -> None:
    body = {"messages": [{"role": "user", "content": [part]}]}
    assert _count(body) >= 3000


def test_base64_file_is_counted_conservatively() -> None:
    data = base64.b64encode(b"\x00\x01" * 20_000).decode()
    part = {"type": "file", "file": {"filename": "a.pdf", "file_data": data}}
    assert _count({"messages": [{"role": "user", "content": [part]}]}) > 1000


def test_unknown_message_fields_are_counted() -> None:
    body = {"messages": [{"role": "user", "content": "hi", "extra": {"notes": [LONG]}}]}
    assert _count(body) >= 3000


@pytest.mark.parametrize(
    ("endpoint", "body", "expected"),
    [
        (Endpoint.CHAT, {"max_completion_tokens": 1, "max_tokens": 150}, 150),
        (Endpoint.CHAT, {"max_tokens": 1, "max_completion_tokens": 150}, 150),
        (Endpoint.CHAT, {"max_tokens": 1, "max_output_tokens": 900}, 900),
        (Endpoint.CHAT, {"max_completion_tokens": 10, "n": 3}, 30),
        (Endpoint.CHAT, {}, 4096),
        (Endpoint.CHAT, {"max_tokens": 0, "max_completion_tokens": -5}, 4096),
        (Endpoint.CHAT, {"max_tokens": True}, 4096),
        (Endpoint.COMPLETIONS, {"prompt": "x"}, 16),
        (Endpoint.COMPLETIONS, {"prompt": ["a", "b"], "max_tokens": 5, "best_of": 3}, 30),
        (Endpoint.EMBEDDINGS, {"max_tokens": 99}, 0),
    ],
    ids=[
        "completion-cap-shrunk",
        "max-tokens-shrunk",
        "responses-field",
        "choices",
        "default",
        "nonsense-caps",
        "bool-is-no-cap",
        "legacy-default",
        "legacy-batch-best-of",
        "embeddings",
    ],
)
def test_output_reservation_takes_the_largest_cap(
    endpoint: Endpoint, body: dict[str, object], expected: int
) -> None:
    assert output_tokens(endpoint, body, 4096) == expected


def _table(providers: str, models: str) -> object:
    from gateway.config import parse_config
    from gateway.routing.models import ModelTable

    return ModelTable(parse_config(f"providers:\n{providers}\nmodels:\n{models}\n"))


def test_uncapped_requests_reserve_the_models_ceiling() -> None:
    """Anthropic needs max_tokens: without a client cap the translator sends the model's
    ceiling (128k on Opus 4.7), so that is what admission must reserve, not 4096."""
    table = _table(
        '  claude: {kind: anthropic, base_url: "http://127.0.0.1:9", api_key: k}\n'
        '  small: {kind: anthropic, base_url: "http://127.0.0.1:9", api_key: k, max_tokens: 300000}\n'
        '  oa: {kind: openai, base_url: "http://127.0.0.1:9/v1", api_key: k}',
        "  opus: {targets: [{provider: claude, model: claude-opus-4-7}]}\n"
        "  unknown-claude: {targets: [{provider: claude, model: claude-next}]}\n"
        "  configured: {targets: [{provider: small, model: claude-next}]}\n"
        "  gpt: {targets: [{provider: oa, model: gpt-4o-mini}]}",
    )
    ceiling = {name: table.resolve(name).targets[0].max_output for name in  # type: ignore[attr-defined]
               ("opus", "unknown-claude", "configured", "gpt")}  # fmt: skip
    assert ceiling == {"opus": 128000, "unknown-claude": 4096, "configured": 300000, "gpt": 4096}

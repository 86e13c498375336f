"""Labeling pieces without a server: canonical text, header encodings, saved responses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.labeling.content import StreamText, body_text
from gateway.labeling.keys import b64url_decode
from gateway.labeling.label import Labeler, sf_string
from gateway.labeling.saved import parse_saved
from gateway.labeling.visible import looks_cjk

TOOL_BODY = {
    "model": "m",
    "choices": [
        {
            "index": 1,
            "message": {"role": "assistant", "content": "second"},
            "finish_reason": "stop",
        },
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "search", "arguments": '{"q":"a"}'},
                    },
                    {
                        "id": "c2",
                        "type": "function",
                        "function": {"name": "open", "arguments": "{}"},
                    },
                ],
            },
            "finish_reason": "tool_calls",
        },
    ],
}
TOOL_CHUNKS: list[dict[str, Any]] = [
    {"model": "m", "choices": [{"index": 0, "delta": {"role": "assistant", "content": None}}]},
    {"model": "m", "choices": [{"index": 1, "delta": {"role": "assistant", "content": "sec"}}]},
    {
        "model": "m",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "c1",
                            "function": {"name": "search", "arguments": '{"q"'},
                        }
                    ]
                },
            }
        ],
    },
    {"model": "m", "choices": [{"index": 1, "delta": {"content": "ond"}}]},
    {
        "model": "m",
        "choices": [
            {
                "index": 0,
                "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ':"a"}'}}]},
            }
        ],
    },
    {
        "model": "m",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {"index": 1, "id": "c2", "function": {"name": "open", "arguments": "{}"}}
                    ]
                },
            }
        ],
    },
    {"model": "m", "choices": [], "usage": {"prompt_tokens": 1}},
]
TEXT_BODY = {
    "model": "m",
    "choices": [{"index": 0, "text": "hello world", "finish_reason": "stop"}],
}
TEXT_CHUNKS = [
    {"model": "m", "choices": [{"index": 0, "text": "hello "}]},
    {"model": "m", "choices": [{"index": 0, "text": "world", "finish_reason": "stop"}]},
]


@pytest.mark.parametrize(
    ("body", "chunks"),
    [(TOOL_BODY, TOOL_CHUNKS), (TEXT_BODY, TEXT_CHUNKS)],
    ids=["chat-n2-tool-calls", "text-completion"],
)
def test_stream_text_equals_body_text(body: dict[str, Any], chunks: list[dict[str, Any]]) -> None:
    text = StreamText()
    for chunk in chunks:
        text.feed(chunk)
    assert text.text() == body_text(body)
    assert text.model == "m"


def test_canonical_text_layout() -> None:
    assert body_text(TOOL_BODY) == '\x1fsearch\x1f{"q":"a"}\x1fopen\x1f{}\x1esecond'


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("gpt-4o-mini", '"gpt-4o-mini"'),
        ('say "hi" \\', '"say \\"hi\\" \\\\"'),
        ("示例", '%"%e7%a4%ba%e4%be%8b"'),
        ("100% ü", '%"100%25 %c3%bc"'),
    ],
    ids=["ascii", "escapes", "chinese", "percent-and-latin"],
)
def test_structured_field_strings(value: str, encoded: str) -> None:
    assert sf_string(value) == encoded


BODY = b'{"id":"x","choices":[]}'


@pytest.mark.parametrize(
    ("saved", "headers", "body"),
    [
        (b"HTTP/1.1 200 OK\r\nAIGC: {}\r\nX-A: 1\r\n\r\n" + BODY, {"aigc": "{}", "x-a": "1"}, BODY),
        (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/2 200\r\naigc: {}\r\n\r\n" + BODY,
            {"aigc": "{}"},
            BODY,
        ),
        (b"HTTP/1.1 200 OK\naigc: {}\n\n" + BODY, {"aigc": "{}"}, BODY),
        (
            json.dumps({"headers": {"AIGC": "{}"}, "body": {"id": "x"}}).encode(),
            {"aigc": "{}"},
            b'{"id": "x"}',
        ),
        (BODY, {}, BODY),
        (
            b"data: {}\n\n: aigc {}\n\ndata: [DONE]\n\n",
            {},
            b"data: {}\n\n: aigc {}\n\ndata: [DONE]\n\n",
        ),
    ],
    ids=["curl-i", "interim-response", "bare-newlines", "envelope", "bare-body", "sse-capture"],
)
def test_parse_saved(saved: bytes, headers: dict[str, str], body: bytes) -> None:
    assert parse_saved(saved) == (headers, body)


@pytest.mark.parametrize(
    ("text", "cjk"),
    [
        ("请介绍一下你自己", True),
        ("hello world", False),
        ("用 Python 写一个函数", True),
        ("", False),
        ("123 !!", False),
    ],
)
def test_language_guess(text: str, cjk: bool) -> None:
    assert looks_cjk(text) is cjk


def test_signature_is_the_keys_own_ed25519_signature() -> None:
    """libsodium signs; the JWS signature is exactly what cryptography's key.sign gives
    (Ed25519 is deterministic) and verifies with the published public key."""
    key = Ed25519PrivateKey.generate()
    labeler = Labeler("gateway-test", key, clock=lambda: 1_796_000_000.0)
    for text in ("", "hello", "你好世界" * 200):
        jws = labeler.sign("0123456789abcdef0123456789abcdef", "m", text)
        head, claims, signature = jws.split(".")
        signing_input = f"{head}.{claims}".encode("ascii")
        assert b64url_decode(signature) == key.sign(signing_input)
        key.public_key().verify(b64url_decode(signature), signing_input)

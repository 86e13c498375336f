"""Labeling pieces without a server: canonical text, header encodings, saved responses."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from gateway.labeling.content import StreamText, body_text
from gateway.labeling.keys import (
    LabelKeyError,
    PrivateKey,
    _parse_private,
    b64url_decode,
    parse_public,
    private_pem,
    public_key,
)
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
    """libsodium signs; the JWS signature is exactly what cryptography (OpenSSL) gives
    for the same key (Ed25519 is deterministic) and verifies with the public key."""
    key = PrivateKey.generate()
    theirs = Ed25519PrivateKey.from_private_bytes(key.seed)
    labeler = Labeler("gateway-test", key, clock=lambda: 1_796_000_000.0)
    public = theirs.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert labeler.public == public_key(public)
    for text in ("", "hello", "你好世界" * 200):
        jws = labeler.sign("0123456789abcdef0123456789abcdef", "m", text)
        head, claims, signature = jws.split(".")
        signing_input = f"{head}.{claims}".encode("ascii")
        assert b64url_decode(signature) == theirs.sign(signing_input)
        theirs.public_key().verify(b64url_decode(signature), signing_input)
        assert labeler.public.verify(b64url_decode(signature), signing_input)
        assert not labeler.public.verify(b64url_decode(signature), signing_input + b" ")
    assert not labeler.public.verify(b"short", b"message")


def test_key_files_read_and_written_as_cryptography_does() -> None:
    """RFC 8410 PEMs are read without cryptography and written byte for byte as it
    writes them; what it refuses (PKCS#8 v2, other kinds of key) is refused too, naming
    the field."""
    theirs = Ed25519PrivateKey.generate()
    seed = theirs.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    pem = theirs.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    assert private_pem(PrivateKey(seed)) == pem
    assert _parse_private(pem.decode(), "f") == PrivateKey(seed)
    public_pem = theirs.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    raw_public = theirs.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert parse_public(public_pem.decode(), "f") == public_key(raw_public)
    assert parse_public(pem.decode(), "f") == public_key(raw_public)
    # PKCS#8 v2 (OneAsymmetricKey with the public key), as some tools write it.
    v2 = (
        bytes.fromhex("3051020101300506032b657004220420")
        + seed
        + bytes.fromhex("812100")
        + raw_public
    )
    v2_pem = (
        "-----BEGIN PRIVATE KEY-----\n"
        + base64.b64encode(v2).decode()
        + "\n-----END PRIVATE KEY-----"
    )
    with pytest.raises(ValueError):
        load_pem_private_key(v2_pem.encode(), None)
    with pytest.raises(LabelKeyError, match=r"^f: not an Ed25519 private key"):
        _parse_private(v2_pem, "f")
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        .decode()
    )
    with pytest.raises(LabelKeyError, match=r"labeling\.signing_key: not an Ed25519 private key"):
        _parse_private(ec_pem, "labeling.signing_key")
    with pytest.raises(LabelKeyError, match=r"verify_keys\[0\]: not an Ed25519 public key"):
        parse_public(base64.b64encode(b"x" * 31).decode(), "verify_keys[0]")

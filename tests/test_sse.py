"""The SSE decoder against the framing variants real upstreams send."""

from __future__ import annotations

import pytest

from gateway.wire.sse import Event, SSEDecoder, encode_comment

CASES = [
    ("one-event", [b'data: {"a":1}\n\n'], [Event(None, b'{"a":1}')]),
    ("no-space", [b'data:{"a":1}\n\n'], [Event(None, b'{"a":1}')]),
    ("crlf", [b"data: x\r\n\r\n"], [Event(None, b"x")]),
    ("split-across-reads", [b"da", b"ta: hel", b"lo\n", b"\n"], [Event(None, b"hello")]),
    ("split-crlf", [b"data: x\r", b"\n\r\n"], [Event(None, b"x")]),
    ("comment-ignored", [b": keep-alive\n\ndata: y\n\n"], [Event(None, b"y")]),
    ("named-event", [b"event: message_stop\ndata: {}\n\n"], [Event("message_stop", b"{}")]),
    ("multi-line-data", [b"data: a\ndata: b\n\n"], [Event(None, b"a\nb")]),
    ("leading-space-first-line", [b" data: x\n\n"], []),
    (
        "many-in-one-read",
        [b"data: 1\n\ndata: 2\n\ndata: [DONE]\n\n"],
        [Event(None, b"1"), Event(None, b"2"), Event(None, b"[DONE]")],
    ),
    ("unterminated-at-close", [b"data: tail"], [Event(None, b"tail")]),
]


@pytest.mark.parametrize(("reads", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decoder(reads: list[bytes], expected: list[Event]) -> None:
    decoder = SSEDecoder()
    events = [e for read in reads for e in decoder.feed(read)]
    events += decoder.close()
    assert events == expected


def test_comment_encoding_cannot_inject_events() -> None:
    encoded = encode_comment("label\ndata: [DONE]")
    assert encoded == b": label\n: data: [DONE]\n\n"
    decoder = SSEDecoder()
    assert decoder.feed(encoded) == []

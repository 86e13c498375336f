"""A very fast OpenAI-wire upstream for load tests.

Why a raw asyncio protocol and not an ASGI app: the upstream must never be the
bottleneck of a gateway benchmark. uvloop + httptools' parser + response bytes built
once and written with one ``transport.write`` answer tens of thousands of requests a
second on one core, several times what an ASGI framework can do on the same core.

Routes:

- ``POST /v1/chat/completions``: a ``chat.completion`` with usage, or, with
  ``"stream": true``, ``--chunks`` ``chat.completion.chunk`` SSE events in OpenAI's
  exact format (a role chunk, content chunks, a chunk with ``finish_reason: "stop"``;
  ``finish_reason: null`` in every other chunk), then a usage chunk with
  ``choices: []`` when ``stream_options.include_usage`` is true, then ``data: [DONE]``.
- ``POST /v1/embeddings``: one embedding per input (``float`` or ``base64``).
- ``GET /v1/models``: one model.

Response bytes depend only on (route, model, stream flags, input count), so they are
built once per combination and cached (the cache is bounded). ``--latency-ms`` delays
every answer (for streams: the first event, i.e. the time to first token);
``--chunk-interval-ms`` spaces a stream's events like a model decoding tokens;
``--fail-rate`` answers that fraction of requests with an OpenAI-shaped 500. Only the
request fields above are read; the rest of the body is ignored.

Run: ``python loadtests/fast_upstream.py --port 9000 [--latency-ms 0] [--chunks 20]
[--chunk-interval-ms 0] [--fail-rate 0]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import random
import struct
import time
from collections.abc import Callable
from typing import Any, cast

import httptools
import msgspec

CREATED = int(time.time())
FINGERPRINT = "fp_fastupstream"
EMBED_DIM = 1536
PROMPT_TOKENS = 12
MAX_CACHED = 512
TOKEN = "lorem "

_json = msgspec.json.Encoder()


class StreamOptions(msgspec.Struct):
    include_usage: bool = False


class Body(msgspec.Struct):
    """The only request fields the upstream looks at."""

    model: str = "gpt-4o-mini"
    stream: bool = False
    stream_options: StreamOptions | None = None
    input: Any = None
    encoding_format: str = "float"


_decode_body = msgspec.json.Decoder(Body).decode


def _usage(completion_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": completion_tokens,
        "total_tokens": PROMPT_TOKENS + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _response(status: bytes, content_type: bytes, body: bytes) -> bytes:
    return (
        b"HTTP/1.1 "
        + status
        + b"\r\ncontent-type: "
        + content_type
        + b"\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


def _json_response(obj: Any, status: bytes = b"200 OK") -> bytes:
    return _response(status, b"application/json", _json.encode(obj))


def _error(status: bytes, message: str, type_: str, code: str | None = None) -> bytes:
    err = {"message": message, "type": type_, "param": None, "code": code}
    return _json_response({"error": err}, status)


def chat_completion(model: str, chunks: int) -> bytes:
    content_tokens = max(chunks - 2, 1)
    return _json_response(
        {
            "id": "chatcmpl-fastupstream",
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": TOKEN * content_tokens,
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": _usage(content_tokens),
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
        }
    )


def chat_stream(model: str, chunks: int, include_usage: bool) -> bytes:
    """The whole stream as one write: headers and every chunk-framed event."""
    head, events = chat_stream_parts(model, chunks, include_usage)
    return head + b"".join(events)


def chat_stream_parts(model: str, chunks: int, include_usage: bool) -> tuple[bytes, list[bytes]]:
    """Response head and chunk-framed SSE events (the last one ends the body).

    ``chunks`` events with choices: role, ``chunks - 2`` content, finish (min 2).
    """
    chunks = max(chunks, 2)
    head = {
        "id": "chatcmpl-fastupstream",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
    }
    deltas: list[tuple[dict[str, Any], str | None]] = [
        ({"role": "assistant", "content": "", "refusal": None}, None),
        *(({"content": TOKEN}, None) for _ in range(chunks - 2)),
        ({}, "stop"),
    ]
    events = []
    for delta, finish in deltas:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        event: dict[str, Any] = {**head, "choices": [choice]}
        if include_usage:
            event["usage"] = None
        events.append(event)
    if include_usage:
        events.append({**head, "choices": [], "usage": _usage(chunks - 2)})
    parts = [b"data: " + _json.encode(e) + b"\n\n" for e in events] + [b"data: [DONE]\n\n"]
    framed = [b"%x\r\n%b\r\n" % (len(p), p) for p in parts]
    framed[-1] += b"0\r\n\r\n"
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
        b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    return head, framed


def embeddings(model: str, count: int, encoding_format: str) -> bytes:
    vector = [round(((i * 7919) % 2000) / 1000.0 - 1.0, 6) for i in range(EMBED_DIM)]
    value: Any = vector
    if encoding_format == "base64":
        value = base64.b64encode(struct.pack(f"<{EMBED_DIM}f", *vector)).decode()
    data = [{"object": "embedding", "index": i, "embedding": value} for i in range(count)]
    tokens = PROMPT_TOKENS * count
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return _json_response({"object": "list", "data": data, "model": model, "usage": usage})


def models() -> bytes:
    model = {"id": "gpt-4o-mini", "object": "model", "created": CREATED, "owned_by": "fast"}
    return _json_response({"object": "list", "data": [model]})


def _input_count(value: Any) -> int:
    if isinstance(value, list) and value and not isinstance(value[0], int):
        return len(value)
    return 1


# One write, or (paced streams) a list of writes to space by the chunk interval.
Answer = bytes | list[bytes]


class Responder:
    """Maps a parsed request to response bytes; no I/O, shared by every connection."""

    def __init__(self, chunks: int, fail_rate: float, paced: bool = False) -> None:
        self.chunks = chunks
        self.fail_rate = fail_rate
        self.paced = paced
        self.models = models()
        self.not_found = _error(b"404 Not Found", "Unknown route.", "invalid_request_error")
        self.bad_body = _error(b"400 Bad Request", "Invalid JSON body.", "invalid_request_error")
        self.failure = _error(
            b"500 Internal Server Error", "Injected failure.", "server_error", "fast_upstream"
        )
        self.cache: dict[tuple[Any, ...], Answer] = {}

    def answer(self, method: bytes, path: bytes, body: bytes) -> Answer:
        if self.fail_rate and random.random() < self.fail_rate:
            return self.failure
        path = path.split(b"?", 1)[0]
        if method == b"GET" and path == b"/v1/models":
            return self.models
        if method != b"POST" or path not in (b"/v1/chat/completions", b"/v1/embeddings"):
            return self.not_found
        try:
            req = _decode_body(body)
        except msgspec.DecodeError:
            return self.bad_body
        key: tuple[Any, ...]
        build: Callable[[], Answer]
        if path == b"/v1/embeddings":
            n, fmt = _input_count(req.input), req.encoding_format
            key, build = ("e", req.model, n, fmt), lambda: embeddings(req.model, n, fmt)
        elif req.stream:
            usage = req.stream_options is not None and req.stream_options.include_usage
            key, build = ("s", req.model, usage), lambda: self._stream(req.model, usage)
        else:
            key, build = ("c", req.model), lambda: chat_completion(req.model, self.chunks)
        cached = self.cache.get(key)
        if cached is None:
            cached = build()
            if len(self.cache) < MAX_CACHED:
                self.cache[key] = cached
        return cached

    def _stream(self, model: str, usage: bool) -> Answer:
        if not self.paced:
            return chat_stream(model, self.chunks, usage)
        head, events = chat_stream_parts(model, self.chunks, usage)
        return [head + events[0], *events[1:]]


class HttpProtocol(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; answers in request order (paced streams of
    pipelined requests may interleave: no HTTP client used here pipelines)."""

    def __init__(self, responder: Responder, latency_s: float, interval_s: float = 0.0) -> None:
        self.responder = responder
        self.latency_s = latency_s
        self.interval_s = interval_s
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.write(self.responder.bad_body)
                self.transport.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        method = self.parser.get_method()
        raw = self.responder.answer(method, self.url, b"".join(self.body))
        keep_alive = self.parser.should_keep_alive()
        if self.latency_s > 0:
            asyncio.get_running_loop().call_later(self.latency_s, self._send, raw, keep_alive)
        else:
            self._send(raw, keep_alive)

    def _send(self, raw: Answer, keep_alive: bool) -> None:
        if self.transport is None:
            return
        if isinstance(raw, list):
            self.transport.write(raw[0])
            if len(raw) > 1:
                loop = asyncio.get_running_loop()
                loop.call_later(self.interval_s, self._send, raw[1:], keep_alive)
                return
        else:
            self.transport.write(raw)
        if not keep_alive:
            self.transport.close()


async def serve(
    host: str,
    port: int,
    latency_ms: float,
    chunks: int,
    fail_rate: float,
    chunk_interval_ms: float = 0.0,
) -> None:
    responder = Responder(chunks, fail_rate, paced=chunk_interval_ms > 0)
    latency_s, interval_s = latency_ms / 1000.0, chunk_interval_ms / 1000.0
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: HttpProtocol(responder, latency_s, interval_s),
        host,
        port,
        backlog=4096,
        reuse_address=True,
    )
    print(f"fast_upstream listening on http://{host}:{port}/v1", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--chunks", type=int, default=20, help="stream chunks with choices")
    parser.add_argument("--fail-rate", type=float, default=0.0, help="fraction answered 500")
    parser.add_argument(
        "--chunk-interval-ms", type=float, default=0.0, help="pause between stream events"
    )
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        run = asyncio.run
    else:
        run = uvloop.run
    with contextlib.suppress(KeyboardInterrupt):
        run(
            serve(
                args.host,
                args.port,
                args.latency_ms,
                args.chunks,
                args.fail_rate,
                args.chunk_interval_ms,
            )
        )


if __name__ == "__main__":
    main()

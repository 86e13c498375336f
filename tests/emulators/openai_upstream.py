"""A byte-level emulator of OpenAI's HTTP API, for end-to-end gateway tests.

It is a raw ASGI callable (no framework) so it adds nothing to the wire that OpenAI
would not send: pretty-printed JSON bodies, compact ``data: {...}`` SSE chunks,
``"usage": null`` on every chunk when usage was requested, and so on. The documents
themselves are built without I/O in ``openai_bodies``; this module does the wire.

Routes: ``POST /v1/chat/completions``, ``POST /v1/completions``,
``POST /v1/embeddings``, ``POST /v1/responses`` (``responses_bodies``), ``GET /v1/models``,
``GET /v1/models/{id}``. Anything else
is OpenAI's 404 ``Invalid URL (METHOD /path)``; a body that is not a JSON object is
OpenAI's 400 "could not parse the JSON body".

The request's ``model`` picks the behaviour:

=======================  =============================================================
``emu-hang``             never sends response headers; waits ``hang_seconds`` (60) or
                         until the peer leaves, then closes the connection.
``emu-reset``            closes the connection with a TCP RST and no response at all
                         (the client sees a connection reset / "server disconnected").
``emu-error-<status>``   OpenAI's error body with that status (400..599); 429 also
                         carries ``retry-after: 1`` and exhausted ``x-ratelimit-*``.
``emu-quota``            429 ``insufficient_quota``, which must not be retried.
``emu-malformed``        200 whose body is truncated JSON (an SSE stream with a
                         non-JSON ``data:`` line when ``stream`` is true).
``emu-slow-stream``      20 content chunks, ``slow_chunk_delay`` (0.2 s) apart; a peer
                         that leaves early is counted in ``streams_aborted``.
``emu-truncated-stream`` the first 3 ``data:`` events, then the connection is closed
                         mid-body (incomplete chunked encoding, no ``[DONE]``).
``emu-stream-error``     3 events, then OpenAI's in-stream ``data: {"error": ...}``
                         and a clean end without ``[DONE]``.
``emu-logprobs-low``     echo, with every token logprob -2.3 (p ≈ 0.10) when
                         ``logprobs`` is asked for: a low-confidence answer.
``emu-logprobs-high``    echo, with every token logprob -0.01 (p ≈ 0.99).
``emu-truncated-sse``    2 events, then half of the next ``data:`` line, then the
                         connection is closed (an SSE event cut mid-line).
``emu-reset-mid-stream`` the role event and the first content event, then a TCP RST.
``emu-stall-stream``     3 events, then silence for ``hang_seconds`` (or until the
                         peer leaves): a timeout mid-stream.
``emu-endless-stream``   content chunks every ``slow_chunk_delay``, never ``[DONE]``,
                         until the peer leaves (or ``hang_seconds``).
``emu-flood-stream``     the same without pauses: as fast as the peer reads.
``emu-slow-loris``       the status line, then header bytes one every
                         ``slow_chunk_delay``, never finishing the headers, until the
                         peer leaves (or ``hang_seconds``).
``emu-sparse``           a loose "OpenAI-compatible" server: no ``refusal``,
                         ``annotations``, ``logprobs``, ``service_tier`` or
                         ``system_fingerprint``; stream chunks omit ``finish_reason``
                         until the last and carry ``usage`` only on the last chunk
                         (always, requested or not). Its chunks fail OpenAI's schema.
anything else            echo: chat content is ``"echo: <last user text>"``.
=======================  =============================================================

Echo semantics: ``n`` choices (``" #i"`` appended for i > 0); ``stop`` cuts the text at
the first stop string; ``max_completion_tokens``/``max_tokens`` keep that many
whitespace tokens (finish ``length``; completions default to 16 as OpenAI does);
``response_format`` json_object/json_schema answers ``{"echo": text}``; ``tools``
(unless ``tool_choice`` is ``"none"`` or the last message is a tool result) answer with
a call to the first or the named tool, arguments ``{"query": text}``; ``logprobs``
are synthesised. Usage: prompt = words over all message contents + 3 per message;
completion = words of the answer (of the arguments for a tool call). Aliases answer
with their dated snapshot (``gpt-4o-mini`` -> ``gpt-4o-mini-2024-07-18``), as OpenAI does.

Control routes, never logged or authenticated: ``GET /_emulator/requests`` (the last
``log_size`` API requests, oldest first), ``GET /_emulator/stats``,
``POST /_emulator/reset``.

Run it alone with ``python -m tests.emulators.openai_upstream --port 8001``, or in a
thread with ``EmulatorServer``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import json
import secrets
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from typing import Any, Self

import uvicorn

from . import responses_bodies
from .openai_bodies import (
    BAD_JSON_ERROR,
    CONFIDENCE_LOGPROBS,
    DONE,
    NO_KEY_ERROR,
    QUOTA_ERROR,
    SLOW_STREAM_WORDS,
    Json,
    bad_key_error,
    chat_chunks,
    chat_completion_body,
    completion_body,
    completion_chunks,
    embedding_body,
    embedding_inputs,
    error_body,
    error_status,
    invalid_url_error,
    model_json,
    plan_chat,
    plan_completion,
    scenario_error,
    sse,
    with_confidence,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

# (id, owned_by, created) as /v1/models lists them.
DEFAULT_MODELS: tuple[tuple[str, str, int], ...] = (
    ("gpt-4o-mini", "system", 1721172741),
    ("gpt-4o", "system", 1715367049),
    ("gpt-3.5-turbo-instruct", "system", 1692901427),
    ("text-embedding-3-small", "system", 1705948997),
    ("emu-echo", "emulator", 1700000000),
)
# OpenAI answers an alias with the dated snapshot that served it.
SNAPSHOTS = {"gpt-4o-mini": "gpt-4o-mini-2024-07-18", "gpt-4o": "gpt-4o-2024-08-06"}
CUT_AFTER_EVENTS = 3
SSE_CONTENT_TYPE = b"text/event-stream; charset=utf-8"
JSON_CONTENT_TYPE = b"application/json"


# ---------------------------------------------------------------- the ASGI app


@dataclasses.dataclass
class EmulatorStats:
    """Counters since start or the last reset. ``streams_cut`` counts the streams the
    emulator itself broke off (``emu-truncated-stream``), which are neither completed
    nor aborted by the peer."""

    requests: int = 0
    streams_started: int = 0
    streams_completed: int = 0
    streams_aborted: int = 0
    streams_cut: int = 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


def _response_headers(content_type: bytes, *, rate_limited: bool = False) -> Headers:
    """OpenAI's usual headers; a rate-limited answer shows an exhausted budget and
    ``retry-after`` (a quota error is a 429 too, but waiting does not help it)."""
    return [
        (b"content-type", content_type),
        (b"x-request-id", b"req_" + secrets.token_hex(16).encode()),
        (b"openai-organization", b"user-emulator"),
        (b"openai-processing-ms", b"7"),
        (b"openai-version", b"2020-10-01"),
        (b"x-ratelimit-limit-requests", b"10000"),
        (b"x-ratelimit-limit-tokens", b"30000000"),
        (b"x-ratelimit-remaining-requests", b"0" if rate_limited else b"9999"),
        (b"x-ratelimit-remaining-tokens", b"0" if rate_limited else b"29999980"),
        (b"x-ratelimit-reset-requests", b"1s" if rate_limited else b"6ms"),
        (b"x-ratelimit-reset-tokens", b"1s" if rate_limited else b"0s"),
    ] + ([(b"retry-after", b"1")] if rate_limited else [])


async def _send_bytes(send: Send, status: int, body: bytes, headers: Headers) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _send_json(
    send: Send, status: int, document: object, *, rate_limited: bool | None = None
) -> None:
    """Success bodies are indented by 2 and errors by 4, as OpenAI's are."""
    is_error = isinstance(document, dict) and "error" in document
    text = json.dumps(document, ensure_ascii=False, indent=4 if is_error else 2)
    limited = status == 429 if rate_limited is None else rate_limited
    headers = _response_headers(JSON_CONTENT_TYPE, rate_limited=limited)
    await _send_bytes(send, status, (text + "\n").encode(), headers)


async def _send_control(send: Send, document: object) -> None:
    body = json.dumps(document).encode()
    await _send_bytes(send, 200, body, [(b"content-type", JSON_CONTENT_TYPE)])


async def _read_body(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _watch_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()


async def _pause(gone: asyncio.Event, seconds: float) -> None:
    """Sleep, but wake as soon as the peer leaves."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(gone.wait(), seconds)


def _transport(send: Send) -> asyncio.Transport | None:
    """The connection's transport. ASGI does not expose it; uvicorn's h11 and httptools
    protocols both bind ``send`` to a cycle object holding it. That is the only way to
    drop a connection on purpose without uvicorn answering 500 for us."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    return transport if isinstance(transport, asyncio.Transport) else None


class OpenAIEmulator:
    """The ASGI app. State lives on the instance, so each server has its own log."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        models: Sequence[tuple[str, str, int]] = DEFAULT_MODELS,
        log_size: int = 200,
        slow_chunk_delay: float = 0.2,
        hang_seconds: float = 60.0,
    ) -> None:
        self.api_key = api_key
        self.models = tuple(models)
        self.slow_chunk_delay = slow_chunk_delay
        self.hang_seconds = hang_seconds
        self.stats = EmulatorStats()
        self.requests: deque[Json] = deque(maxlen=log_size)

    def reset(self) -> None:
        self.stats = EmulatorStats()
        self.requests.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        raw = await _read_body(receive)
        if raw is None:
            return
        method, path = scope["method"], scope["path"].rstrip("/") or "/"
        if path.startswith("/_emulator/"):
            await self._control(method, path, send)
            return
        self.stats.requests += 1
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self.requests.append(
            {
                "method": method,
                "path": path,
                "query": scope.get("query_string", b"").decode("latin-1"),
                "headers": headers,
                "body": body,
                "raw_body": None if body is not None or not raw else raw.decode("utf-8", "replace"),
                "received_at": time.time(),
            }
        )
        await self._api(method, path, headers, body, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _control(self, method: str, path: str, send: Send) -> None:
        if (method, path) == ("GET", "/_emulator/requests"):
            await _send_control(send, list(self.requests))
        elif (method, path) == ("GET", "/_emulator/stats"):
            await _send_control(send, self.stats.as_dict())
        elif (method, path) == ("POST", "/_emulator/reset"):
            self.reset()
            await _send_control(send, {"ok": True})
        else:
            await _send_json(send, 404, invalid_url_error(method, path))

    def _auth_error(self, headers: dict[str, str]) -> Json | None:
        if self.api_key is None:
            return None
        scheme, _, presented = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return NO_KEY_ERROR
        presented = presented.strip()
        return None if secrets.compare_digest(presented, self.api_key) else bad_key_error(presented)

    async def _api(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: object,
        receive: Receive,
        send: Send,
    ) -> None:
        denial = self._auth_error(headers)
        if denial is not None:
            await _send_json(send, 401, denial)
            return
        if method == "GET" and path == "/v1/models":
            listing = {"object": "list", "data": [model_json(m) for m in self.models]}
            await _send_json(send, 200, listing)
            return
        if method == "GET" and path.startswith("/v1/models/"):
            await self._retrieve_model(path.removeprefix("/v1/models/"), send)
            return
        handlers = {
            "/v1/chat/completions": self._chat,
            "/v1/completions": self._completions,
            "/v1/embeddings": self._embeddings,
            "/v1/responses": self._responses,
        }
        handler = handlers.get(path)
        if handler is None or method != "POST":
            await _send_json(send, 404, invalid_url_error(method, path))
            return
        if not isinstance(body, dict):
            await _send_json(send, 400, BAD_JSON_ERROR)
            return
        model = body.get("model")
        if not isinstance(model, str) or not model:
            error = error_body("you must provide a model parameter", "invalid_request_error")
            await _send_json(send, 400, error)
            return
        presented = headers.get("authorization", "").partition(" ")[2].strip()
        if not await self._failure_scenario(model, body, presented, receive, send):
            await handler(body, model, receive, send)

    async def _retrieve_model(self, model_id: str, send: Send) -> None:
        for entry in self.models:
            if entry[0] == model_id:
                await _send_json(send, 200, model_json(entry))
                return
        error = error_body(
            f"The model '{model_id}' does not exist",
            "invalid_request_error",
            "model",
            "model_not_found",
        )
        await _send_json(send, 404, error)

    async def _failure_scenario(
        self, model: str, body: Json, presented: str, receive: Receive, send: Send
    ) -> bool:
        """Play a scenario that replaces the normal answer; ``False`` if none applies."""
        status = error_status(model)
        if status is not None:
            await _send_json(send, status, scenario_error(status, model, presented))
        elif model == "emu-quota":
            await _send_json(send, 429, QUOTA_ERROR, rate_limited=False)
        elif model == "emu-hang":
            await self._hang(receive, send)
        elif model == "emu-reset":
            await self._reset_connection(receive, send)
        elif model == "emu-slow-loris":
            await self._slow_loris(receive, send)
        elif model == "emu-malformed":
            if body.get("stream") is True:
                frames = [b'data: {"id": "chatcmpl-malformed", "choices": [\n\n', DONE]
                await self._stream(receive, send, frames)
            else:
                broken = b'{\n  "id": "chatcmpl-malformed",\n  "object": "chat.comp'
                await _send_bytes(send, 200, broken, _response_headers(JSON_CONTENT_TYPE))
        else:
            return False
        return True

    async def _hang(self, receive: Receive, send: Send) -> None:
        gone = asyncio.Event()
        watcher = asyncio.create_task(_watch_disconnect(receive, gone))
        try:
            await _pause(gone, self.hang_seconds)
        finally:
            watcher.cancel()
        transport = _transport(send)
        if not gone.is_set() and transport is not None:
            transport.close()
            await _pause(gone, 1.0)

    async def _slow_loris(self, receive: Receive, send: Send) -> None:
        """Write the response head a byte at a time, below any read timeout, never
        finishing it. Raw bytes on the transport: ASGI can only send whole heads."""
        transport = _transport(send)
        if transport is None:
            raise ConnectionAbortedError("emu-slow-loris: this server exposes no transport")
        self.stats.streams_started += 1
        gone = asyncio.Event()
        watcher = asyncio.create_task(_watch_disconnect(receive, gone))
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nx-trickle: ")
        deadline = time.monotonic() + self.hang_seconds
        try:
            while not gone.is_set() and time.monotonic() < deadline:
                if transport.is_closing():  # the peer left before a request was answered
                    gone.set()
                    break
                transport.write(b"a")
                await _pause(gone, self.slow_chunk_delay)
        finally:
            watcher.cancel()
        if gone.is_set():
            self.stats.streams_aborted += 1
        transport.close()

    async def _reset_connection(self, receive: Receive, send: Send) -> None:
        """RST the connection. Under a server that hides its transport this raises
        instead, and the server decides (uvicorn would answer a plain-text 500)."""
        transport = _transport(send)
        if transport is None:
            raise ConnectionAbortedError("emu-reset: this server exposes no transport")
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        await receive()  # returns once the server has seen the connection go

    async def _stream(
        self,
        receive: Receive,
        send: Send,
        frames: Iterable[bytes],
        *,
        delay: float = 0.0,
        cut: bool = False,
        reset: bool = False,
        stall: bool = False,
    ) -> None:
        """Send SSE ``frames``; count whether the peer stayed to the end. Then ``cut``
        closes the connection mid-body, ``reset`` sends a TCP RST, and ``stall`` goes
        silent for ``hang_seconds`` first. ``frames`` may be endless (``hang_seconds``
        bounds it).

        A watcher task reads ``receive`` for ``http.disconnect``: uvicorn silently drops
        writes to a closed connection, so a failed ``send`` cannot be relied on.
        """
        self.stats.streams_started += 1
        gone = asyncio.Event()
        watcher = asyncio.create_task(_watch_disconnect(receive, gone))
        deadline = time.monotonic() + self.hang_seconds
        try:
            start = {"type": "http.response.start", "status": 200}
            await send(start | {"headers": _response_headers(SSE_CONTENT_TYPE)})
            for position, frame in enumerate(frames):
                if delay and position:
                    await _pause(gone, delay)
                else:
                    await asyncio.sleep(0)  # an endless stream must not starve the loop
                if gone.is_set() or time.monotonic() > deadline:
                    break
                await send({"type": "http.response.body", "body": frame, "more_body": True})
            if stall:
                await _pause(gone, self.hang_seconds)
            if gone.is_set():
                self.stats.streams_aborted += 1
            elif cut or reset or stall:
                self.stats.streams_cut += 1
                transport = _transport(send)
                if transport is None:
                    raise ConnectionAbortedError("cut stream: this server exposes no transport")
                if reset:
                    sock = transport.get_extra_info("socket")
                    if sock is not None:
                        linger = struct.pack("ii", 1, 0)
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                    transport.abort()
                else:
                    transport.close()
                await _pause(gone, 1.0)
            else:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                self.stats.streams_completed += 1
        finally:
            watcher.cancel()

    async def _play_stream(
        self, model: str, receive: Receive, send: Send, chunks: list[Json]
    ) -> None:
        frames = [sse(chunk) for chunk in chunks]
        if model == "emu-truncated-stream":
            await self._stream(receive, send, frames[:CUT_AFTER_EVENTS], cut=True)
        elif model == "emu-truncated-sse":
            half = frames[2][: len(frames[2]) // 2]
            await self._stream(receive, send, [*frames[:2], half], cut=True)
        elif model == "emu-reset-mid-stream":
            await self._stream(receive, send, frames[:2], reset=True)
        elif model == "emu-stall-stream":
            await self._stream(receive, send, frames[:CUT_AFTER_EVENTS], stall=True)
        elif model in ("emu-endless-stream", "emu-flood-stream"):
            endless = itertools.chain(frames[:2], itertools.cycle(frames[1:2]))
            delay = self.slow_chunk_delay if model == "emu-endless-stream" else 0.0
            await self._stream(receive, send, endless, delay=delay)
        elif model == "emu-stream-error":
            failure = scenario_error(500, model, "")
            await self._stream(receive, send, [*frames[:CUT_AFTER_EVENTS], sse(failure)])
        else:
            delay = self.slow_chunk_delay if model == "emu-slow-stream" else 0.0
            await self._stream(receive, send, [*frames, DONE], delay=delay)

    async def _check_stream_options(self, body: Json, send: Send) -> bool:
        if body.get("stream_options") is None or body.get("stream") is True:
            return True
        error = error_body(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            "invalid_request_error",
            "stream_options",
        )
        await _send_json(send, 400, error)
        return False

    async def _chat(self, body: Json, model: str, receive: Receive, send: Send) -> None:
        if not isinstance(body.get("messages"), list):
            error = error_body(
                "Missing required parameter: 'messages'.",
                "invalid_request_error",
                "messages",
                "missing_required_parameter",
            )
            await _send_json(send, 400, error)
            return
        if not await self._check_stream_options(body, send):
            return
        slow, sparse = model == "emu-slow-stream", model == "emu-sparse"
        choices = plan_chat(body, slow=slow)
        shown = SNAPSHOTS.get(model, model)
        logprob = CONFIDENCE_LOGPROBS.get(model)
        if body.get("stream") is True:
            chunks = chat_chunks(body, choices, shown, sparse=sparse)
            if logprob is not None:
                chunks = [with_confidence(chunk, logprob) for chunk in chunks]
            await self._play_stream(model, receive, send, chunks)
            return
        if slow:
            await asyncio.sleep(self.slow_chunk_delay * SLOW_STREAM_WORDS)
        completion = chat_completion_body(body, choices, shown, sparse=sparse)
        if logprob is not None:
            completion = with_confidence(completion, logprob)
        await _send_json(send, 200, completion)

    async def _responses(self, body: Json, model: str, receive: Receive, send: Send) -> None:
        """The Responses API (``responses_bodies``); ``emu-stream-error`` streams three
        events, then an ``error`` event."""
        why = responses_bodies.problem(body)
        if why is not None:
            await _send_json(send, 400, error_body(why, "invalid_request_error"))
            return
        response = responses_bodies.response_body(body, SNAPSHOTS.get(model, model))
        if body.get("stream") is not True:
            await _send_json(send, 200, response)
            return
        events = responses_bodies.response_events(response)
        if model == "emu-stream-error":
            failure = {"type": "error", "code": "server_error", "param": None,
                       "message": "The server had an error.", "sequence_number": 3}  # fmt: skip
            events = [*events[:CUT_AFTER_EVENTS], failure]
        delay = self.slow_chunk_delay if model == "emu-slow-stream" else 0.0
        frames = [responses_bodies.named_sse(event) for event in events]
        await self._stream(receive, send, frames, delay=delay)

    async def _completions(self, body: Json, model: str, receive: Receive, send: Send) -> None:
        if not await self._check_stream_options(body, send):
            return
        sparse = model == "emu-sparse"
        choices = plan_completion(body)
        if body.get("stream") is True:
            chunks = completion_chunks(body, choices, model, sparse=sparse)
            await self._play_stream(model, receive, send, chunks)
            return
        await _send_json(send, 200, completion_body(body, choices, model, sparse=sparse))

    async def _embeddings(self, body: Json, model: str, receive: Receive, send: Send) -> None:
        if "input" not in body:
            error = error_body(
                "Missing required parameter: 'input'.",
                "invalid_request_error",
                "input",
                "missing_required_parameter",
            )
            await _send_json(send, 400, error)
            return
        inputs = embedding_inputs(body["input"])
        if inputs is None:
            error = error_body(
                "'$.input' is invalid. Please check the API reference: "
                "https://platform.openai.com/docs/api-reference.",
                "invalid_request_error",
            )
            await _send_json(send, 400, error)
            return
        await _send_json(send, 200, embedding_body(body, inputs, model))


# ---------------------------------------------------------------- running it


def _listening_socket(host: str, port: int) -> socket.socket:
    """Bind and listen before uvicorn starts, so the port is known and connectable.

    ``IPPROTO_TCP`` must be explicit: asyncio only sets ``TCP_NODELAY`` on sockets whose
    ``proto`` says TCP, and without it every keep-alive response stalls ~40 ms on
    Nagle's algorithm meeting delayed ACKs.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


class EmulatorServer:
    """Runs an ``OpenAIEmulator`` under uvicorn in a daemon thread on a free port.

    ``start()`` returns once uvicorn serves; ``stop()`` gives in-flight requests one
    second, then cancels them (a request hung in ``emu-hang`` would otherwise hold
    shutdown for a minute).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        http: str = "h11",
        log_size: int = 200,
        slow_chunk_delay: float = 0.2,
        hang_seconds: float = 60.0,
        models: Sequence[tuple[str, str, int]] = DEFAULT_MODELS,
    ) -> None:
        self.host = host
        self.port = port
        self.http = http
        self.app = OpenAIEmulator(
            api_key=api_key,
            models=models,
            log_size=log_size,
            slow_chunk_delay=slow_chunk_delay,
            hang_seconds=hang_seconds,
        )
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    @property
    def stats(self) -> EmulatorStats:
        return self.app.stats

    @property
    def requests(self) -> list[Json]:
        return list(self.app.requests)

    def reset(self) -> None:
        self.app.reset()

    def wait_for(self, condition: Callable[[EmulatorStats], bool], timeout: float = 5.0) -> bool:
        """Poll the counters until ``condition`` holds: disconnects reach the emulator a
        little after the client hangs up."""
        deadline = time.monotonic() + timeout
        while not condition(self.app.stats):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def start(self, timeout: float = 10.0) -> Self:
        if self._thread is not None:
            raise RuntimeError("emulator already started")
        sock = _listening_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            loop="asyncio",
            http=self.http,
            lifespan="on",
            log_level="warning",
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"openai-emulator:{self.port}",
            daemon=True,
        )
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"emulator did not start on {self.root_url}")
            time.sleep(0.01)
        with socket.create_connection((self.host, self.port), timeout=timeout):
            pass
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Emulate OpenAI's HTTP API for tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--api-key", default=None, help="require this bearer key")
    parser.add_argument("--http", default="h11", choices=["h11", "httptools"])
    parser.add_argument("--log-size", type=int, default=200)
    parser.add_argument("--slow-chunk-delay", type=float, default=0.2)
    parser.add_argument("--hang-seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    app = OpenAIEmulator(
        api_key=args.api_key,
        log_size=args.log_size,
        slow_chunk_delay=args.slow_chunk_delay,
        hang_seconds=args.hang_seconds,
    )
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        loop="asyncio",
        http=args.http,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=1,
    )


if __name__ == "__main__":
    main()

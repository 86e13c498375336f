"""Reading the request and writing the answer straight on ASGI, for the /v1 hot path.

Why not Litestar's ``Request``/``Response`` here: measured with wrk on one core of the
development machine, a Litestar ``@post`` handler that reads the body and returns a
bytes ``Response`` costs 0.29-0.33 CPU-ms per request before doing any work, and an
``@asgi`` handler doing the same by hand 0.16 (raw uvicorn: 0.08-0.13). The gateway's
whole budget is 0.25 CPU-ms, so the three OpenAI POST routes are ``@asgi`` handlers
built on these few functions, and called ahead of Litestar's router
(``api.direct_routes``). Every other route stays Litestar's.

The behaviour is the one the Litestar path had: the body limit is enforced on the
announced length and on the bytes received (413), a client that goes away while the
body is read gets a 400 it will never see, and a stream is cancelled (its pipeline
finishing shielded, as always) as soon as the client disconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from gateway.api.errors import error_headers
from gateway.errors import (
    GatewayError,
    InvalidRequestError,
    RequestTimeoutError,
    RequestTooLargeError,
)

Scope = dict[str, Any]
Receive = Any  # litestar.types.Receive / Send, kept loose: called, never introspected
Send = Any
RawHeaders = list[tuple[bytes, bytes]]

# Stream bytes waiting for the client before the pipeline stops reading upstream.
_HIGH_WATER = 64 * 1024
_JSON = (b"content-type", b"application/json")
_SSE = (b"content-type", b"text/event-stream; charset=utf-8")


_ALLOW = [(b"allow", b"OPTIONS, POST")]
# Sends an error in the route's own shape (OpenAI's, Anthropic's) with a status.
ErrorSender = Callable[[GatewayError, int], Awaitable[None]]


async def post_only(scope: Scope, send: Send, send_error: ErrorSender) -> bool:
    """Answer OPTIONS (204, as Litestar answers it for a POST route) and any other
    method (405, in the route's error shape); True when it is a POST still to answer."""
    method = scope["method"]
    if method == "POST":
        return True
    if method == "OPTIONS":
        await send({"type": "http.response.start", "status": 204, "headers": _ALLOW})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return False
    error = InvalidRequestError(
        f"Method {method} is not allowed on {scope['path']}.", code="method_not_allowed"
    )
    await send_error(error, 405)
    return False


def request_headers(scope: Scope) -> dict[str, str]:
    """The request headers by lower-case name (ASGI servers lower-case them); the first
    of repeated headers wins, as with Litestar's ``Headers.get``."""
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        key = name.decode("latin-1")
        if key not in headers:
            headers[key] = value.decode("latin-1")
    return headers


async def read_body(
    receive: Receive, headers: dict[str, str], limit: int, timeout_s: float
) -> bytes:
    """The whole body; raises ``RequestTooLargeError`` past ``limit`` bytes and
    ``RequestTimeoutError`` when it has not all arrived within ``timeout_s`` (a client
    trickling its body would otherwise hold the request forever)."""
    too_large = RequestTooLargeError(f"The request body exceeds the limit of {limit} bytes.")
    announced = headers.get("content-length")
    if announced is not None and announced.isdigit() and int(announced) > limit:
        raise too_large
    parts: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise InvalidRequestError("The request body could not be read.")
                chunk = message.get("body", b"")
                if chunk:
                    size += len(chunk)
                    if size > limit:
                        raise too_large
                    parts.append(chunk)
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        raise RequestTimeoutError("The request body did not arrive in time.") from None
    return parts[0] if len(parts) == 1 else b"".join(parts)


def encode_headers(headers: dict[str, str]) -> RawHeaders:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


async def send_json(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    raw = encode_headers(headers)
    raw.append(_JSON)
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def send_error(send: Send, error: GatewayError, request_id: str, status: int = 0) -> None:
    headers = error_headers(error, request_id)
    await send_json(send, status or error.status_code, error.to_json(), headers)


async def send_stream(
    send: Send, receive: Receive, headers: dict[str, str], body: AsyncIterator[bytes]
) -> None:
    """Headers, then the parts as they come, those ready together in one write;
    the body is cancelled when the client disconnects."""
    raw = encode_headers(headers)
    raw.append(_SSE)
    await send({"type": "http.response.start", "status": 200, "headers": raw})
    writer = _Writer(send)
    fill = asyncio.create_task(writer.fill(body))
    fill.add_done_callback(writer.filled)
    listen = asyncio.create_task(_cancel_on_disconnect(fill, receive))
    try:
        await writer.drain()
    finally:
        listen.cancel()
        # Cancelled once at most: a second cancel would cut the pipeline's shielded
        # finishing (the ledger record of a stream the client left).
        if not (fill.done() or fill.cancelling()):
            fill.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await fill  # its own error, if it failed, is the stream's


class _Writer:
    """Parts queued by ``fill`` (a task) as the pipeline yields them, sent by ``drain``.

    Why apart: a burst of upstream events read at once (a fast engine, or a busy
    gateway reading several per socket read) runs through the pipeline without a pause,
    and ``drain`` wakes only when ``fill`` waits for more, so the burst leaves in one
    socket write instead of one per event (the write was most of a chunk's CPU). A
    client that reads slowly holds ``fill`` back once ``_HIGH_WATER`` bytes wait, so
    the upstream is read no faster than the client takes the answer (at most one batch
    in the socket and ``_HIGH_WATER`` more wait). Plain asyncio
    tasks and events: an anyio task group per stream cost more than the writes saved."""

    __slots__ = ("_ended", "_over", "_parts", "_ready", "_room", "_send", "_size")

    def __init__(self, send: Send) -> None:
        self._send = send
        self._parts: list[bytes] = []
        self._size = 0
        self._ended = False  # the body ended (cleanly)
        self._over = False  # ``fill`` is over: ended, failed or cancelled
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()

    async def fill(self, body: AsyncIterator[bytes]) -> None:
        async for part in body:
            self._parts.append(part)
            self._size += len(part)
            self._ready.set()
            if self._size > _HIGH_WATER:
                self._room.clear()
                await self._room.wait()
        self._ended = True

    def filled(self, _task: asyncio.Task[None]) -> None:
        self._over = True
        self._ready.set()

    async def drain(self) -> None:
        send = self._send
        while True:
            await self._ready.wait()
            self._ready.clear()
            if self._parts:
                parts, self._parts, self._size = self._parts, [], 0
                self._room.set()
                chunk = parts[0] if len(parts) == 1 else b"".join(parts)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if self._over and not self._parts:
                # Only a body that ended is closed cleanly: after an error or a
                # disconnect the server cuts the response, so it never looks whole.
                if self._ended:
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return


async def _cancel_on_disconnect(fill: asyncio.Task[None], receive: Receive) -> None:
    # After the last part the server answers ``receive`` with a disconnect too (then
    # ``fill`` is done and cancelling it is a no-op).
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            if not fill.cancelling():
                fill.cancel()
            return

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
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio

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
    """Headers, then each part as it comes; cancelled when the client disconnects."""
    raw = encode_headers(headers)
    raw.append(_SSE)
    await send({"type": "http.response.start", "status": 200, "headers": raw})
    async with anyio.create_task_group() as group:
        group.start_soon(_pump, send, body)
        await _cancel_on_disconnect(group.cancel_scope, receive)


async def _pump(send: Send, body: AsyncIterator[bytes]) -> None:
    async for part in body:
        await send({"type": "http.response.body", "body": part, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _cancel_on_disconnect(scope: anyio.CancelScope, receive: Receive) -> None:
    # After the last part the server answers ``receive`` with a disconnect too, which
    # ends this listener (cancelling a finished pump is a no-op).
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            scope.cancel()
            return

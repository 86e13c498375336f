"""The HTTP/1.1 protocol ``gateway serve`` runs: uvicorn's httptools protocol with a
deadline on every request head.

uvicorn arms its keep-alive timer only after a response and cancels it on the first
byte of the next request. A connection that never sends a request, or sends its head a
byte at a time (slow loris), is therefore held forever, one file descriptor each; a few
thousand exhaust the process. Here a second timer of the same length
(``timeout_keep_alive``, 5 s) starts when a connection opens and after each response,
and only a complete request head stops it. Requests whose head is in are not affected:
a long stream or a slow upstream keeps its connection as long as it needs.

Writes are coalesced: what uvicorn writes in one pass of the event loop (a response's
head and body are two writes) leaves in one system call (``_CoalescingTransport``).

Request heads are bounded too: more than ``MAX_HEAD_BYTES`` (request line and header
fields together) or ``MAX_HEADERS`` fields is answered 431 in OpenAI's error shape and
the connection closed, as soon as the limit is crossed, so a client cannot make a
worker buffer a 50 MB header.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 128
_TOO_LARGE = json.dumps(
    {
        "error": {
            "message": f"The request head is too large: at most {MAX_HEAD_BYTES} bytes and "
            f"{MAX_HEADERS} header fields.",
            "type": "invalid_request_error",
            "param": None,
            "code": "request_header_fields_too_large",
        }
    }
).encode()
_TOO_LARGE_RESPONSE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: application/json\r\n"
    b"content-length: " + str(len(_TOO_LARGE)).encode() + b"\r\n"
    b"connection: close\r\n\r\n" + _TOO_LARGE
)


class _CoalescingTransport:
    """The connection's transport, except that writes made in one pass of the event loop
    are joined and written once, just after it (a write syscall was ~10 µs of a chat
    request's CPU). Closing flushes first; everything else is the transport's own."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        if self._pending:
            data, self._pending = self._pending, []
            if not self._transport.is_closing():  # aborted meanwhile: nowhere to write
                self._transport.write(data[0] if len(data) == 1 else b"".join(data))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HeadTooLargeError(Exception):
    """Raised inside the parser's callback to stop parsing a rejected head."""


class HeadTimeoutProtocol(HttpToolsProtocol):
    _head_timer: asyncio.TimerHandle | None = None
    # Bytes and fields of the request head being read; None once it is complete.
    _head_bytes: int | None = 0
    _head_fields = 0
    _rejected = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = _CoalescingTransport(transport, self.loop)  # type: ignore[assignment]
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        if self._rejected:
            return
        if self._head_bytes is not None:
            self._head_bytes += len(data)
        super().data_received(data)
        # Still inside the head after parsing: every byte so far belongs to it.
        if self._head_bytes is not None and self._head_bytes > MAX_HEAD_BYTES:
            self._reject_head()

    def on_url(self, url: bytes) -> None:
        if len(self.url) + len(url) > MAX_HEAD_BYTES:
            self._reject_head()
            raise HeadTooLargeError
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_fields += 1
        if self._head_fields > MAX_HEADERS:
            self._reject_head()
            raise HeadTooLargeError  # the parser stops; uvicorn's 400 is suppressed below
        super().on_header(name, value)

    def send_400_response(self, msg: str) -> None:
        if not self._rejected:
            super().send_400_response(msg)

    def _reject_head(self) -> None:
        if not self._rejected and not self.transport.is_closing():
            self._rejected = True
            self._cancel_head_timer()
            self.transport.write(_TOO_LARGE_RESPONSE)
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        self._head_bytes = None
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Idle until the next request (a pipelined one may already be running).
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._head_bytes, self._head_fields = 0, 0
            self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.timeout_keep_alive, self._head_timeout)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()

"""One HTTP/1.1 connection: an asyncio protocol feeding the httptools response parser.

A connection carries one request at a time. Response bytes are handed to the consumer
as they arrive (streams stay chunk-by-chunk); reading pauses when the consumer falls
behind (bounded buffering), and one timer, re-armed on every read, bounds both the wait
for the response headers and every gap between body chunks.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import cast

import httptools

from gateway.transport.errors import ReadTimeout, RemoteProtocolError

_HIGH_WATER = 256 * 1024


class Connection(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self.idle_since = time.monotonic()
        self.requests_sent = 0
        self._parser = httptools.HttpResponseParser(self)
        self._reset_response()
        self._closed = False
        self._paused = False

    def _reset_response(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self._header_name = b""
        self._headers_done: asyncio.Future[None] = self._loop.create_future()
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._waiter: asyncio.Future[None] | None = None
        self.complete = False
        self._keep_alive = False
        self.bytes_received = 0
        self._error: Exception | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._read_timeout = 0.0

    # --- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.bytes_received += len(data)
        self._arm_timer()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(RemoteProtocolError(f"invalid HTTP response: {exc}"))
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._cancel_timer()
        if self.complete:
            return
        if self._headers_done.done() and self._reads_until_eof():
            self.on_message_complete()  # a body delimited by the end of the connection
            return
        self._fail(
            RemoteProtocolError(
                "the upstream closed the connection", before_response=self.bytes_received == 0
            )
        )

    def pause_writing(self) -> None:  # requests are small; nothing to throttle
        pass

    def resume_writing(self) -> None:
        pass

    # --- httptools callbacks ------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        self.headers[key] = f"{self.headers[key]}, {text}" if key in self.headers else text

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        if self.status < 200:  # 1xx interim response: wait for the real one
            self.headers = {}
            return
        if not self._headers_done.done():
            self._headers_done.set_result(None)

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > _HIGH_WATER and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self.status < 200:
            return
        # Read it now: once the message is complete the parser resets for the next one.
        self._keep_alive = self._parser.should_keep_alive()
        self.complete = True
        self._cancel_timer()
        self._wake()

    # --- the consumer's side ------------------------------------------------------------

    def send(self, request: bytes, read_timeout: float) -> None:
        assert self.transport is not None
        self._reset_response()
        self._read_timeout = read_timeout
        self.requests_sent += 1
        self.transport.write(request)
        self._arm_timer()

    async def wait_headers(self) -> None:
        await self._headers_done

    async def next_chunk(self) -> bytes | None:
        """The next piece of the body, or None once it is complete."""
        while not self._chunks:
            if self.complete:
                return None
            if self._error is not None:
                raise self._error
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        chunk = self._chunks.popleft()
        self._buffered -= len(chunk)
        if self._paused and self._buffered < _HIGH_WATER // 2 and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return chunk

    @property
    def reusable(self) -> bool:
        return (
            self.complete
            and not self._closed
            and self._keep_alive
            and self.transport is not None
            and not self.transport.is_closing()
        )

    @property
    def closed(self) -> bool:
        return self._closed or self.transport is None or self.transport.is_closing()

    def abort(self) -> None:
        self._cancel_timer()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()

    # --- internals ----------------------------------------------------------------------

    def _reads_until_eof(self) -> bool:
        return "content-length" not in self.headers and "chunked" not in self.headers.get(
            "transfer-encoding", ""
        )

    def _fail(self, error: Exception) -> None:
        if self._error is None:
            self._error = error
        if not self._headers_done.done():
            self._headers_done.set_exception(error)
            self._headers_done.exception()  # mark retrieved: the caller may have gone
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _arm_timer(self) -> None:
        if self._read_timeout <= 0 or self.complete:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_later(self._read_timeout, self._on_timeout)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_timeout(self) -> None:
        self._timer = None
        if self.complete:
            return
        waiting_for = "response headers" if not self._headers_done.done() else "the next chunk"
        self._fail(ReadTimeout(f"no data from the upstream while waiting for {waiting_for}"))
        self.abort()

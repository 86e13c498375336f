"""The HTTP/1.1 protocol ``gateway serve`` runs: uvicorn's httptools protocol with a
deadline on every request head.

uvicorn arms its keep-alive timer only after a response and cancels it on the first
byte of the next request. A connection that never sends a request, or sends its head a
byte at a time (slow loris), is therefore held forever, one file descriptor each; a few
thousand exhaust the process. Here a second timer of the same length
(``timeout_keep_alive``, 5 s) starts when a connection opens and after each response,
and only a complete request head stops it. Requests whose head is in are not affected:
a long stream or a slow upstream keeps its connection as long as it needs.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HeadTimeoutProtocol(HttpToolsProtocol):
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Idle until the next request (a pipelined one may already be running).
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
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

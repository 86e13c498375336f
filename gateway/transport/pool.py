"""A keep-alive pool of HTTP/1.1 connections to one origin, and the response handle.

Slots bound concurrent connections (``max_connections``); idle connections are reused
newest-first, dropped once older than ``keepalive_expiry`` or beyond ``max_keepalive``.
A request that fails on a reused connection before any response byte arrived (the
server closed it while idle) is retried once on a fresh connection; nothing else is
retried here.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from gateway.transport.connection import Connection
from gateway.transport.errors import (
    ConnectError,
    ConnectTimeout,
    PoolTimeout,
    RemoteProtocolError,
    TransportError,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolLimits:
    max_connections: int = 200
    max_keepalive: int = 50
    keepalive_expiry: float = 30.0
    connect_timeout: float = 5.0
    pool_timeout: float = 5.0


class Response:
    """Status and headers are in; the body is read with ``aread`` or ``aiter_raw``.
    Always ``aclose`` it (or read it to the end): that returns the connection."""

    __slots__ = ("_connection", "_pool", "_released", "headers", "status_code")

    def __init__(self, connection: Connection, pool: ConnectionPool) -> None:
        self._connection = connection
        self._pool = pool
        self._released = False
        self.status_code = connection.status
        self.headers: Mapping[str, str] = connection.headers

    async def aread(self) -> bytes:
        parts = [chunk async for chunk in self.aiter_raw()]
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        connection = self._connection
        try:
            while (chunk := await connection.next_chunk()) is not None:
                yield chunk
        finally:
            if connection.complete:
                self._release()

    async def aclose(self) -> None:
        self._release()

    def _release(self) -> None:
        if not self._released:
            self._released = True
            self._pool.release(self._connection)


class ConnectionPool:
    def __init__(self, base_url: str, limits: PoolLimits | None = None) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"unsupported upstream URL: {base_url!r}")
        self.limits = limits or PoolLimits()
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        default_port = self._port == (443 if parts.scheme == "https" else 80)
        self._host_header = self._host if default_port else f"{self._host}:{self._port}"
        self._ssl = ssl.create_default_context() if parts.scheme == "https" else None
        self._idle: deque[Connection] = deque()
        self._slots = asyncio.Semaphore(self.limits.max_connections)
        self._closed = False

    # --- requests -----------------------------------------------------------------------

    async def request(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        content: bytes,
        *,
        read_timeout: float,
    ) -> Response:
        """Send a request (``target`` is the path and query) and wait for its headers."""
        head = self._encode_head(method, target, headers, len(content))
        payload = head + content
        await self._acquire_slot()
        connection: Connection | None = None
        try:
            connection = self._take_idle()
            reused = connection is not None
            if connection is None:
                connection = await self._connect()
            try:
                connection.send(payload, read_timeout)
                await connection.wait_headers()
            except RemoteProtocolError as exc:
                connection.abort()
                if not (reused and exc.before_response):
                    raise
                connection = await self._connect()  # the idle connection had gone stale
                connection.send(payload, read_timeout)
                await connection.wait_headers()
        except BaseException:
            # Cancelled (the client left, a total timeout) or failed while waiting for the
            # headers: the connection is mid-exchange and must not outlive the request.
            if connection is not None:
                connection.abort()
            self._slots.release()
            raise
        return Response(connection, self)

    def release(self, connection: Connection) -> None:
        """Return a connection after its response: kept if it can carry another one."""
        if connection.reusable and not self._closed and len(self._idle) < self.limits.max_keepalive:
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            connection.abort()
        self._slots.release()

    async def aclose(self) -> None:
        self._closed = True
        while self._idle:
            self._idle.pop().abort()

    # --- internals ----------------------------------------------------------------------

    async def _acquire_slot(self) -> None:
        if not self._slots.locked():
            await self._slots.acquire()
            return
        try:
            async with asyncio.timeout(self.limits.pool_timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise PoolTimeout("no free upstream connection") from None

    def _take_idle(self) -> Connection | None:
        expiry = time.monotonic() - self.limits.keepalive_expiry
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and connection.idle_since > expiry:
                return connection
            connection.abort()
        return None

    async def _connect(self) -> Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.limits.connect_timeout):
                _, connection = await loop.create_connection(
                    lambda: Connection(loop),
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._ssl else None,
                )
        except TimeoutError:
            raise ConnectTimeout("timed out connecting to the upstream") from None
        except (OSError, ssl.SSLError) as exc:
            raise ConnectError(f"cannot connect to the upstream: {exc.strerror or exc}") from None
        sock = connection.transport.get_extra_info("socket") if connection.transport else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def _encode_head(
        self, method: str, target: str, headers: Mapping[str, str], length: int
    ) -> bytes:
        lines = [f"{method} {target} HTTP/1.1", f"host: {self._host_header}"]
        for name, value in headers.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
                raise TransportError(f"header {name!r} contains a line break")
            lines.append(f"{name}: {value}")
        lines.append(f"content-length: {length}")
        lines.append("\r\n")
        return "\r\n".join(lines).encode("latin-1")


def split_url(url: str) -> tuple[str, str]:
    """``https://host:port/a/b?q`` → (``https://host:port``, ``/a/b?q``)."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return f"{parts.scheme}://{parts.netloc}", target

"""The lean HTTP/1.1 client against a raw socket server whose bytes each test chooses."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from gateway.transport import (
    ConnectError,
    ConnectionPool,
    PoolLimits,
    ReadTimeout,
    RemoteProtocolError,
    TransportError,
)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + await reader.readexactly(length)


class RawServer:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []

    async def __aenter__(self) -> RawServer:
        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                await self.handler(reader, writer)
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()

    def pool(self, **limits: float) -> ConnectionPool:
        return ConnectionPool(f"http://127.0.0.1:{self.port}/v1", PoolLimits(**limits))  # type: ignore[arg-type]


def keep_alive(body: bytes, *, extra: bytes = b"") -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n%s" % (len(body), extra, body)
            )
            await writer.drain()

    return handle


async def call(pool: ConnectionPool, *, timeout: float = 2.0) -> tuple[int, bytes]:
    response = await pool.request(
        "POST", "/v1/x", {"content-type": "application/json"}, b"{}", read_timeout=timeout
    )
    try:
        return response.status_code, await response.aread()
    finally:
        await response.aclose()


async def test_keep_alive_reuses_connections() -> None:
    async with RawServer(keep_alive(b'{"ok":true}')) as server:
        pool = server.pool()
        for _ in range(5):
            assert await call(pool) == (200, b'{"ok":true}')
        await asyncio.gather(*(call(pool) for _ in range(4)))
        assert server.connections <= 4
        await pool.aclose()


async def test_chunked_body_streams_in_pieces() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for piece in (b"data: 1\n\n", b"data: 2\n\n"):
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            await asyncio.sleep(0.05)
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        await read_request(reader)  # keep the connection open for reuse

    async with RawServer(handle) as server:
        pool = server.pool()
        response = await pool.request("GET", "/v1/s", {}, b"", read_timeout=2)
        assert [c async for c in response.aiter_raw()] == [b"data: 1\n\n", b"data: 2\n\n"]
        await response.aclose()
        assert len(pool._idle) == 1
        await pool.aclose()


async def test_body_until_connection_close() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it")
        await writer.drain()

    async with RawServer(handle) as server:
        pool = server.pool()
        assert await call(pool) == (200, b"all of it")
        assert not pool._idle, "a closed connection must not be pooled"


async def test_stale_idle_connection_is_retried_once() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        # then close while the client keeps the connection idle

    async with RawServer(handle) as server:
        pool = server.pool()
        assert await call(pool) == (200, b"ok")
        await asyncio.sleep(0.05)
        assert await call(pool) == (200, b"ok")
        assert server.connections == 2


async def test_no_headers_in_time_is_a_read_timeout() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async with RawServer(handle) as server:
        with pytest.raises(ReadTimeout):
            await call(server.pool(), timeout=0.2)


async def test_gap_between_chunks_is_a_read_timeout() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n")
        await writer.drain()
        await asyncio.sleep(5)

    async with RawServer(handle) as server:
        response = await server.pool().request("GET", "/", {}, b"", read_timeout=0.2)
        chunks = response.aiter_raw()
        assert await anext(chunks) == b"abc"
        with pytest.raises(ReadTimeout):
            await anext(chunks)


async def test_reset_before_response() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.transport.abort()

    async with RawServer(handle) as server:
        with pytest.raises(RemoteProtocolError):
            await call(server.pool())


async def test_truncated_body() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort")
        await writer.drain()

    async with RawServer(handle) as server:
        with pytest.raises(RemoteProtocolError):
            await call(server.pool())


async def test_malformed_response() -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(1)

    async with RawServer(handle) as server:
        with pytest.raises(RemoteProtocolError):
            await call(server.pool())


async def test_connection_refused() -> None:
    async with RawServer(keep_alive(b"")) as server:
        port = server.port
    with pytest.raises(ConnectError):
        await call(ConnectionPool(f"http://127.0.0.1:{port}/"))


async def test_header_injection_refused() -> None:
    async with RawServer(keep_alive(b"")) as server:
        with pytest.raises(TransportError):
            await server.pool().request(
                "GET", "/", {"x-evil": "a\r\nhost: elsewhere"}, b"", read_timeout=1
            )
        assert server.connections == 0


async def test_max_connections_bounds_concurrency() -> None:
    active = 0
    peak = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal active, peak
        while True:
            await read_request(reader)
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.02)
            active -= 1
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()

    async with RawServer(handle) as server:
        pool = server.pool(max_connections=3)
        await asyncio.gather(*(call(pool) for _ in range(12)))
        assert peak <= 3 and server.connections <= 3

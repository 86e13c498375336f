"""Run any emulator ASGI app under uvicorn in a daemon thread, like ``EmulatorServer``,
plus the small ASGI helpers the provider emulators share.

``ThreadedServer(app).start()`` returns once the port accepts connections;
``start(load_seconds=s)`` keeps the port closed for ``s`` seconds first, the way
``trtllm-serve`` opens its port only after the model has loaded. ``stop()`` gives
in-flight requests one second. ``kill()`` closes the listening socket and every open
connection at once, like a process that died.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Self

import uvicorn

from tests.emulators.openai_upstream import _listening_socket

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]


class ThreadedServer:
    def __init__(self, app: App, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, *, load_seconds: float = 0.0, wait: bool = True) -> Self:
        if not self.port:
            with socket.socket() as probe:
                probe.bind((self.host, 0))
                self.port = probe.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.port,
            loop="asyncio",
            http="h11",
            lifespan="off",
            log_level="warning",
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)

        def run() -> None:
            if load_seconds:
                time.sleep(load_seconds)  # "loading the model": the port stays closed
            self._sock = _listening_socket(self.host, self.port)
            server.run(sockets=[self._sock])

        self._server = server
        self._thread = threading.Thread(target=run, name=f"emulator:{self.port}", daemon=True)
        self._thread.start()
        if wait:
            self.wait_started(load_seconds + 10)
        return self

    def wait_started(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self._server is None or not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError(f"emulator did not start on {self.root_url}")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def kill(self) -> None:
        """Die like a crashed process: open connections reset, the port refuses."""
        server = self._server
        if server is not None:
            for connection in list(getattr(server.server_state, "connections", ())):
                transport = getattr(connection, "transport", None)
                if transport is not None:
                    _reset(transport)
            server.force_exit = True
        self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _reset(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if isinstance(transport, asyncio.Transport):
        transport.abort()


# ---------------------------------------------------------------- ASGI helpers


async def read_body(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def header_map(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def query_map(scope: Scope) -> dict[str, str]:
    pairs = scope.get("query_string", b"").decode("latin-1").split("&")
    return dict(p.split("=", 1) if "=" in p else (p, "") for p in pairs if p)


async def send_bytes(send: Send, status: int, body: bytes, headers: Headers) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def send_json(
    send: Send,
    status: int,
    document: object,
    headers: Headers = (),
    *,
    compact: bool = True,
    sort_keys: bool = False,
) -> None:
    separators = (",", ":") if compact else None
    text = json.dumps(document, separators=separators, sort_keys=sort_keys, ensure_ascii=False)
    await send_bytes(
        send, status, text.encode(), [(b"content-type", b"application/json"), *headers]
    )


async def start_stream(send: Send, headers: Headers = ()) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream; charset=utf-8"), *headers],
        }
    )


async def send_chunk(send: Send, data: bytes) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": True})


async def end_stream(send: Send) -> None:
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def drop_connection(send: Send) -> None:
    """Close the connection mid-response (no final chunk): what a crashed engine does."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if not isinstance(transport, asyncio.Transport):
        raise ConnectionAbortedError("this server exposes no transport")
    transport.close()


def reset_connection(send: Send) -> None:
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if not isinstance(transport, asyncio.Transport):
        raise ConnectionAbortedError("this server exposes no transport")
    _reset(transport)

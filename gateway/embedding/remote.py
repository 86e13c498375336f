"""The model host's client: ``RemoteEmbedder``, an embedder whose model lives in the host.

Under ``gateway serve`` with several workers, one model host process per host loads each
embedder once (``gateway.embedding.host``) and the workers embed through it over a Unix
domain socket, instead of each worker paying ONNX Runtime and the weights (about 60 MB
for MiniLM int8, 66 MB more for WordLlama) again.

The frames are in ``gateway.embedding.wire``.

Failure semantics: a host that is gone, restarting or slower than ``timeout_s`` raises
``EmbedderError`` at once; the semantic cache treats that as a miss and intent routing
falls back to its default intent, as they do for an in-process embedder's failure. The
next call reconnects (and repeats the ``O`` handshake: a restarted host reloads).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from typing import Any

import numpy as np

from gateway.embedding.embedder import EmbedderError, Vector
from gateway.embedding.wire import EMBED, OK, OPEN, RefusedError, call_sync, frame, read_frame

# A hung host costs each request this much at most before it counts as a miss.
TIMEOUT_S = 1.0
# Workers start while the host loads its models: how long a worker waits for it.
CONNECT_WAIT_S = 120.0
_IDLE_CONNECTIONS = 8


def _vector(payload: bytes) -> Vector:
    # A copy: the in-process embedders hand out writable arrays too.
    vector: Vector = np.frombuffer(payload, dtype=np.float32).copy()
    return vector


class RemoteEmbedder:
    """An embedder that lives in the model host: the same ``name``, vectors and
    ``multilingual`` flag as the in-process one its ``spec`` describes.

    ``embed`` (requests) uses a small pool of asyncio connections, one per call in
    flight; ``embed_sync`` (start-up work such as an intent router embedding its
    examples) one blocking connection behind a lock.
    """

    def __init__(
        self,
        path: str,
        spec: dict[str, Any],
        *,
        timeout_s: float = TIMEOUT_S,
        connect_wait_s: float = CONNECT_WAIT_S,
    ) -> None:
        self._path = path
        self._spec = json.dumps(spec, sort_keys=True).encode()
        self._timeout_s = timeout_s
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._loop: asyncio.AbstractEventLoop | None = None  # the one the idle ones are on
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        info = self._handshake_sync(connect_wait_s)
        self.name: str = info["name"]
        self.dim: int = info["dim"]
        self.multilingual: bool = info["multilingual"]

    def _handshake_sync(self, wait_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                with self._lock:
                    sock = self._connect_sync()
                    # Loading a model on first use takes seconds: no per-call timeout here.
                    sock.settimeout(max(1.0, deadline - time.monotonic()))
                    info: dict[str, Any] = json.loads(call_sync(sock, OPEN, self._spec))
                    sock.settimeout(self._timeout_s * 10)
                    return info
            except RefusedError as exc:  # e.g. no such export: waiting will not help
                self._drop_sync()
                raise EmbedderError(f"model host: {exc}") from exc
            except (OSError, ConnectionError) as exc:
                self._drop_sync()
                if time.monotonic() >= deadline:
                    raise EmbedderError(f"model host at {self._path} unreachable: {exc}") from exc
                time.sleep(0.05)

    def _connect_sync(self) -> socket.socket:
        if self._sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(self._path)
            except OSError:
                sock.close()
                raise
            self._sock = sock
        return self._sock

    def _drop_sync(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def embed_sync(self, text: str) -> Vector:
        with self._lock:
            try:
                fresh = self._sock is None
                sock = self._connect_sync()
                if fresh:
                    call_sync(sock, OPEN, self._spec)
                return _vector(call_sync(sock, EMBED, text.encode()))
            except RefusedError as exc:
                raise EmbedderError(f"model host: {exc}") from exc
            except (OSError, ConnectionError) as exc:
                self._drop_sync()
                raise EmbedderError(f"model host unavailable: {exc}") from exc

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_unix_connection(self._path)
        writer.write(frame(OPEN, self._spec))
        op, payload = await read_frame(reader)
        if op != OK or json.loads(payload)["name"] != self.name:
            writer.close()
            raise EmbedderError(f"model host refused {self.name}: {payload[:200]!r}")
        return reader, writer

    async def embed(self, text: str) -> Vector:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # connections belong to the loop that opened them
            self._idle, self._loop = [], loop
        try:
            async with asyncio.timeout(self._timeout_s):
                reader, writer = self._idle.pop() if self._idle else await self._connect()
                try:
                    writer.write(frame(EMBED, text.encode()))
                    op, payload = await read_frame(reader)
                except BaseException:
                    writer.close()  # a half-read reply must not reach the next caller
                    raise
        except (OSError, ConnectionError, asyncio.IncompleteReadError, TimeoutError) as exc:
            raise EmbedderError(f"model host unavailable: {exc!r}") from exc
        if len(self._idle) < _IDLE_CONNECTIONS:
            self._idle.append((reader, writer))
        else:
            writer.close()
        if op != OK:
            raise EmbedderError(f"model host: {payload.decode(errors='replace')}")
        return _vector(payload)

    async def aclose(self) -> None:
        if asyncio.get_running_loop() is not self._loop:
            self._idle = []
        while self._idle:
            self._idle.pop()[1].close()
        with self._lock:
            self._drop_sync()

"""The model host's wire protocol (``gateway.embedding.host`` serves it, ``remote``'s
``RemoteEmbedder`` speaks it); no numpy here, so the serve process can probe the host
without loading it.

Frames, both ways: a 4-byte big-endian length, then that many bytes: one opcode byte and
its payload. A connection opens with ``O`` + the embedder's spec (JSON); the host loads
that embedder if it has not yet and answers ``K`` + ``{"name", "dim", "multilingual"}``.
Then ``E`` + UTF-8 text is answered ``K`` + the vector (native float32, the host is this
machine), and ``P`` (a health probe) ``K``. Any failure is ``X`` + a message.
"""

from __future__ import annotations

import asyncio
import socket
import struct


class RefusedError(Exception):
    """The host answered ``X``: it could not load the embedder or embed the text."""


OPEN, EMBED, PING, OK, FAIL = b"O", b"E", b"P", b"K", b"X"
_HEADER = struct.Struct(">I")
MAX_FRAME = 1 << 20  # a query is capped well below this by the cache and the routers


def frame(op: bytes, payload: bytes = b"") -> bytes:
    return _HEADER.pack(len(payload) + 1) + op + payload


async def read_frame(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    if not 0 < size <= MAX_FRAME:
        raise ConnectionError(f"bad frame length {size}")
    body = await reader.readexactly(size)
    return body[:1], body[1:]


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("model host closed the connection")
        chunks += chunk
    return bytes(chunks)


def call_sync(sock: socket.socket, op: bytes, payload: bytes = b"") -> bytes:
    """One request on a blocking socket: the reply's payload, or ``RefusedError``."""
    sock.sendall(frame(op, payload))
    (size,) = _HEADER.unpack(_recv_exactly(sock, _HEADER.size))
    if not 0 < size <= MAX_FRAME:
        raise ConnectionError(f"bad frame length {size}")
    body = _recv_exactly(sock, size)
    if body[:1] != OK:
        raise RefusedError(body[1:].decode(errors="replace"))
    return body[1:]

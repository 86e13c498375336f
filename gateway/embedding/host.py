"""The model host: one process per host that loads each embedder once and serves the
workers' embeddings over a Unix domain socket (protocol: ``gateway.embedding.remote``).

``gateway serve`` starts it (``gateway.embedding.hosting``), restarts it if it dies and
stops it with itself. It loads an embedder on the first ``O`` handshake that names it
and records the spec beside the socket, so that a restarted host reloads every embedder
before it listens again. Embeddings run on a thread pool as wide as the number of
workers (ONNX Runtime releases the GIL), so the workers embed in parallel as they did
in process.

``python -m gateway.embedding.host SOCKET [--threads N]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gateway.embedding.embedder import EmbedderError, Model
from gateway.embedding.service import Embedders
from gateway.embedding.wire import EMBED, FAIL, OK, OPEN, PING, frame, read_frame

log = logging.getLogger("gateway.embedding.host")


class ModelHost:
    def __init__(self, socket_path: str, threads: int) -> None:
        self._path = socket_path
        self._specs_file = Path(socket_path).with_suffix(".specs.json")
        self._embedders = Embedders()
        self._loaded: dict[bytes, Model] = {}
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="host-embed")

    def preload(self) -> None:
        """Reload what the previous host had loaded (a restart after a crash)."""
        try:
            specs = json.loads(self._specs_file.read_text())
        except (FileNotFoundError, ValueError):
            return
        for spec in specs:
            try:
                self._open(spec.encode())
            except Exception:  # the worker that asks for it again gets the error
                log.exception("model host: cannot reload %s", spec)

    def _open(self, raw: bytes) -> Model:
        key = json.dumps(json.loads(raw), sort_keys=True).encode()
        embedder = self._loaded.get(key)
        if embedder is None:
            # Blocking on purpose: a load happens once, while the workers start.
            embedder = self._loaded[key] = self._embedders.load(json.loads(key))
            log.info("model host: loaded %s", embedder.name)
            specs = [k.decode() for k in self._loaded]
            temporary = self._specs_file.with_suffix(".tmp")
            temporary.write_text(json.dumps(specs))
            temporary.replace(self._specs_file)
        return embedder

    async def serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        loop = asyncio.get_running_loop()
        embedder: Model | None = None
        try:
            while True:
                op, payload = await read_frame(reader)
                try:
                    if op == EMBED and embedder is not None:
                        vector = await loop.run_in_executor(
                            self._pool, embedder.embed_sync, payload.decode()
                        )
                        reply = frame(OK, vector.tobytes())
                    elif op == OPEN:
                        embedder = self._open(payload)
                        info = _info(embedder)
                        reply = frame(OK, json.dumps(info).encode())
                    elif op == PING:
                        reply = frame(OK)
                    else:
                        reply = frame(FAIL, b"unknown request or no embedder opened")
                except (EmbedderError, ValueError, KeyError, OSError) as exc:
                    reply = frame(FAIL, str(exc).encode())
                writer.write(reply)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def run(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path)
        server = await asyncio.start_unix_server(self.serve_connection, self._path)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        log.info("model host listening on %s", self._path)
        async with server:
            await stop.wait()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _info(embedder: Model) -> dict[str, Any]:
    return {
        "name": embedder.name,
        "dim": int(embedder.embed_sync("dim").shape[0]),
        "multilingual": bool(getattr(embedder, "multilingual", False)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m gateway.embedding.host")
    parser.add_argument("socket")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(
        level=os.environ.get("GATEWAY_LOG_LEVEL", "info").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    host = ModelHost(args.socket, max(1, args.threads))
    host.preload()
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        asyncio.run(host.run())
    else:
        uvloop.run(host.run())


if __name__ == "__main__":
    main()

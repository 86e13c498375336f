"""The serve side of the model host: whether ``gateway serve`` runs one, and running it.

The host is a supervised child of the serve process, like a local engine
(``gateway.engines.supervisor``): restarted with backoff if it exits, asked to die with
its parent, stopped on SIGTERM. A probe thread pings it; a host that stops answering
(hung, not dead) is killed, and so restarted. Workers learn its socket from
``$GATEWAY_MODEL_HOST`` (``Embedders.for_process``).

Why ``auto`` means two or more workers: the host costs an interpreter of its own (about
35 MB) and one socket hop per embedding (about 0.1-0.2 ms), and saves the models'
memory (about 60 MB for MiniLM int8, 130 MB with WordLlama) in every worker but one;
with one worker it only costs (loadtests/RESULTS.md, "Model host").
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator

from gateway.config.schema import Config
from gateway.embedding.wire import PING, call_sync
from gateway.engines.supervisor import ManagedProcess

log = logging.getLogger("gateway.embedding.host")
PROBE_INTERVAL_S = 5.0
PROBE_TIMEOUT_S = 5.0
# Consecutive failed probes of a running host before it is killed (it may be loading).
PROBE_FAILURES = 6


def uses_local_models(config: Config) -> bool:
    """Whether a feature embeds with a model in process (not through a provider)."""
    from gateway.cache.keys import uses_semantic

    semantic = config.cache.semantic
    if (
        semantic is not None
        and semantic.embedder.kind != "provider"
        and uses_semantic(config.cache, config.teams)
    ):
        return True
    return any(router.embedder.kind != "none" for router in config.intents.values())


def wanted(config: Config, workers: int) -> bool:
    mode = config.server.model_host
    if mode is False or not uses_local_models(config):
        return False
    return mode is True or workers > 1


def ping(path: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            call_sync(sock, PING)
        return True
    except Exception:
        return False


class Probe:
    """Pings the host every ``interval_s``; kills it after ``failures`` misses in a row
    (the supervisor then restarts it). A new process starts with a clean count."""

    def __init__(
        self,
        process: ManagedProcess,
        path: str,
        *,
        interval_s: float = PROBE_INTERVAL_S,
        failures: int = PROBE_FAILURES,
    ) -> None:
        self._process = process
        self._path = path
        self._interval_s = interval_s
        self._failures = failures
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="model-host-probe", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        failures, pid = 0, self._process.pid
        while not self._stopping.wait(self._interval_s):
            if self._process.pid != pid:  # restarted: give the new one its load time
                failures, pid = 0, self._process.pid
            if ping(self._path, min(PROBE_TIMEOUT_S, self._interval_s)):
                failures = 0
                continue
            failures += 1
            if failures >= self._failures:
                log.error("model host not answering for %d probes; killing it", failures)
                self._process.kill()
                failures = 0

    def stop(self) -> None:
        self._stopping.set()


@contextlib.contextmanager
def run_model_host(config: Config, workers: int) -> Iterator[str | None]:
    """The model host's socket path while it runs; None when the workers load their own
    models (``server.model_host``, or no feature embeds in process)."""
    if not wanted(config, workers):
        yield None
        return
    try:
        directory = tempfile.mkdtemp(prefix="gateway-models-")
    except OSError as exc:  # e.g. a read-only filesystem with no writable $TMPDIR
        log.warning("no model host (%s): every worker loads its own embedders", exc)
        yield None
        return
    path = os.path.join(directory, "models.sock")
    threads = max(1, min(workers, os.cpu_count() or 1))
    argv = [sys.executable, "-m", "gateway.embedding.host", path, "--threads", str(threads)]
    process = ManagedProcess("embedders", argv, {}, kind="model host")
    probe = Probe(process, path)
    try:
        process.start()
        probe.start()
        yield path
    finally:
        probe.stop()
        process.stop()
        shutil.rmtree(directory, ignore_errors=True)

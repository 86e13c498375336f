"""Run engine processes beside the gateway: start, restart on crash with backoff, stop.

The supervisor lives in the ``gateway serve`` parent process, not in the ASGI workers,
so ``--workers N`` still runs one engine per host. Each child is asked to die with its
parent (``PR_SET_PDEATHSIG``), so a killed gateway never leaves an engine behind.
Readiness is not awaited here: the gateway's health probes find the port once the
engine has loaded its model.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Iterator

from gateway.config.schema import Config, Engine
from gateway.engines import llamacpp

log = logging.getLogger("gateway.engines")
_PR_SET_PDEATHSIG = 1
_MAX_BACKOFF_S = 30.0


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ManagedProcess:
    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], *, kind: str = "engine"
    ) -> None:
        """``kind`` names the process in the log: ``engine``, ``model host``."""
        self.name = name
        self.kind = kind
        self.argv = argv
        self.env = {**os.environ, **env}
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"{kind}-{name}", daemon=True)
        self.restarts = 0

    def start(self) -> None:
        self._spawn()
        self._thread.start()

    def _spawn(self) -> None:
        log.info("starting %s %s: %s", self.kind, self.name, " ".join(self.argv))
        self._process = subprocess.Popen(
            self.argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if os.name == "posix" else None,
        )

    def _watch(self) -> None:
        backoff = 1.0
        while not self._stopping.is_set():
            process = self._process
            assert process is not None
            code = process.wait()
            if self._stopping.is_set():
                return
            log.error(
                "%s %s exited with status %s; restarting in %.0fs",
                self.kind,
                self.name,
                code,
                backoff,
            )
            if self._stopping.wait(backoff):
                return
            backoff = min(backoff * 2, _MAX_BACKOFF_S)
            self.restarts += 1
            self._spawn()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def kill(self) -> None:
        """Kill the running process (a hung one): the watcher restarts it."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s %s ignored SIGTERM; killing it", self.kind, self.name)
            process.kill()
            process.wait()


def engine_argv(engine: Engine) -> list[str]:
    if engine.kind == "llama-cpp":
        return llamacpp.command(engine)
    if engine.kind == "llama-cpp-python":
        return llamacpp.python_command(engine)
    return list(engine.command)


@contextlib.contextmanager
def run_engines(config: Config) -> Iterator[list[ManagedProcess]]:
    processes: list[ManagedProcess] = []
    try:
        for name, provider in config.providers.items():
            if provider.engine is None:
                continue
            try:
                argv = engine_argv(provider.engine)
            except llamacpp.EngineUnavailableError as exc:
                log.error("engine for provider %s cannot start: %s", name, exc)
                continue
            process = ManagedProcess(name, argv, provider.engine.env)
            process.start()
            processes.append(process)
        yield processes
    finally:
        for process in processes:
            process.stop()

"""Fixtures: real servers on 127.0.0.1 with free ports.

The gateway runs as a real ``gateway serve`` subprocess (the same command users run),
the upstream as the OpenAI-wire emulator in a thread of the test process, so tests see
exactly what a client on the network would.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import openai
import pytest

from tests.emulators.openai_upstream import EmulatorServer

T = TypeVar("T")

UPSTREAM_KEY = "sk-upstream-secret-key-0123456789"
TEAM_KEY = "sk-team-one-key-0123456789"
RESTRICTED_KEY = "sk-team-two-key-0123456789"
MASTER_KEY = "sk-master-key-0123456789"
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GatewayProcess:
    """``gateway serve`` in a subprocess; its output is kept for assertions on logs."""

    def __init__(
        self,
        config_text: str,
        tmp: Path,
        *,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
        no_config: bool = False,
    ) -> None:
        """``no_config`` runs the embedded default, exactly as a user's bare ``gateway serve``."""
        self.port = free_port()
        self.config_path = tmp / "gateway.yaml"
        self.config_path.write_text(config_text)
        self.log_path = tmp / "gateway.log"
        self._log = self.log_path.open("wb")
        config_args = () if no_config else ("--config", str(self.config_path))
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gateway",
                "serve",
                *config_args,
                "--port",
                str(self.port),
                *args,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=tmp,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait(self, path: str = "/health/live", timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gateway exited early:\n{self.logs()}")
            try:
                if httpx.get(self.url + path, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"gateway not answering {path}:\n{self.logs()}")

    def logs(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        self.process.terminate()
        try:
            code = self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self._log.close()
        return code


def scrape(url: str, key: str = MASTER_KEY) -> str:
    """``GET /metrics`` as Prometheus reads it: with the master key (or a scrape token);
    the series name every team, so a team key or no key is refused."""
    response = httpx.get(
        url + "/metrics",
        headers={"authorization": f"Bearer {key}", "connection": "close"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.text


def wait_until(probe: Callable[[], T | None], timeout: float = 5.0, interval: float = 0.02) -> T:
    """Poll ``probe`` until it returns something truthy: for effects the gateway applies
    just after answering (ledger batches, other replicas), never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        time.sleep(interval)


def gateway_config(upstream: str, dead_port: int) -> str:
    return f"""
server:
  max_body_bytes: 65536
admin:
  master_key: "{MASTER_KEY}"
providers:
  emu:
    kind: openai
    base_url: "{upstream}"
    api_key: "${{TEST_UPSTREAM_KEY}}"
    timeouts: {{connect: 1, first_byte: 1.5, total: 8}}
  compat:
    kind: openai-compatible
    base_url: "{upstream}"
    api_key: "${{TEST_UPSTREAM_KEY}}"
  wrongkey:
    kind: openai
    base_url: "{upstream}"
    api_key: "sk-wrong-upstream-key-987654321"
    health: null
  dead:
    kind: openai-compatible
    base_url: "http://127.0.0.1:{dead_port}/v1"
    health: null
    timeouts: {{connect: 1}}
models:
  gpt-4o-mini: {{targets: [{{provider: emu, model: gpt-4o-mini}}]}}
  text-embedding-3-small:
    targets: [{{provider: emu, model: text-embedding-3-small}}]
  sparse: {{targets: [{{provider: compat, model: emu-sparse}}]}}
  slow: {{targets: [{{provider: emu, model: emu-slow-stream}}]}}
  hang: {{targets: [{{provider: emu, model: emu-hang}}], required_for_ready: false}}
  reset: {{targets: [{{provider: emu, model: emu-reset}}]}}
  malformed: {{targets: [{{provider: emu, model: emu-malformed}}]}}
  truncated: {{targets: [{{provider: emu, model: emu-truncated-stream}}]}}
  stream-error: {{targets: [{{provider: emu, model: emu-stream-error}}]}}
  err-400: {{targets: [{{provider: emu, model: emu-error-400}}]}}
  err-429: {{targets: [{{provider: emu, model: emu-error-429}}]}}
  err-500: {{targets: [{{provider: emu, model: emu-error-500}}]}}
  err-503: {{targets: [{{provider: emu, model: emu-error-503}}]}}
  badkey: {{targets: [{{provider: wrongkey, model: gpt-4o-mini}}], required_for_ready: false}}
  dead: {{targets: [{{provider: dead, model: x}}], required_for_ready: false}}
  failover:
    targets: [{{provider: dead, model: x}}, {{provider: emu, model: gpt-4o-mini}}]
  with-fallback:
    targets: [{{provider: emu, model: emu-error-500}}]
    fallbacks: [gpt-4o-mini]
  chat-only:
    targets: [{{provider: emu, model: gpt-4o-mini}}]
    endpoints: [chat/completions]
  "emu/*": {{targets: [{{provider: emu, model: "*"}}]}}
teams:
  one: {{models: ["*"]}}
  two: {{models: ["gpt-4o-mini"]}}
keys:
  - {{team: one, key: "{TEAM_KEY}"}}
  - {{team: two, key: "{RESTRICTED_KEY}"}}
"""


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    server = EmulatorServer(api_key=UPSTREAM_KEY, slow_chunk_delay=0.1, hang_seconds=10)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def gateway(
    emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    tmp = tmp_path_factory.mktemp("gateway")
    process = GatewayProcess(
        gateway_config(emulator.base_url, free_port()),
        tmp,
        env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY},
    )
    try:
        process.wait("/health/ready")
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def client(gateway: GatewayProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key=TEAM_KEY, max_retries=0)


@pytest.fixture(scope="session")
def http(gateway: GatewayProcess) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=gateway.url, headers={"authorization": f"Bearer {TEAM_KEY}"}, timeout=20
    ) as session:
        yield session


class RedisServer:
    """A real ``redis-server`` on a free loopback port, no persistence unless asked."""

    def __init__(self, tmp: Path, *, appendonly: bool = False) -> None:
        self.port = free_port()
        self.dir = tmp
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes" if self.appendonly else "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.02)
        raise TimeoutError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """Session-wide Redis; tests that need it isolated use their own ``RedisServer``."""
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (.ci/run installs it)")
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()

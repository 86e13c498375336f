"""Helpers for the rate-limit tests: a config, several gateways started together, and
bursts of parallel requests sent with asyncio httpx."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ROOT, UPSTREAM_KEY, GatewayProcess, free_port

# A key without limits, to warm each gateway up (tiktoken's tables load on first use).
WARM_KEY = "sk-limits-warm-key-0123456789"
# Fifty words: the emulator counts prompt words, and answers with the first
# ``max_tokens`` words of "echo: <prompt>", so usage stays close to the reservation.
LONG_PROMPT = " ".join(f"word{i}" for i in range(50))


def limits_config(
    upstream: str,
    *,
    keys: dict[str, str],
    redis_url: str = "",
    settings: str = "",
    team: str = '{models: ["*"]}',
    extra_models: str = "",
) -> str:
    """``keys`` maps each key to its YAML ``limits`` value ('' for none)."""
    state = f'state: {{url: "{redis_url}"}}' if redis_url else ""
    key_lines = "\n".join(
        f'  - {{team: lim, key: "{key}"' + (f", limits: {limits}" if limits else "") + "}"
        for key, limits in {WARM_KEY: "", **keys}.items()
    )
    return f"""
{state}
limits:
  {settings or "headers: true"}
providers:
  emu:
    kind: openai
    base_url: "{upstream}"
    api_key: "{UPSTREAM_KEY}"
    health: null
models:
  gpt-4o-mini: {{targets: [{{provider: emu, model: gpt-4o-mini}}]}}
  slow: {{targets: [{{provider: emu, model: emu-slow-stream}}]}}
{extra_models}
teams:
  lim: {team}
keys:
{key_lines}
"""


@contextmanager
def emulator_process(slow_chunk_delay: float = 0.1) -> Iterator[str]:
    """The OpenAI emulator in its own process: a burst of thousands of requests then
    does not share the test client's interpreter lock. Yields its ``/v1`` URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.emulators.openai_upstream",
            "--port",
            str(port),
            "--http",
            "httptools",
            "--api-key",
            UPSTREAM_KEY,
            "--slow-chunk-delay",
            str(slow_chunk_delay),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def fleet(configs: Sequence[str], tmp: Path) -> Iterator[list[GatewayProcess]]:
    """Start one ``gateway serve`` per config, all at once, and stop them all after."""
    gateways: list[GatewayProcess] = []
    try:
        for i, text in enumerate(configs):
            folder = tmp / f"gw{i}"
            folder.mkdir()
            gateways.append(GatewayProcess(text, folder))
        for gateway in gateways:
            gateway.wait(timeout=120)  # several cold starts at once on a small machine
            warm = httpx.post(
                gateway.url + "/v1/chat/completions",
                json=chat_body(),
                headers={"authorization": f"Bearer {WARM_KEY}"},
                timeout=30,
            )
            assert warm.status_code == 200, warm.text
        yield gateways
    finally:
        for gateway in gateways:
            gateway.process.terminate()  # all at once: each takes a moment to drain
        for gateway in gateways:
            gateway.stop()


@dataclass
class Burst:
    statuses: list[int] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[httpx.Headers] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def count(self, status: int) -> int:
        return sum(1 for s in self.statuses if s == status)

    def code(self, code: str) -> int:
        return sum(1 for b in self.bodies if (b.get("error") or {}).get("code") == code)

    @property
    def refused(self) -> int:
        return self.code("rate_limit_exceeded")

    @property
    def admitted(self) -> int:
        """Passed by the limiter, whatever the upstream did next (on a busy machine the
        emulator may time out: that is not the limiter's doing)."""
        return len(self.statuses) - self.refused - self.code("rate_limiter_unavailable")

    def ok_tokens(self) -> int:
        return sum(
            b["usage"]["total_tokens"] for s, b in zip(self.statuses, self.bodies) if s == 200
        )


def chat_body(max_tokens: int = 20, prompt: str = "hello") -> dict[str, Any]:
    return {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
    }


async def _one(url: str, key: str, body: bytes) -> tuple[int, dict[str, Any], httpx.Headers, float]:
    """One POST on its own connection, raw HTTP/1.1: httpx's pool spends O(n²) CPU with
    thousands of queued requests, which would make the client the bottleneck."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode() + body)
    raw = await reader.read()
    writer.close()
    elapsed = loop.time() - started
    header_block, _, content = raw.partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = httpx.Headers([tuple(line.split(": ", 1)) for line in lines[1:]])
    return status, json.loads(content), headers, elapsed


async def _burst(
    urls: Sequence[str], key: str, count: int, body: dict[str, Any], timeout: float
) -> Burst:
    payload = json.dumps(body).encode()
    result = Burst()
    async with asyncio.timeout(timeout):
        answers = await asyncio.gather(
            *(_one(urls[i % len(urls)], key, payload) for i in range(count))
        )
    for status, document, headers, elapsed in answers:
        result.statuses.append(status)
        result.bodies.append(document)
        result.headers.append(headers)
        result.seconds.append(elapsed)
    return result


def burst(
    gateways: Iterable[GatewayProcess] | Sequence[str],
    key: str,
    count: int,
    body: dict[str, Any] | None = None,
    timeout: float = 30.0,
) -> Burst:
    """``count`` requests at once, each on its own connection, spread round-robin over
    ``gateways``; ``timeout`` bounds the whole burst."""
    urls = [g if isinstance(g, str) else g.url for g in gateways]
    return asyncio.run(_burst(urls, key, count, body or chat_body(), timeout))

"""Limits on everything a client controls, each answered in OpenAI's error shape before
any upstream call: body size, JSON depth, messages, tools, ``n``, ``stop``, and streams
in flight per key. (Per-policy ``max_tokens`` / ``n`` / temperature caps are the
guardrails' ``params``, tested in ``test_guard_e2e.py``.)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import UPSTREAM_KEY, GatewayProcess
from tests.emulators.openai_upstream import EmulatorServer
from tests.faults_support import gateway_process
from tests.wire import assert_error

KEY = "sk-limits-key-0123456789"
STREAMS = 3
MAX_BODY = 256 * 1024
MAX_MESSAGES = 50


@pytest.fixture(scope="module")
def gw(
    emulator: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    config = f"""
server: {{max_body_bytes: {MAX_BODY}, max_messages: {MAX_MESSAGES}, max_json_depth: 16}}
providers:
  emu: {{kind: openai, base_url: "{emulator.base_url}", api_key: "{UPSTREAM_KEY}", health: null}}
models:
  gpt-4o-mini: {{targets: [{{provider: emu, model: gpt-4o-mini}}]}}
  slow: {{targets: [{{provider: emu, model: emu-slow-stream}}]}}
teams: {{one: {{models: ["*"]}}}}
keys:
  - {{team: one, key: "{KEY}", limits: {{concurrency: {STREAMS}}}}}
"""
    with gateway_process(config, tmp_path_factory.mktemp("client-limits")) as process:
        yield process


@pytest.fixture
def http(gw: GatewayProcess) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=gw.url, headers={"authorization": f"Bearer {KEY}"}, timeout=20
    ) as session:
        yield session


def body(**extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], **extra}


def tool(i: int) -> dict[str, Any]:
    return {"type": "function", "function": {"name": f"f{i}", "parameters": {"type": "object"}}}


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


CASES = [
    # name, body, status, code, param
    ("messages", body(messages=[{"role": "user", "content": "x"}] * (MAX_MESSAGES + 1)), 400,
     "array_above_max_length", "messages"),
    ("tools", body(tools=[tool(i) for i in range(129)]), 400, "invalid_value", "tools"),
    ("n", body(n=129), 400, "invalid_value", "n"),
    ("stop", body(stop=["a", "b", "c", "d", "e"]), 400, "invalid_value", "stop"),
    ("depth", body(metadata=nested(16)), 400, "invalid_json", None),
    ("max_tokens", body(max_tokens=0), 400, "invalid_value", "max_tokens"),
]  # fmt: skip
ACCEPTED = [
    ("messages", body(messages=[{"role": "user", "content": "x"}] * MAX_MESSAGES)),
    ("tools", body(tools=[tool(i) for i in range(128)], tool_choice="none")),
    ("n", body(n=128, max_tokens=1)),
    ("depth", body(metadata=nested(14))),
]


@pytest.mark.parametrize(
    ("name", "payload", "status", "code", "param"), CASES, ids=[c[0] for c in CASES]
)
def test_over_the_limit_is_refused(http, name, payload, status, code, param) -> None:
    error = assert_error(http.post("/v1/chat/completions", json=payload), status, code)
    assert error["error"]["param"] == param


@pytest.mark.parametrize(("name", "payload"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_at_the_limit_is_served(http, name, payload) -> None:
    response = http.post("/v1/chat/completions", json=payload)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_over_max_body_bytes(http, chunked: bool) -> None:
    raw = httpx.Request(
        "POST", "/", json=body(messages=[{"role": "user", "content": "x" * MAX_BODY}])
    ).read()

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(raw), 65536):
            yield raw[start : start + 65536]

    response = http.post(
        "/v1/chat/completions",
        content=pieces() if chunked else raw,
        headers={"content-type": "application/json"},
    )
    assert_error(response, 413, "request_too_large")


def test_streams_in_flight_per_key(gw: GatewayProcess, http: httpx.Client) -> None:
    """``keys[].limits.concurrency`` counts streams until their last chunk."""
    started = threading.Barrier(STREAMS + 1, timeout=20)
    finished: list[int] = []

    def stream() -> None:
        with http.stream(
            "POST", "/v1/chat/completions", json={**body(model="slow"), "stream": True}
        ) as response:
            lines = response.iter_lines()
            next(line for line in lines if line.startswith("data: "))
            started.wait()
            finished.append(sum(1 for line in lines if line == "data: [DONE]"))

    threads = [threading.Thread(target=stream) for _ in range(STREAMS)]
    for thread in threads:
        thread.start()
    started.wait()  # all STREAMS are streaming
    refused = http.post("/v1/chat/completions", json={**body(), "stream": True})
    assert_error(refused, 429, "rate_limit_exceeded")
    for thread in threads:
        thread.join(20)
    assert finished == [1] * STREAMS
    assert http.post("/v1/chat/completions", json=body()).status_code == 200


def _raw(gw: GatewayProcess, head: bytes, read: int = 65536) -> bytes:
    """Send a raw request head (streamed, as a hostile client would) and read the
    answer; the gateway may close before reading all of it."""
    import socket

    with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as sock:
        try:
            for start in range(0, len(head), 65536):
                sock.sendall(head[start : start + 65536])
        except (BrokenPipeError, ConnectionResetError):
            pass
        chunks = []
        while True:
            try:
                chunk = sock.recv(read)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


@pytest.mark.parametrize(
    "head",
    [
        b"GET /v1/models HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * 54_000_000 + b"\r\n\r\n",
        b"GET /v1/models HTTP/1.1\r\nhost: x\r\n"
        + b"".join(b"x-h%d: v\r\n" % i for i in range(200))
        + b"\r\n",
        b"GET /v1/models?" + b"q" * 100_000 + b" HTTP/1.1\r\nhost: x\r\n\r\n",
    ],
    ids=["one-54-MB-header", "200-header-fields", "100-KB-request-line"],
)
def test_request_head_over_the_limit_is_431(gw: GatewayProcess, head: bytes) -> None:
    import json

    answer = _raw(gw, head)
    status, _, rest = answer.partition(b"\r\n")
    assert status.startswith(b"HTTP/1.1 431"), answer[:200]
    error = json.loads(rest.split(b"\r\n\r\n", 1)[1])["error"]
    assert error["code"] == "request_header_fields_too_large"
    assert error["type"] == "invalid_request_error"
    # The worker is fine afterwards.
    assert httpx.get(gw.url + "/health/live", timeout=5).status_code == 200


def test_many_ordinary_headers_are_served(http: httpx.Client) -> None:
    headers = {f"x-trace-{i}": "v" * 200 for i in range(60)}
    assert http.get("/v1/models", headers=headers).status_code == 200


def test_writes_in_one_loop_pass_leave_in_one_call_and_close_flushes() -> None:
    """The protocol's transport joins what uvicorn writes in one pass (a response's head
    and body) into one write of the real transport, and a close writes what is pending."""
    import asyncio

    from gateway.protocol import _CoalescingTransport

    class Recording(asyncio.Transport):
        def __init__(self) -> None:
            super().__init__()
            self.writes: list[bytes] = []
            self.closed = False

        def write(self, data: bytes | bytearray | memoryview) -> None:  # type: ignore[override]
            self.writes.append(bytes(data))

        def close(self) -> None:
            self.closed = True

        def is_closing(self) -> bool:
            return self.closed

    async def main() -> Recording:
        real = Recording()
        joined = _CoalescingTransport(real, asyncio.get_running_loop())
        joined.write(b"HTTP/1.1 200 OK\r\n\r\n")
        joined.write(b"body")
        assert real.writes == []  # not before the pass ends
        await asyncio.sleep(0)
        assert real.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
        joined.write(b"last")
        joined.close()
        assert real.writes[-1] == b"last" and real.closed and joined.is_closing()
        return real

    asyncio.run(main())

"""Client faults: a client that leaves mid-stream, hundreds of idle or trickling
connections, and a client that stops reading. What the client (and the others) saw,
what the ledger holds, and that the gateway recovered with bounded memory and
descriptors.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import UPSTREAM_KEY, GatewayProcess
from tests.emulators.openai_upstream import EmulatorServer
from tests.faults_support import (
    FAULT_KEY,
    Invariants,
    chat,
    client,
    fault_config,
    gateway_process,
    wait_until,
)

IDLE = 300  # keep-alive connections left idle after a request
SILENT = 100  # connections that never send a byte
TRICKLING = 20  # connections sending their request head a byte at a time
# uvicorn's keep-alive timeout (5 s) also bounds an unfinished request head.
CLOSE_WITHIN_S = 15.0
BODY_TIMEOUT_S = 2


@pytest.fixture(scope="module")
def upstream() -> Iterator[EmulatorServer]:
    server = EmulatorServer(api_key=UPSTREAM_KEY, slow_chunk_delay=0.1, hang_seconds=10).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gw(
    upstream: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    tmp: Path = tmp_path_factory.mktemp("faults-client")
    config = fault_config(
        upstream.base_url,
        state=f'{{path: "{tmp / "state.db"}"}}',
        timeouts="{connect: 1, first_byte: 2, total: 30}",
        server=f"shutdown_grace_s: 20, body_timeout_s: {BODY_TIMEOUT_S}",
    )
    with gateway_process(config, tmp) as process:
        yield process


@pytest.fixture
def http(gw: GatewayProcess) -> Iterator[httpx.Client]:
    with client(gw) as session:
        yield session


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def fds(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def test_disconnect_mid_stream(
    gw: GatewayProcess, http: httpx.Client, upstream: EmulatorServer
) -> None:
    invariants = Invariants(gw, http)
    aborted = upstream.stats.streams_aborted
    rid = "client-leaves"
    with http.stream(
        "POST",
        "/v1/chat/completions",
        json=chat("emu-slow-stream", rid, stream=True),
        headers={"x-request-id": rid},
    ) as response:
        seen = 0
        for line in response.iter_lines():
            seen += line.startswith("data: ")
            if seen == 4:
                break
    assert upstream.wait_for(lambda s: s.streams_aborted > aborted, 3), "upstream not cancelled"
    record = invariants.check([rid])[rid]
    assert record["status"] == 499 and record["estimated"] is True
    assert record["completion_tokens"] >= 2, record  # what was delivered is charged


def test_many_idle_and_trickling_connections(gw: GatewayProcess, http: httpx.Client) -> None:
    pid = gw.process.pid
    http.get("/health/live")
    base_fds, base_rss = fds(pid), rss_mb(pid)
    held: list[socket.socket] = []
    try:
        # Served without touching the team's limits, then left idle with keep-alive.
        raw = (
            b"GET /v1/models HTTP/1.1\r\nhost: x\r\nauthorization: Bearer "
            + FAULT_KEY.encode()
            + b"\r\n\r\n"
        )
        for _ in range(IDLE):
            sock = socket.create_connection(("127.0.0.1", gw.port))
            sock.sendall(raw)
            held.append(sock)
        for sock in held:
            sock.settimeout(10)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200"), "an idle-to-be request failed"
        for _ in range(SILENT):
            held.append(socket.create_connection(("127.0.0.1", gw.port)))
        trickling = [socket.create_connection(("127.0.0.1", gw.port)) for _ in range(TRICKLING)]
        held.extend(trickling)
        # Meanwhile everyone else is served promptly.
        started = time.monotonic()
        for i in range(10):
            response = http.post("/v1/chat/completions", json=chat("ok", f"busy-{i}", max_tokens=2))
            assert response.status_code == 200, response.text
            for sock in trickling:
                sock.send(b"GET /health/live HTTP/1.1\r\nx-slow: "[i : i + 1] or b"a")
        assert time.monotonic() - started < 5, "the gateway slowed down under idle connections"
        assert rss_mb(pid) - base_rss < 40, "memory grows with idle connections"

        # The gateway lets go of every one of them, trickling or silent, on its own.
        def closed_by_gateway() -> bool:
            for sock in trickling:
                try:
                    sock.send(b"a")
                except OSError:
                    continue
            return fds(pid) <= base_fds + 5

        wait_until(closed_by_gateway, CLOSE_WITHIN_S, "the gateway to close idle connections")
    finally:
        for sock in held:
            sock.close()
    # On a new connection: the gateway also times out `http`'s own keep-alive
    # connection in this wait, and a POST sent as it closes is lost on any server.
    with client(gw) as fresh:
        response = fresh.post("/v1/chat/completions", json=chat("ok", "after-idle", max_tokens=2))
    assert response.status_code == 200


def test_slow_reading_client(gw: GatewayProcess, upstream: EmulatorServer) -> None:
    """A client that stops reading a fast, endless stream: the gateway stops reading the
    upstream too (bounded buffers), its memory stays flat, and it cleans up when the
    client finally leaves."""
    pid = gw.process.pid
    rid = "slow-reader"
    aborted = upstream.stats.streams_aborted
    with client(gw) as http:
        invariants = Invariants(gw, http)
        body = chat("emu-flood-stream", rid, stream=True)
        sock = socket.create_connection(("127.0.0.1", gw.port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        import json

        payload = json.dumps(body)
        sock.sendall(
            (
                f"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {FAULT_KEY}\r\n"
                f"x-request-id: {rid}\r\ncontent-type: application/json\r\n"
                f"content-length: {len(payload)}\r\n\r\n{payload}"
            ).encode()
        )
        assert sock.recv(1024).startswith(b"HTTP/1.1 200")
        time.sleep(1.0)  # buffers fill up
        first = rss_mb(pid)
        time.sleep(3.0)  # the upstream would send megabytes a second if it could
        grown = rss_mb(pid) - first
        assert grown < 10, f"{grown:.1f} MB buffered for a client that does not read"
        sock.close()
        assert upstream.wait_for(lambda s: s.streams_aborted > aborted, 5), "upstream not cancelled"
        record = invariants.check([rid])[rid]
        # 504: the gateway stopped reading the upstream for the client, and the provider's
        # first_byte timer gave up on it (which frees the upstream connection) before
        # the client left; 499 if the client leaves first.
        assert record["status"] in (499, 504), record
        assert record["completion_tokens"] > 0, record


def test_trickled_body_is_cut_off(gw: GatewayProcess, http: httpx.Client) -> None:
    """A complete head, then a body a byte at a time: 408 after ``body_timeout_s``."""
    with socket.create_connection(("127.0.0.1", gw.port)) as sock:
        sock.sendall(
            (
                f"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n"
                f"authorization: Bearer {FAULT_KEY}\r\ncontent-type: application/json\r\n"
                "content-length: 1000\r\n\r\n{"
            ).encode()
        )
        sock.settimeout(0.3)
        started, answer = time.monotonic(), b""
        while time.monotonic() - started < BODY_TIMEOUT_S + 5 and not answer:
            try:
                sock.send(b" ")
                answer = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
        took = time.monotonic() - started
        with contextlib.suppress(OSError):
            while b'"code"' not in answer and (more := sock.recv(4096)):
                answer += more
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"code":"request_timeout"' in answer, answer
    assert BODY_TIMEOUT_S - 0.5 < took < BODY_TIMEOUT_S + 3, took
    assert (
        http.post(
            "/v1/chat/completions", json=chat("ok", "after-trickle", max_tokens=2)
        ).status_code
        == 200
    )

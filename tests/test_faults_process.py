"""SIGTERM during 50 streams in flight: new connections are refused at once, the 50
streams finish within the grace period, the ledger is flushed, the process exits 0, and
a restart on the same state picks up where it left off.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from pathlib import Path

from tests.conftest import UPSTREAM_KEY, GatewayProcess
from tests.emulators.openai_upstream import EmulatorServer
from tests.faults_support import (
    Invariants,
    Outcome,
    chat,
    client,
    fault_config,
    gateway_process,
    one_record_each,
    wait_until,
)

STREAMS = 50
GRACE_S = 20  # fault_config's server.shutdown_grace_s


def refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


def test_sigterm_with_streams_in_flight(tmp_path: Path) -> None:
    upstream = EmulatorServer(api_key=UPSTREAM_KEY, slow_chunk_delay=0.15).start()
    state = f'{{path: "{tmp_path / "state.db"}"}}'
    config = fault_config(
        upstream.base_url, state=state, timeouts="{connect: 1, first_byte: 2, total: 30}"
    )
    (tmp_path / "first").mkdir()
    first = GatewayProcess(config, tmp_path / "first")
    try:
        first.wait("/health/live")
        outcomes: dict[str, Outcome] = {}
        rids = [f"sigterm-{i}" for i in range(STREAMS)]
        streaming = threading.Semaphore(0)

        def stream(rid: str) -> None:
            with client(first, timeout=GRACE_S + 10) as http:
                body = chat("emu-slow-stream", rid, stream=True, max_tokens=50)
                with http.stream(
                    "POST", "/v1/chat/completions", json=body, headers={"x-request-id": rid}
                ) as response:
                    out = Outcome(rid)
                    out.status = response.status_code
                    lines = response.iter_lines()
                    for line in lines:
                        if line.startswith("data: "):
                            out.chunks += 1
                            break
                    streaming.release()
                    for line in lines:
                        out.done |= line == "data: [DONE]"
                        out.chunks += line.startswith("data: ") and line != "data: [DONE]"
                    outcomes[rid] = out

        threads = [threading.Thread(target=stream, args=(rid,)) for rid in rids]
        for thread in threads:
            thread.start()
        for _ in rids:
            assert streaming.acquire(timeout=20), "the streams did not all start"

        signalled = time.monotonic()
        first.process.send_signal(signal.SIGTERM)
        wait_until(lambda: refused(first.port), 3, "new connections to be refused")
        for thread in threads:
            thread.join(GRACE_S + 10)
        code = first.process.wait(GRACE_S + 10)
        took = time.monotonic() - signalled
    finally:
        if first.process.poll() is None:
            first.process.kill()
        first.stop()
        upstream_alive = upstream  # stopped below, after the restart's checks

    assert code == 0, first.logs()[-3000:]
    assert took < GRACE_S, f"shutdown took {took:.1f}s"
    unfinished = [o for o in outcomes.values() if not (o.status == 200 and o.done)]
    assert len(outcomes) == STREAMS and not unfinished, unfinished[:5]
    assert all(o.chunks >= 20 for o in outcomes.values()), "a stream lost content"
    assert "Traceback" not in first.logs()

    # The restart reads the same state: every stream is in the ledger exactly once.
    try:
        with gateway_process(config, tmp_path / "second") as second, client(second) as http:
            found = one_record_each(second, rids)
            assert {r["status"] for r in found.values()} == {200}
            assert all(r["completion_tokens"] > 0 for r in found.values())
            Invariants(second, http).check([])
            answer = http.post("/v1/chat/completions", json=chat("ok", "restarted", max_tokens=2))
            assert answer.status_code == 200
    finally:
        upstream_alive.stop()

"""A client that goes away mid-stream cancels the upstream request at once, and the
gateway records the request."""

from __future__ import annotations

import json
import time

import httpx

from tests.conftest import TEAM_KEY


def test_client_disconnect_cancels_upstream(gateway, emulator) -> None:
    aborted = emulator.stats.streams_aborted
    completed = emulator.stats.streams_completed
    body = {
        "model": "slow",
        "messages": [{"role": "user", "content": "go"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with (
        httpx.Client(timeout=10) as http,
        http.stream(
            "POST",
            gateway.url + "/v1/chat/completions",
            json=body,
            headers={"authorization": f"Bearer {TEAM_KEY}", "x-request-id": "disconnect-test"},
        ) as response,
    ):
        lines = 0
        for line in response.iter_lines():
            if line.startswith("data: "):
                lines += 1
            if lines == 3:
                break
    hung_up = time.monotonic()
    assert emulator.wait_for(lambda s: s.streams_aborted > aborted, timeout=3), (
        "upstream stream still running after the client left"
    )
    # The slow stream needs 2 s to finish; the abort must arrive long before that.
    assert time.monotonic() - hung_up < 1.5
    assert emulator.stats.streams_completed == completed

    deadline = time.monotonic() + 3
    record = None
    while time.monotonic() < deadline and record is None:
        for line in gateway.logs().splitlines():
            if line.startswith("{") and '"disconnect-test"' in line:
                record = json.loads(line)
        time.sleep(0.05)
    assert record is not None, "no access record for the abandoned stream"
    assert record["status"] == 499 and record["stream"] is True

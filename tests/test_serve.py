"""`gateway serve` as a process: several workers, clean shutdown."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import TEAM_KEY, UPSTREAM_KEY, GatewayProcess, free_port, gateway_config


def test_two_workers_serve_and_stop_cleanly(emulator, tmp_path: Path) -> None:
    process = GatewayProcess(
        gateway_config(emulator.base_url, free_port()),
        tmp_path,
        env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY},
        args=("--workers", "2"),
    )
    try:
        process.wait("/health/ready", timeout=90)
        with httpx.Client(
            base_url=process.url, headers={"authorization": f"Bearer {TEAM_KEY}"}, timeout=20
        ) as http:
            for _ in range(10):
                response = http.post(
                    "/v1/chat/completions",
                    json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
                )
                assert response.status_code == 200, response.text
    finally:
        code = process.stop()
    assert code == 0, process.logs()
    assert "with 2 worker(s)" in process.logs()

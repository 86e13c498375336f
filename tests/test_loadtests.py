"""The load-test tools work: the fast upstream's knobs, and a short locust run.

The locust run is the whole chain a load test relies on: fast upstream, a real
``gateway serve``, the SDK-like users of several teams, and their judgement of every
answer (200 where expected, the exact refusal status and code where a request must be
refused). Any unexpected answer fails the run, so this is also an end-to-end check that
the gateway treats mixed traffic the way the load tests assume.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
LOADTESTS = ROOT / "loadtests"


def _upstream(*args: str) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(LOADTESTS / "fast_upstream.py"), "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def paced_upstream() -> Iterator[str]:
    yield from _upstream("--chunks", "6", "--chunk-interval-ms", "40", "--latency-ms", "30")


@pytest.fixture
def failing_upstream() -> Iterator[str]:
    yield from _upstream("--fail-rate", "1")


def test_paced_stream_spaces_its_events(paced_upstream: str) -> None:
    client = openai.OpenAI(base_url=paced_upstream, api_key="x", max_retries=0)
    start = time.perf_counter()
    arrivals, text = [], ""
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        arrivals.append(time.perf_counter() - start)
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
    assert text == "lorem " * 4
    assert len(arrivals) == 7  # 6 events with choices + the usage chunk
    # First event after the latency, then one event every 40 ms: the 6 gaps span 240 ms
    # (a busy machine may deliver some late and batched; unpaced, they span under 1 ms).
    assert arrivals[0] >= 0.03
    assert arrivals[-1] - arrivals[0] >= 0.1


def test_fail_rate_answers_openai_errors(failing_upstream: str) -> None:
    client = openai.OpenAI(base_url=failing_upstream, api_key="x", max_retries=0)
    with pytest.raises(openai.InternalServerError) as exc:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert exc.value.status_code == 500


def test_locust_mix_meets_every_expectation(tmp_path: Path) -> None:
    """A few seconds of the full mix: no unexpected status, streams end with [DONE], and
    the main kinds of request (refusals and TTFT included) show up in locust's stats."""
    run = subprocess.run(
        [
            sys.executable,
            str(LOADTESTS / "run_locust.py"),
            "--users",
            "6",
            "--duration",
            "4",
            "--latency-ms",
            "5",
            "--chunk-interval-ms",
            "1",
            "--locust-args",
            "--exclude-tags guardrail",
            "--log-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    output = run.stdout + run.stderr
    log = (tmp_path / "locust.log").read_text() if (tmp_path / "locust.log").exists() else ""
    assert run.returncode == 0, output + log
    rows = {
        tuple(cells[1:3])
        for line in run.stdout.splitlines()
        if line.startswith("| ") and (cells := [c.strip() for c in line.split("|")])
    }
    for kind in ("chat", "chat stream", "embeddings"):
        assert ("POST", kind) in rows, output
    assert ("TTFT", "chat stream") in rows, output
    # Refusals are a few percent of the mix: some kind of them shows up in every run.
    assert any(name.startswith("refuse: ") for _, name in rows), output
    assert "failures 0" in output, output

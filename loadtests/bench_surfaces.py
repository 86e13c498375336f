"""CPU per request of the client surfaces, side by side in one run: the same upstream
answer asked for as chat completions, through /v1/responses and through /v1/messages
(each translated onto the chat pipeline), streamed and not. The upstream is an
``openai-compatible`` provider, so both surfaces are translated: ``kind: openai`` would
send Responses natively to ``/v1/responses``, which ``fast_upstream`` does not serve.

One gateway worker (plain config: one key, one model) in front of ``fast_upstream``;
each mode gets a closed loop of ``--concurrency`` connections for ``--duration``
seconds, the modes interleaved ``--rounds`` times; the gateway process's CPU time over
each run divided by the requests it answered is the figure (median over rounds).

Run: ``python loadtests/bench_surfaces.py [--duration 4] [--rounds 3] [--concurrency 8]``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import Target, run_closed_python

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-bench-surfaces-0123456789"
PROMPT = "Say something about the weather in Paris today."
BODIES = {
    "chat": ("/v1/chat/completions", {"messages": [{"role": "user", "content": PROMPT}]}),
    "responses": ("/v1/responses", {"input": PROMPT, "store": False}),
    "messages": (
        "/v1/messages",
        {"max_tokens": 64, "messages": [{"role": "user", "content": PROMPT}]},
    ),
}


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    up_port, gw_port = _port(), _port()
    tmp = Path(tempfile.mkdtemp(prefix="bench-surfaces-"))
    config = tmp / "gateway.yaml"
    config.write_text(
        f"""
providers:
  up:
    kind: openai-compatible
    base_url: "http://127.0.0.1:{up_port}/v1"
    api_key: "x"
    health: null
models:
  m: {{targets: [{{provider: up, model: m}}]}}
teams: {{t: {{}}}}
keys: [{{team: t, key: "{KEY}"}}]
"""
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    upstream = subprocess.Popen(
        [sys.executable, str(ROOT / "loadtests/fast_upstream.py"), "--port", str(up_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    gateway = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--config", str(config), "--port",
         str(gw_port)],
        stdout=(tmp / "gateway.log").open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp,
    )  # fmt: skip
    results: dict[str, list[float]] = {}
    try:
        _wait(f"http://127.0.0.1:{gw_port}/health/live")
        proc = psutil.Process(gateway.pid)
        headers = (("authorization", f"Bearer {KEY}"),)
        modes = [(name, stream) for name in BODIES for stream in (False, True)]
        for _ in range(args.rounds):
            for name, stream in modes:
                path, body = BODIES[name]
                payload = json.dumps({"model": "m", **body, "stream": stream}).encode()
                target = Target("127.0.0.1", gw_port, path, headers)
                run_closed_python(target, payload, args.concurrency, 0.5)  # warm-up
                before = sum(proc.cpu_times()[:2])
                run = run_closed_python(target, payload, args.concurrency, args.duration)
                used = sum(proc.cpu_times()[:2]) - before
                ok = run.requests - run.non_2xx
                if run.failed:
                    print(f"{name} stream={stream}: {run.failed} failed", file=sys.stderr)
                key = f"{name}{' stream' if stream else ''}"
                results.setdefault(key, []).append(used * 1000 / max(ok, 1))
    finally:
        gateway.terminate()
        upstream.terminate()
        gateway.wait(20)
        upstream.wait(20)
    load = os.getloadavg()
    print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; c={args.concurrency}, "
        f"{args.duration}s x {args.rounds} rounds, gateway CPU-ms per request (median)"
    )
    base = {
        False: statistics.median(results["chat"]),
        True: statistics.median(results["chat stream"]),
    }
    print(f"{'mode':<20}{'CPU-ms/req':>12}{'vs chat':>10}")
    for key, values in results.items():
        value = statistics.median(values)
        ratio = value / base["stream" in key]
        print(f"{key:<20}{value:>12.3f}{ratio:>10.2f}")
    if args.json:
        args.json.write_text(json.dumps({"load": load, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

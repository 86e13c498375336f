"""A bounded soak: the locust traffic mix against the fast upstream for ``--duration``
seconds, with the gateway's resident memory, open file descriptors and threads sampled
all along. Judged, not just printed:

- RSS after warm-up has no growth trend: the least-squares slope (MB per minute) of the
  samples after ``--warmup`` must stay under ``--max-slope-mb-min``;
- file descriptors and threads end where they were after warm-up (± a few: keep-alive
  connections come and go), and nothing is in flight once the load stops
  (``gateway_requests_in_flight`` 0) — no descriptor, thread or request leak;
- p99 is stable: locust's 10-second-window p99 in the last minute is within
  ``--max-p99-ratio`` of the first minute after warm-up;
- locust saw no failed request (every refusal was the expected one).

Run (about ``duration`` + 30 s; keep the machine otherwise quiet or ``nice`` it):
``python loadtests/soak.py --duration 600 --users 8 --wait-max-s 0.2``.
Prints a summary and writes ``soak.json`` (samples and numbers) to ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from bench_overhead import HOST, ROOT, ProcTree, free_port, gateway_command, log, started
from traffic import gateway_config

HERE = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=600.0, help="seconds of load")
    p.add_argument("--warmup", type=float, default=60.0, help="seconds left out of the trend")
    p.add_argument("--users", type=int, default=8, help="concurrent locust users")
    p.add_argument("--wait-max-s", type=float, default=0.2, help="locust wait between tasks")
    p.add_argument("--sample-s", type=float, default=5.0, help="seconds between samples")
    p.add_argument("--max-slope-mb-min", type=float, default=0.5)
    p.add_argument("--max-p99-ratio", type=float, default=2.0)
    p.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "soak")
    return p.parse_args(argv)


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return 0


def in_flight(url: str) -> float:
    text = httpx.get(url + "/metrics", timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("gateway_requests_in_flight")
    )


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value), per minute."""
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return 60 * sum((x - mx) * (y - my) for x, y in points) / var if var else 0.0


def window_p99(history: Path, start: float, end: float) -> float:
    """Median of locust's rolling 10 s p99 (all requests) between two unix times."""
    values = []
    with history.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["Name"] != "Aggregated" or row["99%"] in ("N/A", ""):
                continue
            if start <= float(row["Timestamp"]) <= end:
                values.append(float(row["99%"]))
    return statistics.median(values) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    samples: list[dict[str, float]] = []
    with contextlib.ExitStack() as stack:
        up_port, gw_port = free_port(), free_port()
        cmd = [sys.executable, str(HERE / "fast_upstream.py"), "--port", str(up_port)]
        cmd += ["--latency-ms", "20", "--chunks", "20", "--chunk-interval-ms", "2"]
        stack.enter_context(
            started(cmd, args.out / "upstream.log", f"http://{HOST}:{up_port}/v1/models", 30)
        )
        config: dict[str, Any] = gateway_config(f"http://{HOST}:{up_port}/v1")
        config.setdefault("state", {})["path"] = str(args.out / "state.db")
        (args.out / "gateway.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
        cmd = [*gateway_command(None), "serve", "--config", str(args.out / "gateway.yaml")]
        cmd += ["--host", HOST, "--port", str(gw_port), "--workers", "1"]
        url = f"http://{HOST}:{gw_port}"
        pid = stack.enter_context(started(cmd, args.out / "gateway.log", url + "/health/ready", 60))
        tree = ProcTree(pid)
        prefix = args.out / "locust"
        locust = [sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py")]
        locust += ["--headless", "--host", url, "--users", str(args.users)]
        locust += ["--spawn-rate", str(args.users), "--run-time", f"{args.duration:g}s"]
        locust += ["--stop-timeout", "10", "--csv", str(prefix), "--csv-full-history"]
        locust += ["--only-summary", "--loglevel", "WARNING", "--exclude-tags", "guardrail"]
        env = {**os.environ, "PYTHONPATH": str(HERE), "LOCUST_WAIT_MAX_S": str(args.wait_max_s)}
        log(f"soak: {args.users} users for {args.duration:g} s against {url} (pid {pid})")
        t0 = time.time()
        run = subprocess.Popen(
            locust, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env
        )
        output: list[str] = []
        reader = threading.Thread(target=lambda: output.extend(run.communicate()), daemon=True)
        reader.start()
        cpu0 = tree.cpu_s()
        while run.poll() is None:
            samples.append(
                {
                    "t": time.time() - t0,
                    "rss_mb": tree.rss_mb(),
                    "fds": fds(pid),
                    "threads": threads(pid),
                    "cpu_s": tree.cpu_s() - cpu0,
                }
            )
            time.sleep(args.sample_s)
        reader.join(30)
        t_end = time.time()
        time.sleep(2)  # let the last streams settle
        final = {"fds": fds(pid), "threads": threads(pid), "in_flight": in_flight(url)}
    (args.out / "locust.log").write_text("".join(output))
    steady = [s for s in samples if s["t"] >= args.warmup]
    slope = slope_per_minute([(s["t"], s["rss_mb"]) for s in steady])
    history = Path(f"{prefix}_stats_history.csv")
    first_p99 = window_p99(history, t0 + args.warmup, t0 + args.warmup + 60)
    last_p99 = window_p99(history, t_end - 60, t_end)
    with open(f"{prefix}_stats.csv", newline="") as f:
        total = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    requests, failures = int(total["Request Count"]), int(total["Failure Count"])
    base = steady[0] if steady else samples[0]
    result = {
        "duration_s": args.duration,
        "users": args.users,
        "requests": requests,
        "failures": failures,
        "req_per_s": requests / args.duration,
        "rss_mb_after_warmup": base["rss_mb"],
        "rss_mb_end": samples[-1]["rss_mb"],
        "rss_slope_mb_per_min": slope,
        "fds_after_warmup": base["fds"],
        "fds_end": final["fds"],
        "threads_after_warmup": base["threads"],
        "threads_end": final["threads"],
        "in_flight_end": final["in_flight"],
        "p99_ms_first_minute": first_p99,
        "p99_ms_last_minute": last_p99,
        "p50_ms": float(total["50%"]),
        "p99_ms": float(total["99%"]),
        "cpu_ms_per_request": samples[-1]["cpu_s"] * 1000 / max(requests, 1),
        "samples": samples,
    }
    (args.out / "soak.json").write_text(json.dumps(result, indent=1))
    problems = []
    if slope > args.max_slope_mb_min:
        problems.append(f"RSS grows {slope:.3f} MB/min after warm-up")
    if final["fds"] > base["fds"] + 10:
        problems.append(f"file descriptors {base['fds']} -> {final['fds']}")
    if final["threads"] > base["threads"] + 2:
        problems.append(f"threads {base['threads']} -> {final['threads']}")
    if final["in_flight"]:
        problems.append(f"{final['in_flight']} requests still in flight")
    if last_p99 > args.max_p99_ratio * first_p99:
        problems.append(f"p99 {first_p99:.0f} ms -> {last_p99:.0f} ms")
    if failures:
        problems.append(f"{failures} failed requests")
    print(
        f"soak {args.duration:g} s, {args.users} users: {requests} requests "
        f"({requests / args.duration:.1f}/s), {failures} failures; "
        f"RSS {base['rss_mb']:.1f} -> {samples[-1]['rss_mb']:.1f} MB, slope after "
        f"{args.warmup:g} s warm-up {slope:+.3f} MB/min; fds {base['fds']} -> {final['fds']}; "
        f"threads {base['threads']} -> {final['threads']}; in flight at end "
        f"{final['in_flight']:g}; p99 {first_p99:.0f} ms (first minute) -> {last_p99:.0f} ms "
        f"(last minute); overall p50 {result['p50_ms']:.0f} / p99 {result['p99_ms']:.0f} ms; "
        f"{result['cpu_ms_per_request']:.2f} CPU-ms per request"
    )
    for problem in problems:
        print("FAIL:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

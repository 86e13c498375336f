"""Run the locust traffic mix against a real gateway and a fast upstream, and summarise it.

Starts ``fast_upstream.py`` (with ``--latency-ms`` before the first token and
``--chunk-interval-ms`` between stream events, so time to first token means something),
``gateway serve --workers N`` with the teams and keys of ``traffic.py`` (plus any
``--extra-config`` sections: cache, guardrails, ...), then ``locust --headless`` for
``--duration`` seconds. Prints a table per request kind (requests/s, failures, p50/p99)
and the gateway's CPU-ms per request, read from /proc like ``bench_overhead.py``.

Run: ``python loadtests/run_locust.py --workers 1 --users 40 --duration 20``; repeat with
``--workers 2`` to compare. See loadtests/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from bench_overhead import HOST, ROOT, ProcTree, free_port, gateway_command, log, started
from traffic import gateway_config

HERE = Path(__file__).resolve().parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=1, help="gateway serve --workers")
    p.add_argument("--users", type=int, default=40, help="concurrent locust users")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    p.add_argument("--latency-ms", type=float, default=20.0, help="upstream time to first token")
    p.add_argument("--chunk-interval-ms", type=float, default=2.0, help="between stream events")
    p.add_argument("--chunks", type=int, default=20)
    p.add_argument("--fail-rate", type=float, default=0.0, help="upstream 500s (SDK retries)")
    p.add_argument("--extra-config", type=Path, help="YAML sections merged into the config")
    p.add_argument("--gateway-cmd", help="command before 'serve ...' (default: python -c ...)")
    p.add_argument("--locust-args", default="", help="more locust arguments, e.g. '--tags chat'")
    p.add_argument("--log-dir", type=Path, help="keep config, CSVs and logs here")
    return p.parse_args(argv)


def read_stats(prefix: Path) -> list[dict[str, str]]:
    with open(f"{prefix}_stats.csv", newline="") as f:
        return list(csv.DictReader(f))


def table(rows: list[dict[str, str]], duration_s: float) -> str:
    head = ["type", "name", "requests", "failures", "req/s", "p50 ms", "p99 ms", "max ms"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        count = int(r["Request Count"])
        cells = [
            r["Type"] or "",
            r["Name"],
            str(count),
            r["Failure Count"],
            f"{count / duration_s:,.1f}",
            r["50%"],
            r["99%"],
            f"{float(r['Max Response Time']):,.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = (
        contextlib.nullcontext(str(args.log_dir))
        if args.log_dir is not None
        else tempfile.TemporaryDirectory(prefix="locust-run-")
    )
    if args.log_dir is not None:
        args.log_dir.mkdir(parents=True, exist_ok=True)
    with workdir as tmp_dir, contextlib.ExitStack() as stack:
        tmp = Path(tmp_dir)
        up_port, gw_port = free_port(), free_port()
        cmd = [sys.executable, str(HERE / "fast_upstream.py"), "--port", str(up_port)]
        cmd += ["--latency-ms", str(args.latency_ms), "--chunks", str(args.chunks)]
        cmd += ["--chunk-interval-ms", str(args.chunk_interval_ms)]
        cmd += ["--fail-rate", str(args.fail_rate)]
        stack.enter_context(
            started(cmd, tmp / "upstream.log", f"http://{HOST}:{up_port}/v1/models", 30)
        )
        config: dict[str, Any] = gateway_config(f"http://{HOST}:{up_port}/v1")
        if args.extra_config is not None:
            config.update(yaml.safe_load(args.extra_config.read_text()) or {})
        (tmp / "gateway.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
        cmd = [*gateway_command(args.gateway_cmd), "serve", "--config", str(tmp / "gateway.yaml")]
        cmd += ["--host", HOST, "--port", str(gw_port), "--workers", str(args.workers)]
        ready = f"http://{HOST}:{gw_port}/health/ready"
        pid = stack.enter_context(started(cmd, tmp / "gateway.log", ready, 60))
        tree = ProcTree(pid)
        time.sleep(1.0)
        prefix = tmp / "locust"
        locust = [sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py")]
        locust += ["--headless", "--host", f"http://{HOST}:{gw_port}"]
        locust += ["--users", str(args.users), "--spawn-rate", str(args.users)]
        locust += ["--run-time", f"{args.duration:g}s", "--stop-timeout", "10"]
        locust += ["--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"]
        extra = args.locust_args.split()
        if args.extra_config is None and not any("tags" in a for a in extra):
            extra += ["--exclude-tags", "guardrail"]  # nothing blocks them without a policy
        locust += extra
        log(f"gateway: {args.workers} worker(s); locust: {args.users} users, {args.duration:g}s")
        cpu0, t0 = tree.cpu_s(), time.monotonic()
        run = subprocess.run(
            locust,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=args.duration + 120,
            env={**os.environ, "PYTHONPATH": str(HERE)},
        )
        elapsed = time.monotonic() - t0
        cpu_s = tree.cpu_s() - cpu0
        (tmp / "locust.log").write_text(run.stdout + run.stderr)
        summary = [
            ln for ln in run.stderr.splitlines() if ln.startswith(("http ", "x-gateway", "refused"))
        ]
        if not Path(f"{prefix}_stats.csv").exists():
            log(run.stdout[-3000:] + run.stderr[-3000:])
            return 1
        rows = read_stats(prefix)
    # The Aggregated row mixes in the TTFT samples; the locust file prints HTTP-only totals.
    http = [r for r in rows if r["Type"] not in ("TTFT", "")]
    answered = sum(int(r["Request Count"]) for r in http)
    print(table([r for r in rows if r["Name"] != "Aggregated"], args.duration))
    print()
    print(
        f"gateway workers: {args.workers}; locust users: {args.users}; {args.duration:g} s; "
        f"gateway CPU {cpu_s:.1f} s over {elapsed:.1f} s = "
        f"{cpu_s * 1000 / max(answered, 1):.2f} CPU-ms per HTTP request"
    )
    for line in summary:
        print(line)
    return run.returncode  # locust: 1 when any request failed


if __name__ == "__main__":
    sys.exit(main())

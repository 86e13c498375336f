"""Measure what one gateway worker adds over calling a fast upstream directly.

One run starts ``fast_upstream.py`` and ``gateway serve --workers 1``, each pinned to
its own core with ``taskset`` when there are two, then for every scenario measures the
upstream directly and through the gateway back to back, with the same load generator,
body, warm-up and core, so machine noise hits both sides alike.

Load generator (see loadgen.py): ``wrk`` (one C thread, pinned to the upstream's core,
so the gateway's core is its own) for closed-loop runs; a lean in-process uvloop +
raw-socket client for paced (open-loop) runs, which wrk cannot do, and for closed
loops when wrk is missing (``--client python``).

Gateway cost comes from /proc: CPU-ms per request is the growth of utime+stime of the
gateway's process tree over a measured run divided by the requests it answered (the
steadiest figure on a shared machine); RSS is VmRSS of the tree, sampled every 100 ms.

Run: ``python loadtests/bench_overhead.py [--duration 10] [--json out.json]``, or
``--direct-only`` to exercise the harness without a gateway. See loadtests/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from loadgen import RunResult, Target, median_result, run_closed_python, run_paced, run_wrk

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
KEY = "sk-bench-key"
MODEL = "gpt-4o-mini"
CLK_TCK = os.sysconf("SC_CLK_TCK")
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Say hello in one short sentence."},
]
BODIES: dict[str, dict[str, Any]] = {
    "chat": {"model": MODEL, "messages": MESSAGES, "max_tokens": 64},
    "stream": {
        "model": MODEL,
        "messages": MESSAGES,
        "max_tokens": 64,
        "stream": True,
        "stream_options": {"include_usage": True},
    },
}


Headers = tuple[tuple[str, str], ...]


def target(port: int, extra: Headers = ()) -> Target:
    """The bench's chat request to ``port``: bearer key, then any ``extra`` headers."""
    auth = (("Authorization", f"Bearer {KEY}"),)
    return Target(HOST, port, "/v1/chat/completions", auth + extra)


# --- /proc: CPU time and RSS of a process tree ---------------------------------------


class ProcTree:
    """A process and its descendants; ``refresh`` finds them again (workers may fork)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.pids = [pid]
        self.refresh()

    def refresh(self) -> None:
        children: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    stat = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
                    children.setdefault(int(stat[1]), []).append(int(entry.name))
        found, todo = [], [self.pid]
        while todo:
            found.append(pid := todo.pop())
            todo.extend(children.get(pid, []))
        self.pids = found

    def cpu_s(self) -> float:
        """utime + stime of the tree, in seconds (resolution: one clock tick)."""
        self.refresh()
        ticks = 0
        for pid in self.pids:
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(stat[11]) + int(stat[12])
        return ticks / CLK_TCK

    def rss_mb(self) -> float:
        kb = 0
        for pid in self.pids:
            with contextlib.suppress(OSError, ValueError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        kb += int(line.split()[1])
        return kb / 1024


class RssSampler(threading.Thread):
    """Samples a tree's RSS every 100 ms; ``take_peak`` returns the max so far and resets it.

    Reads only the known pids (cheap: the paced client shares this process's GIL);
    the tree is re-scanned at run boundaries by ``ProcTree.cpu_s``.
    """

    def __init__(self, tree: ProcTree) -> None:
        super().__init__(daemon=True)
        self.tree = tree
        self.peak = 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.1):
            self.peak = max(self.peak, self.tree.rss_mb())

    def take_peak(self) -> float:
        peak, self.peak = max(self.peak, self.tree.rss_mb()), 0.0
        return peak


# --- processes -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def started(cmd: list[str], log: Path, ready_url: str, timeout_s: float) -> Iterator[int]:
    """Start ``cmd``, wait until ``ready_url`` answers 200, stop it on exit; yields its pid."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited ({proc.returncode}):\n{_tail(log)}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(ready_url, timeout=1.0).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{ready_url} not ready after {timeout_s}s:\n{_tail(log)}")
            time.sleep(0.2)
        yield proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def gateway_config(upstream_port: int, extra: Path | None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "providers": {
            "fast": {
                "kind": "openai",
                "base_url": f"http://{HOST}:{upstream_port}/v1",
                "api_key": "sk-upstream",
            }
        },
        "models": {MODEL: {"targets": [{"provider": "fast", "model": MODEL}]}},
        "teams": {"bench": {"models": ["*"]}},
        "keys": [{"team": "bench", "key": KEY}],
    }
    if extra is not None:
        config.update(yaml.safe_load(extra.read_text()) or {})
    return config


def probe(target: Target, bodies: dict[str, Path], label: str) -> dict[str, str]:
    """One request per mode; returns the modes that did not answer 200 (a stream: with
    ``data: [DONE]``), each with what came back. Shows the gateway's own headers."""
    failed = {}
    for mode, path in bodies.items():
        headers = {"content-type": "application/json", **dict(target.headers)}
        try:
            r = httpx.post(target.url, content=path.read_bytes(), headers=headers, timeout=10)
        except httpx.HTTPError as exc:
            failed[mode] = f"{type(exc).__name__}: {exc}"
            continue
        if r.status_code != 200 or (mode == "stream" and b"data: [DONE]" not in r.content):
            failed[mode] = f"HTTP {r.status_code}: {r.text[:500]}"
            continue
        shown = {k: v for k, v in r.headers.items() if k.startswith("x-gateway")}
        log(f"preflight {label} {mode}: 200 {shown or ''}")
    return failed


def preflight(target: Target, bodies: dict[str, Path], label: str) -> None:
    """Fail fast unless every mode answers 200 (see ``probe``)."""
    failed = probe(target, bodies, label)
    if failed:
        raise RuntimeError("; ".join(f"{label} {mode}: {why}" for mode, why in failed.items()))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- the benchmark -------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    modes: list[str]
    concurrency: list[int]
    rate: float
    duration_s: float
    warmup_s: float
    rounds: int
    client: str  # "wrk" | "python"
    pin_client: list[str]

    @property
    def loads(self) -> list[str]:
        """Scenario loads: c=N per closed-loop concurrency, then R/s for the paced run."""
        return [f"c={c}" for c in self.concurrency] + ([f"{self.rate:g}/s"] if self.rate else [])

    def run(
        self, port: int, body_path: Path, load: str, duration_s: float, headers: Headers = ()
    ) -> RunResult:
        to = target(port, headers)
        if load.endswith("/s"):
            return run_paced(to, body_path.read_bytes(), float(load[:-2]), duration_s)
        conc = int(load.removeprefix("c="))
        if self.client == "wrk":
            return run_wrk(to, body_path, conc, duration_s, self.pin_client)
        return run_closed_python(to, body_path.read_bytes(), conc, duration_s)

    def measure(self, port: int, body_path: Path, load: str, headers: Headers = ()) -> RunResult:
        if self.warmup_s > 0:
            self.run(port, body_path, load, self.warmup_s, headers)
        return self.run(port, body_path, load, self.duration_s, headers)


@dataclass
class Row:
    mode: str
    load: str  # "c=16" (closed loop) or "200/s" (paced)
    direct: RunResult
    gateway: RunResult | None = None
    gateway_cpu_ms_per_req: float | None = None
    gateway_rss_peak_mb: float | None = None
    rounds: dict[str, list[Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Gateway:
    """A proxy under test (this gateway or a peer): where it listens, what it costs, and
    the ``headers`` its requests carry besides the bearer key."""

    port: int
    tree: ProcTree
    sampler: RssSampler
    headers: Headers = ()

    @property
    def target(self) -> Target:
        return target(self.port, self.headers)

    def measure(self, plan: Plan, body_path: Path, load: str) -> tuple[RunResult, float, float]:
        """One warmed-up run: result, CPU-ms per answered request, peak RSS MB."""
        if plan.warmup_s > 0:
            plan.run(self.port, body_path, load, plan.warmup_s, self.headers)
        self.sampler.take_peak()
        cpu0 = self.tree.cpu_s()
        res = plan.run(self.port, body_path, load, plan.duration_s, self.headers)
        cpu_ms = (self.tree.cpu_s() - cpu0) * 1000 / max(res.requests, 1)
        return res, cpu_ms, self.sampler.take_peak()


def bench(plan: Plan, bodies: dict[str, Path], upstream: int, gw: Gateway | None) -> list[Row]:
    """Per scenario and round: direct, then through the gateway, each warmed up first."""
    rows = []
    for mode in plan.modes:
        for load in plan.loads:
            direct, through, cpu, peaks = [], [], [], []
            for rnd in range(1, plan.rounds + 1):
                log(f"{mode} {load} round {rnd}/{plan.rounds}: direct")
                direct.append(plan.measure(upstream, bodies[mode], load))
                if gw is not None:
                    log(f"{mode} {load} round {rnd}/{plan.rounds}: gateway")
                    res, cpu_ms, peak = gw.measure(plan, bodies[mode], load)
                    through.append(res)
                    cpu.append(cpu_ms)
                    peaks.append(peak)
            row = Row(mode, load, median_result(direct))
            if through:
                row.gateway = median_result(through)
                row.gateway_cpu_ms_per_req = statistics.median(cpu)
                row.gateway_rss_peak_mb = max(peaks)
            if plan.rounds > 1:
                row.rounds = {"direct": direct, "gateway": through, "cpu_ms": cpu}
            rows.append(row)
    return rows


def _f(value: float | None, digits: int = 2) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def table(rows: list[Row]) -> str:
    head = ["mode", "concurrency", "direct rps", "gateway rps", "rps ratio"]
    head += ["direct p50/p99 ms", "gateway p50/p99 ms", "added p50/p99 ms"]
    head += ["gateway CPU-ms/req", "gateway RSS MB (peak)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        d, g = r.direct, r.gateway
        cells = [r.mode, r.load, _f(d.rps, 0)]
        if g is None:
            cells += ["-", "-", f"{_f(d.p50_ms)} / {_f(d.p99_ms)}", "- / -", "- / -"]
        else:
            cells += [_f(g.rps, 0), _f(g.rps / d.rps if d.rps else None, 3)]
            cells.append(f"{_f(d.p50_ms)} / {_f(d.p99_ms)}")
            cells.append(f"{_f(g.p50_ms)} / {_f(g.p99_ms)}")
            cells.append(f"{_f(g.p50_ms - d.p50_ms)} / {_f(g.p99_ms - d.p99_ms)}")
        cells += [_f(r.gateway_cpu_ms_per_req, 3), _f(r.gateway_rss_peak_mb, 1)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def gateway_command(override: str | None) -> list[str]:
    if override:
        return shlex.split(override)
    # The working tree's package, whether or not the console script is installed.
    return [sys.executable, "-c", "import sys; from gateway.cli import main; sys.exit(main())"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measured run")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up before each")
    p.add_argument("--concurrency", default="16,64", help="closed-loop connections, comma list")
    p.add_argument("--rate", type=float, default=200.0, help="paced req/s (0: no paced rows)")
    p.add_argument("--modes", default="chat,stream", help="chat and/or stream")
    p.add_argument("--chunks", type=int, default=20, help="stream chunks from the upstream")
    p.add_argument("--upstream-latency-ms", type=float, default=0.0)
    p.add_argument("--rounds", type=int, default=1, help="alternate direct/gateway N times")
    wrk = shutil.which("wrk")
    p.add_argument("--client", choices=["wrk", "python"], default="wrk" if wrk else "python")
    p.add_argument("--cores", default="0,1", help="upstream+client core, gateway core")
    p.add_argument("--workers", type=int, default=1, help="gateway worker processes")
    p.add_argument(
        "--gateway-cores",
        help="taskset list for the gateway (default: the second of --cores); e.g. 0,1 "
        "to let 2 workers use both cores",
    )
    p.add_argument("--direct-only", action="store_true", help="no gateway: test the harness")
    p.add_argument("--gateway-cmd", help="command before 'serve ...' (default: python -c ...)")
    p.add_argument("--extra-config", type=Path, help="YAML merged into the generated config")
    p.add_argument("--startup-timeout", type=float, default=60.0)
    p.add_argument("--json", type=Path, help="save raw numbers here")
    p.add_argument("--log-dir", type=Path, help="keep config, bodies and server logs here")
    return p.parse_args(argv)


def start_measured(
    cmd: list[str],
    port: int,
    ready_path: str,
    log_path: Path,
    stack: contextlib.ExitStack,
    timeout_s: float,
    headers: Headers = (),
) -> Gateway:
    """Start a proxy listening on ``port`` (stopped when ``stack`` closes) and sample its
    process tree's RSS from now on."""
    ready = f"http://{HOST}:{port}{ready_path}"
    pid = stack.enter_context(started(cmd, log_path, ready, timeout_s))
    tree = ProcTree(pid)
    sampler = RssSampler(tree)
    sampler.start()
    stack.callback(sampler.stopped.set)
    return Gateway(port, tree, sampler, headers)


def start_gateway(
    args: argparse.Namespace, stack: contextlib.ExitStack, tmp: Path, up_port: int, pin: list[str]
) -> Gateway:
    port = free_port()
    config = tmp / "gateway.yaml"
    config.write_text(yaml.safe_dump(gateway_config(up_port, args.extra_config)))
    cmd = [*pin, *gateway_command(args.gateway_cmd), "serve", "--config", str(config)]
    cmd += ["--host", HOST, "--port", str(port), "--workers", str(args.workers)]
    log_path = tmp / "gateway.log"
    return start_measured(cmd, port, "/health/ready", log_path, stack, args.startup_timeout)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cores = args.cores.split(",")
    pinned = bool(shutil.which("taskset")) and (os.cpu_count() or 1) >= 2 and len(cores) == 2
    pin_up, pin_gw = [["taskset", "-c", c] for c in cores] if pinned else [[], []]
    if pinned and args.gateway_cores:
        pin_gw = ["taskset", "-c", args.gateway_cores]
    if pinned:  # the paced client and this process share the upstream's core
        os.sched_setaffinity(0, {int(cores[0])})
    plan = Plan(
        modes=args.modes.split(","),
        concurrency=[int(c) for c in args.concurrency.split(",") if c],
        rate=args.rate,
        duration_s=args.duration,
        warmup_s=args.warmup,
        rounds=max(1, args.rounds),
        client=args.client,
        pin_client=pin_up,
    )
    meta: dict[str, Any] = {"plan": asdict(plan), "pinned": pinned, "cpus": os.cpu_count()}
    meta["started"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    if args.log_dir is not None:
        args.log_dir.mkdir(parents=True, exist_ok=True)
    workdir = (
        contextlib.nullcontext(str(args.log_dir))
        if args.log_dir is not None
        else tempfile.TemporaryDirectory(prefix="bench-overhead-")
    )
    with workdir as tmp_dir:
        tmp = Path(tmp_dir)
        bodies = {m: tmp / f"{m}.json" for m in plan.modes}
        for mode, path in bodies.items():
            path.write_text(json.dumps(BODIES[mode]))
        with contextlib.ExitStack() as stack:
            up_port = free_port()
            cmd = [*pin_up, sys.executable, str(ROOT / "loadtests" / "fast_upstream.py")]
            cmd += ["--port", str(up_port), "--chunks", str(args.chunks)]
            cmd += ["--latency-ms", str(args.upstream_latency_ms)]
            ready = f"http://{HOST}:{up_port}/v1/models"
            stack.enter_context(started(cmd, tmp / "upstream.log", ready, 30))
            preflight(target(up_port), bodies, "direct")
            gw = None
            if not args.direct_only:
                try:
                    gw = start_gateway(args, stack, tmp, up_port, pin_gw)
                except RuntimeError as exc:
                    log(f"gateway failed to start: {exc}")
                    return 1
                time.sleep(1.0)
                meta["gateway_rss_idle_start_mb"] = gw.tree.rss_mb()
                preflight(target(gw.port), bodies, "gateway")
            rows = bench(plan, bodies, up_port, gw)
            if gw is not None:
                time.sleep(1.0)
                meta["gateway_rss_idle_end_mb"] = gw.tree.rss_mb()
    report(rows, meta, args.json)
    return 0


def report(rows: list[Row], meta: dict[str, Any], json_path: Path | None) -> None:
    print(table(rows))
    print()
    if "gateway_rss_idle_start_mb" in meta:
        print(
            f"gateway RSS at idle: {_f(meta['gateway_rss_idle_start_mb'], 1)} MB after start-up,"
            f" {_f(meta.get('gateway_rss_idle_end_mb'), 1)} MB after the load"
        )
    for r in rows:
        for side, res in (("direct", r.direct), ("gateway", r.gateway)):
            if res is not None and res.failed:
                print(
                    f"WARNING {r.mode} {r.load} {side}: {res.non_2xx} non-2xx of {res.requests}"
                    f" answers, {res.errors} unanswered"
                )
    plan = meta["plan"]
    print(
        f"client: {plan['client']}; pinned: {meta['pinned']}; {plan['duration_s']:g} s runs after"
        f" {plan['warmup_s']:g} s warm-up; rounds: {plan['rounds']} (median)"
    )
    if json_path is not None:
        out = [
            {**asdict(r), "direct_rps": r.direct.rps, "gateway_rps": r.gateway and r.gateway.rps}
            for r in rows
        ]
        json_path.write_text(json.dumps({"meta": meta, "rows": out}, indent=2))


if __name__ == "__main__":
    sys.exit(main())

"""Direct upstream vs this gateway (plain and every feature on) vs LiteLLM vs Portkey.

Built on bench_overhead.py (same upstream, load generators, /proc accounting): one run
measures the same workload on every side, with identical placement. The upstream
(``fast_upstream.py``), the load generator and this script share the first core of
``--cores``; every proxy runs one process (one worker) pinned to the second; every side
gets the same request bytes. Sides:

- ``direct``: the upstream itself, the baseline for added latency;
- ``gateway``: this gateway with the generated config (one provider, one model, one key);
- ``gateway-full``: the same plus ``--full-config`` (default ``full_pipeline.yaml``:
  limits, budget, guardrails, cache, labels, accounting, metrics, access log, tracing);
- ``litellm`` (``--litellm``): LiteLLM's proxy, one OpenAI-wire deployment pointing at the
  upstream, the bench key as its master key;
- ``portkey`` (``--portkey``): Portkey's open-source gateway on Node, told where the
  upstream is by ``x-portkey-provider`` and ``x-portkey-custom-host`` headers. It has no
  auth of its own: the bearer key goes through to the upstream as the provider key.

At start-up each proxy is also sent a wrong key; its answer (401, or 200 for Portkey) is
printed with the notes.

The peers live outside the project's environment:

    python -m venv /tmp/litellm-venv
    /tmp/litellm-venv/bin/pip install 'litellm[proxy]==1.108.7' prisma
    npm install --prefix /tmp/portkey @portkey-ai/gateway@1.15.2
    python loadtests/bench_compare.py --litellm /tmp/litellm-venv/bin/litellm \\
        --portkey /tmp/portkey

``LITELLM_LOCAL_MODEL_COST_MAP=True`` keeps LiteLLM from fetching its price map at
start-up; ``prisma`` is installed so that it answers auth errors properly. Portkey runs
as ``node <its bin script> --port=N --headless`` (no log console).

Scenario by scenario (closed loops first, then paced rates from low to high, so the rows
that overload a proxy come last), the sides take turns in rounds, the order reversed
every other round (direct A B C D, then D C B A direct), and before each run the script
waits until every proxy is idle. A side whose preflight fails for a mode (Portkey's
streams on Node 20 answer HTTP 500) is reported as failing there, not measured.

The script refuses to start when the 1-minute load average is above ``--max-load``
(1.5) unless ``--force``: on a busy machine the numbers mean little.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from bench_overhead import (
    BODIES,
    HOST,
    KEY,
    MODEL,
    ROOT,
    Gateway,
    Headers,
    Plan,
    ProcTree,
    free_port,
    gateway_command,
    gateway_config,
    log,
    preflight,
    probe,
    start_measured,
    started,
    target,
)
from loadgen import RunResult, Target, median_result

DIRECT = "direct"
BASE = "gateway"  # ratios are against this side
SIDES = (BASE, "gateway-full", "litellm", "portkey")
NOTES = {
    BASE: "checks the bearer key; the generated config",
    "gateway-full": "checks the bearer key; plus {full}",
    "litellm": "checks the bearer key (its master key); LiteLLM {version}",
    "portkey": "NO auth of its own (open-source build): the bearer key goes through to the "
    "upstream as the provider key; {version}",
}


@dataclass
class Measured:
    result: RunResult
    cpu_ms_per_req: float | None = None  # None: direct (the upstream is not measured)
    rss_peak_mb: float | None = None


@dataclass
class Row:
    mode: str
    load: str
    sides: dict[str, Measured] = field(default_factory=dict)


@dataclass
class Peers:
    """The proxies that answered, and what failed: side -> mode ("*": all) -> why."""

    running: dict[str, Gateway] = field(default_factory=dict)
    failed: dict[str, dict[str, str]] = field(default_factory=dict)
    rss_idle_mb: dict[str, float] = field(default_factory=dict)
    auth: dict[str, str] = field(default_factory=dict)  # the answer to a wrong key
    notes: dict[str, str] = field(default_factory=dict)

    def fails(self, side: str, mode: str) -> str | None:
        why = self.failed.get(side, {})
        return why.get("*") or why.get(mode)


# --- the peers' configs and commands -----------------------------------------------


def litellm_config(upstream_port: int) -> dict[str, Any]:
    return {
        "model_list": [
            {
                "model_name": MODEL,
                "litellm_params": {
                    "model": f"openai/{MODEL}",
                    "api_base": f"http://{HOST}:{upstream_port}/v1",
                    "api_key": "sk-upstream",
                },
            }
        ],
        "general_settings": {"master_key": KEY},
        "litellm_settings": {"telemetry": False, "set_verbose": False},
    }


def litellm_version(executable: str) -> str:
    """The version installed next to ``executable`` (its venv's python), or '?'."""
    python = Path(executable).with_name("python")
    code = "import importlib.metadata as m; print(m.version('litellm'))"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=30)
        if out.returncode == 0:
            return out.stdout.strip()
    return "?"


def portkey_script(path: Path) -> tuple[Path, str]:
    """Portkey's start script and version, from the script itself, its package directory
    or an ``npm install --prefix`` directory."""
    if path.is_file():
        pkg = next((d for d in path.parents if (d / "package.json").is_file()), path.parent)
        candidates = [pkg]
    else:
        candidates = [path, path / "node_modules" / "@portkey-ai" / "gateway"]
    for pkg in candidates:
        manifest = pkg / "package.json"
        if not manifest.is_file():
            continue
        meta = json.loads(manifest.read_text())
        if meta.get("name") != "@portkey-ai/gateway":
            continue
        version = f"@portkey-ai/gateway {meta.get('version', '?')}"
        if path.is_file():
            return path, version
        bin_ = meta.get("bin")
        script = next(iter(bin_.values())) if isinstance(bin_, dict) else bin_
        if isinstance(script, str):
            return pkg / script, version
    if path.is_file():
        return path, "@portkey-ai/gateway ?"
    raise SystemExit(f"--portkey {path}: no @portkey-ai/gateway package.json with a bin there")


def node_version() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30)
        return f"Node {out.stdout.strip()}"
    return "Node ?"


def first_error(log_path: Path) -> str:
    """The first error a server logged, from its name to the end of its line."""
    with contextlib.suppress(OSError):
        # The exception itself, e.g. Portkey's "TypeError: immutable", which follows its
        # start-up spinner on the same line.
        found = re.search(r"\b\w*Error\b.*", log_path.read_text(errors="replace"))
        if found is not None:
            return found.group().strip()[:200]
    return ""


# --- starting and measuring ---------------------------------------------------------


def start_peer(
    peers: Peers,
    name: str,
    start: Callable[[], Gateway],
    bodies: dict[str, Path],
    log_path: Path,
) -> None:
    """Start one side; a side that does not start, or a mode it cannot answer, is recorded
    as failing (shown in the table) instead of stopping the run."""
    try:
        side = start()
    except (RuntimeError, OSError) as exc:  # OSError: no such executable
        log(f"{name} failed to start: {exc}")
        lines = str(exc).strip().splitlines() or [""]  # what failed, and the log's last line
        why = lines[0] + (f" {lines[-1].strip()}" if len(lines) > 1 else "")
        peers.failed[name] = {"*": f"did not start: {why}"}
        return
    peers.running[name] = side
    peers.auth[name] = wrong_key_status(side, bodies)
    failed = probe(side.target, bodies, name)
    for mode, why in failed.items():
        error = first_error(log_path)
        failed[mode] = f"{why.splitlines()[0][:120]}" + (f" (log: {error})" if error else "")
        log(f"preflight {name} {mode} FAILED, not measured: {failed[mode]}")
    if failed:
        peers.failed[name] = failed


def wrong_key_status(side: Gateway, bodies: dict[str, Path]) -> str:
    """What the side answers a request with a wrong bearer key (401: it checks keys)."""
    wrong = Target(HOST, side.port, side.target.path, (("Authorization", "Bearer sk-wrong"),))
    headers = {"content-type": "application/json", **dict(wrong.headers + side.headers)}
    body = next(iter(bodies.values())).read_bytes()
    try:
        return (
            f"HTTP {httpx.post(wrong.url, content=body, headers=headers, timeout=10).status_code}"
        )
    except httpx.HTTPError as exc:
        return type(exc).__name__


def wait_idle(trees: list[ProcTree], limit_s: float = 120.0, busy: float = 0.05) -> float:
    """Wait until the proxies together use under ``busy`` of a core: one that fell behind
    (LiteLLM at 200 req/s) keeps working on requests its client gave up on, on the core
    every proxy shares, and that work must not land in the next measurement. Returns the
    seconds waited."""
    start = prev_t = time.monotonic()
    prev = sum(t.cpu_s() for t in trees)
    while trees and time.monotonic() - start < limit_s:
        time.sleep(0.5)
        now, now_t = sum(t.cpu_s() for t in trees), time.monotonic()
        if (now - prev) / (now_t - prev_t) < busy:
            break
        prev, prev_t = now, now_t
    return time.monotonic() - start


def scenarios(
    modes: list[str], concurrency: list[int], rates: dict[str, list[float]]
) -> list[tuple[str, str]]:
    """(mode, load) in running order: closed loops, then paced rates from low to high."""
    closed = [(m, f"c={c}") for c in concurrency for m in modes]
    paced = sorted(((r, m) for m in modes for r in rates.get(m, [])), key=lambda x: x[0])
    return closed + [(m, f"{r:g}/s") for r, m in paced]


def bench(
    plan: Plan,
    order: list[tuple[str, str]],
    bodies: dict[str, Path],
    upstream: int,
    peers: Peers,
) -> list[Row]:
    trees = [side.tree for side in peers.running.values()]
    rows = []
    for mode, load in order:
        names = [DIRECT] + [n for n in peers.running if not peers.fails(n, mode)]
        runs: dict[str, list[tuple[RunResult, float, float]]] = {n: [] for n in names}
        for rnd in range(1, plan.rounds + 1):
            for name in names if rnd % 2 else reversed(names):
                waited = wait_idle(trees)
                log(f"{mode} {load} round {rnd}/{plan.rounds}: {name} (idle in {waited:.1f} s)")
                if name == DIRECT:
                    runs[name].append((plan.measure(upstream, bodies[mode], load), 0.0, 0.0))
                else:
                    runs[name].append(peers.running[name].measure(plan, bodies[mode], load))
        row = Row(mode, load)
        for name, got in runs.items():
            row.sides[name] = Measured(median_result([r for r, _, _ in got]))
            if name != DIRECT:
                row.sides[name].cpu_ms_per_req = statistics.median(c for _, c, _ in got)
                row.sides[name].rss_peak_mb = max(p for _, _, p in got)
        rows.append(row)
    return rows


# --- the report ----------------------------------------------------------------------


def _f(value: float | None, digits: int = 2) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _with_ratio(value: float | None, base: float | None, digits: int) -> str:
    ratio = _ratio(value, base)
    return _f(value, digits) + (f" ({ratio:.2f}x)" if ratio is not None else "")


def _md(head: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(cells) + " |" for cells in body])


def _added(m: Measured, d: Measured) -> str:
    return f"{_f(m.result.p50_ms - d.result.p50_ms)} / {_f(m.result.p99_ms - d.result.p99_ms)}"


def summary(rows: list[Row], names: list[str], peers: Peers) -> str:
    """One line per side: closed-loop req/s and CPU-ms/req, paced added latency, idle RSS;
    ratios against this gateway's plain config."""
    head = ["side"]
    for r in rows:
        if r.load.startswith("c="):
            head += [f"{r.mode} {r.load} req/s", f"{r.mode} {r.load} CPU-ms/req"]
        else:
            head.append(f"{r.mode} {r.load} added p50/p99 ms")
    head.append("RSS idle MB")
    body = []
    for name in [DIRECT, *names]:
        cells = [name]
        for r in rows:
            closed = r.load.startswith("c=")
            m, d = r.sides.get(name), r.sides[DIRECT]
            base = None if name == DIRECT else r.sides.get(BASE)  # no ratio for the upstream
            why = peers.fails(name, r.mode)
            if m is None:
                cells += ["FAIL" if why else "-"] * (2 if closed else 1)
                continue
            mark = " !" if m.result.failed else ""
            if closed:
                cells.append(_with_ratio(m.result.rps, base.result.rps if base else None, 0) + mark)
                cells.append(
                    _with_ratio(m.cpu_ms_per_req, base.cpu_ms_per_req if base else None, 3)
                )
            elif name == DIRECT:
                cells.append(f"(p50/p99 {_f(m.result.p50_ms)} / {_f(m.result.p99_ms)})")
            else:
                cells.append(_added(m, d) + mark)
        idle = peers.rss_idle_mb.get(name)
        cells.append(_with_ratio(idle, peers.rss_idle_mb.get(BASE), 0) if idle else "-")
        body.append(cells)
    return _md(head, body)


def detail(rows: list[Row], names: list[str], peers: Peers) -> str:
    """One line per scenario and side, with absolute latencies and failures."""
    head = ["mode", "load", "side", "req/s", "p50/p99 ms", "added p50/p99 ms"]
    head += ["CPU-ms/req", "RSS peak MB", "non-2xx / unanswered"]
    body = []
    for r in rows:
        d = r.sides[DIRECT]
        for name in [DIRECT, *names]:
            base = None if name == DIRECT else r.sides.get(BASE)
            m = r.sides.get(name)
            if m is None:
                why = peers.fails(name, r.mode)
                body.append([r.mode, r.load, name, "FAIL" if why else "-"] + ["-"] * 5)
                continue
            res = m.result
            body.append(
                [
                    r.mode,
                    r.load,
                    name,
                    _with_ratio(res.rps, base.result.rps if base else None, 0),
                    f"{_f(res.p50_ms)} / {_f(res.p99_ms)}",
                    "-" if name == DIRECT else _added(m, d),
                    _with_ratio(m.cpu_ms_per_req, base.cpu_ms_per_req if base else None, 3),
                    _f(m.rss_peak_mb, 0),
                    f"{res.non_2xx:g} / {res.errors:g}",
                ]
            )
    return _md(head, body)


def loadavg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min; {os.cpu_count()} CPUs)"


# --- main ----------------------------------------------------------------------------


def parse_rates(spec: str, modes: list[str]) -> dict[str, list[float]]:
    """``chat:200,stream:10`` (per mode) or ``10,200`` (every mode)."""
    rates: dict[str, list[float]] = {m: [] for m in modes}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        mode, _, rate = item.rpartition(":")
        for m in [mode] if mode else modes:
            if m in rates:
                rates[m].append(float(rate))
    return rates


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--litellm", help="LiteLLM's `litellm` executable (its own venv)")
    p.add_argument(
        "--portkey",
        type=Path,
        help="Portkey's start script, its package dir, or an `npm install --prefix` dir",
    )
    p.add_argument(
        "--full-config",
        "--extra-config",  # its old name, when it was merged into the one gateway side
        default=str(ROOT / "loadtests" / "full_pipeline.yaml"),
        help="YAML merged into the gateway-full side's config ('' leaves that side out)",
    )
    p.add_argument("--duration", type=float, default=5.0, help="seconds per measured run")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up before each")
    p.add_argument("--concurrency", default="16", help="closed-loop connections, comma list")
    p.add_argument(
        "--rates",
        default="chat:200,stream:10",
        help="paced req/s: 'mode:rate' items, or bare rates for every mode ('' for none)",
    )
    p.add_argument("--modes", default="chat,stream", help="chat and/or stream")
    p.add_argument("--chunks", type=int, default=20, help="stream chunks from the upstream")
    p.add_argument("--rounds", type=int, default=2, help="rounds, order reversed every other")
    wrk = shutil.which("wrk")
    p.add_argument("--client", choices=["wrk", "python"], default="wrk" if wrk else "python")
    p.add_argument("--cores", default="0,1", help="upstream+client core, core of the proxies")
    p.add_argument("--gateway-cmd", help="command before 'serve ...' (default: python -c ...)")
    p.add_argument("--startup-timeout", type=float, default=120.0)
    p.add_argument("--max-load", type=float, default=1.5, help="refuse above this 1-min load")
    p.add_argument("--force", action="store_true", help="run whatever the load average")
    p.add_argument("--json", type=Path, help="save raw numbers here")
    p.add_argument("--log-dir", type=Path, help="keep configs, bodies and server logs here")
    return p.parse_args(argv)


def start_peers(
    args: argparse.Namespace,
    stack: contextlib.ExitStack,
    tmp: Path,
    up_port: int,
    pin: list[str],
    bodies: dict[str, Path],
) -> Peers:
    peers = Peers()

    def launcher(name: str, cmd: list[str], port: int, ready: str, headers: Headers = ()) -> None:
        log_path = tmp / f"{name}.log"
        timeout = args.startup_timeout

        def start() -> Gateway:
            return start_measured([*pin, *cmd], port, ready, log_path, stack, timeout, headers)

        start_peer(peers, name, start, bodies, log_path)

    gateways: dict[str, Path | None] = {BASE: None}
    if args.full_config:
        gateways["gateway-full"] = Path(args.full_config)
    for name, extra in gateways.items():
        port = free_port()
        config = gateway_config(up_port, extra)
        (tmp / name).mkdir(exist_ok=True)  # state and side files, not shared between them
        config["state"] = {"path": str(tmp / name / "state.db")}
        (tmp / f"{name}.yaml").write_text(yaml.safe_dump(config))
        cmd = [*gateway_command(args.gateway_cmd), "serve", "--config", str(tmp / f"{name}.yaml")]
        cmd += ["--host", HOST, "--port", str(port), "--workers", "1"]
        launcher(name, cmd, port, "/health/ready")
        peers.notes[name] = NOTES[name].format(full=extra and extra.name)

    if args.litellm:
        port = free_port()
        (tmp / "litellm.yaml").write_text(yaml.safe_dump(litellm_config(up_port)))
        cmd = [args.litellm, "--config", str(tmp / "litellm.yaml")]
        cmd += ["--host", HOST, "--port", str(port), "--num_workers", "1"]
        os.environ.update(LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_LOG="ERROR")
        launcher("litellm", cmd, port, "/health/liveliness")
        peers.notes["litellm"] = NOTES["litellm"].format(version=litellm_version(args.litellm))

    if args.portkey:
        script, version = portkey_script(args.portkey)
        port = free_port()
        cmd = ["node", str(script), f"--port={port}", "--headless"]
        headers = (
            ("x-portkey-provider", "openai"),
            ("x-portkey-custom-host", f"http://{HOST}:{up_port}/v1"),
        )
        launcher("portkey", cmd, port, "/", headers)
        peers.notes["portkey"] = NOTES["portkey"].format(version=f"{version} on {node_version()}")
    return peers


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_start = loadavg()
    print(f"load average at start: {load_start}", flush=True)
    if os.getloadavg()[0] > args.max_load and not args.force:
        log(
            f"refusing to start: the 1-minute load average ({os.getloadavg()[0]:.2f}) is above"
            f" {args.max_load:g}, so other work on this machine would skew every number."
            " Wait for a quiet machine, or pass --force (the numbers will be noisy)."
        )
        return 2
    cores = args.cores.split(",")
    pinned = bool(shutil.which("taskset")) and (os.cpu_count() or 1) >= 2 and len(cores) == 2
    pin_up, pin_proxy = [["taskset", "-c", c] for c in cores] if pinned else [[], []]
    if pinned:  # the paced client and this process share the upstream's core
        os.sched_setaffinity(0, {int(cores[0])})
    modes = args.modes.split(",")
    rates = parse_rates(args.rates, modes)
    plan = Plan(
        modes=modes,
        concurrency=[int(c) for c in args.concurrency.split(",") if c],
        rate=0.0,
        duration_s=args.duration,
        warmup_s=args.warmup,
        rounds=max(1, args.rounds),
        client=args.client,
        pin_client=pin_up,
    )
    order = scenarios(plan.modes, plan.concurrency, rates)
    meta: dict[str, Any] = {"plan": asdict(plan), "rates": rates, "pinned": pinned}
    meta["started"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    meta["loadavg_start"] = load_start
    if args.log_dir is not None:
        args.log_dir.mkdir(parents=True, exist_ok=True)
    workdir = (
        contextlib.nullcontext(str(args.log_dir))
        if args.log_dir is not None
        else tempfile.TemporaryDirectory(prefix="bench-compare-")
    )
    with workdir as tmp_dir, contextlib.ExitStack() as stack:
        tmp = Path(tmp_dir)
        bodies = {m: tmp / f"{m}.json" for m in plan.modes}
        for mode, path in bodies.items():
            path.write_text(json.dumps(BODIES[mode]))
        up_port = free_port()
        cmd = [*pin_up, sys.executable, str(ROOT / "loadtests" / "fast_upstream.py")]
        cmd += ["--port", str(up_port), "--chunks", str(args.chunks)]
        log_path, ready = tmp / "upstream.log", f"http://{HOST}:{up_port}/v1/models"
        stack.enter_context(started(cmd, log_path, ready, 30))
        preflight(target(up_port), bodies, DIRECT)
        peers = start_peers(args, stack, tmp, up_port, pin_proxy, bodies)
        time.sleep(1.0)
        for name, side in peers.running.items():
            peers.rss_idle_mb[name] = side.tree.rss_mb()
        rows = bench(plan, order, bodies, up_port, peers)
    names = [s for s in SIDES if s in peers.running or s in peers.failed]
    print(summary(rows, names, peers))
    print()
    print(detail(rows, names, peers))
    print()
    print("Ratios (in brackets) are against `gateway`; `!`: some requests failed (below).")
    for name in names:
        auth = f"; a wrong key gets {peers.auth[name]}" if name in peers.auth else ""
        print(f"- {name}: {peers.notes.get(name, '')}{auth}")
        for mode, why in peers.failed.get(name, {}).items():
            print(f"  FAIL {name} {'every mode' if mode == '*' else mode}: {why}")
    for r in rows:
        for name, m in r.sides.items():
            if m.result.failed:
                print(
                    f"WARNING {r.mode} {r.load} {name}: {m.result.non_2xx:g} non-2xx of"
                    f" {m.result.requests:g} answers, {m.result.errors:g} unanswered"
                )
    print(
        f"client: {plan.client}; pinned: {pinned} (cores {args.cores}: upstream+client, proxies);"
        f" {plan.duration_s:g} s runs after {plan.warmup_s:g} s warm-up; rounds: {plan.rounds}"
        " (median, order reversed every other); one worker/process each"
    )
    meta["loadavg_end"] = loadavg()
    print(f"load average at end: {meta['loadavg_end']}")
    if args.json is not None:
        meta |= {"rss_idle_mb": peers.rss_idle_mb, "failed": peers.failed, "notes": peers.notes}
        meta["wrong_key"] = peers.auth
        out = [asdict(r) for r in rows]
        args.json.write_text(json.dumps({"meta": meta, "rows": out}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Direct upstream vs this gateway vs LiteLLM's proxy: the same workload, side by side.

Built on bench_overhead.py (same upstream, load generators, /proc accounting and
pinning): for every scenario it measures the upstream directly, then through the
gateway, then through LiteLLM, back to back, and prints a table of ratios.

LiteLLM runs from its own virtual environment, never the project's:

    python -m venv /tmp/litellm-venv
    /tmp/litellm-venv/bin/pip install 'litellm[proxy]==1.108.7' prisma
    python loadtests/bench_compare.py --litellm /tmp/litellm-venv/bin/litellm

It is configured the way the gateway is: one OpenAI-wire deployment pointing at the same
upstream, and the bench key as its master key, so both authenticate every request.
``LITELLM_LOCAL_MODEL_COST_MAP=True`` keeps it from fetching its price map at start-up;
``prisma`` is installed so that it answers auth errors properly.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from bench_overhead import (
    BODIES,
    HOST,
    KEY,
    MODEL,
    ROOT,
    Gateway,
    Plan,
    ProcTree,
    RssSampler,
    free_port,
    gateway_command,
    gateway_config,
    log,
    preflight,
    started,
    target,
)
from loadgen import RunResult, median_result

SIDES = ("gateway", "litellm")


@dataclass
class Measured:
    result: RunResult
    cpu_ms_per_req: float
    rss_peak_mb: float


@dataclass
class Row:
    mode: str
    load: str
    direct: RunResult
    through: dict[str, Measured] = field(default_factory=dict)


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


def start_side(
    name: str,
    cmd: list[str],
    port: int,
    ready_path: str,
    stack: contextlib.ExitStack,
    tmp: Path,
    timeout: float,
) -> Gateway:
    """Start one proxy; the returned handle measures it like bench_overhead's gateway."""
    ready = f"http://{HOST}:{port}{ready_path}"
    pid = stack.enter_context(started(cmd, tmp / f"{name}.log", ready, timeout))
    tree = ProcTree(pid)
    sampler = RssSampler(tree)
    sampler.start()
    stack.callback(sampler.stopped.set)
    return Gateway(port, tree, sampler)


def wait_idle(tree: ProcTree, limit_s: float = 120.0, busy: float = 0.05) -> float:
    """Wait until a proxy uses under ``busy`` of a core: one that fell behind (LiteLLM at
    200 req/s) keeps working on requests its client gave up on, and that work must not
    land in the next measurement. Returns the seconds waited."""
    start = prev_t = time.monotonic()
    prev = tree.cpu_s()
    while time.monotonic() - start < limit_s:
        time.sleep(0.5)
        now, now_t = tree.cpu_s(), time.monotonic()
        if (now - prev) / (now_t - prev_t) < busy:
            break
        prev, prev_t = now, now_t
    return time.monotonic() - start


def bench(
    plan: Plan, loads: list[str], bodies: dict[str, Path], upstream: int, sides: dict[str, Gateway]
) -> list[Row]:
    rows = []
    # Load by load, both modes each: the rows that overload a proxy (the high paced
    # rates) come last, so whatever state that leaves behind touches no other row.
    for load in loads:
        for mode in plan.modes:
            direct: list[RunResult] = []
            through: dict[str, list[tuple[RunResult, float, float]]] = {s: [] for s in sides}
            for rnd in range(1, plan.rounds + 1):
                log(f"{mode} {load} round {rnd}/{plan.rounds}: direct")
                direct.append(plan.measure(upstream, bodies[mode], load))
                for name, side in sides.items():
                    waited = wait_idle(side.tree)
                    log(f"{mode} {load} round {rnd}/{plan.rounds}: {name} (idle in {waited:.1f} s)")
                    through[name].append(side.measure(plan, bodies[mode], load))
            row = Row(mode, load, median_result(direct))
            for name, runs in through.items():
                row.through[name] = Measured(
                    median_result([r for r, _, _ in runs]),
                    statistics.median(c for _, c, _ in runs),
                    max(p for _, _, p in runs),
                )
            rows.append(row)
    return sorted(rows, key=lambda r: plan.modes.index(r.mode))


def _f(value: float | None, digits: int = 2) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def table(rows: list[Row]) -> str:
    names = [s for s in SIDES if rows and s in rows[0].through]
    head = ["mode", "load", "direct rps"] + [f"{n} rps" for n in names]
    if len(names) == 2:
        head.append("gateway ÷ litellm rps")
    head += [f"{n} added p50/p99 ms" for n in names]
    head += [f"{n} CPU-ms/req" for n in names]
    if len(names) == 2:
        head.append("litellm ÷ gateway CPU")
    head += [f"{n} RSS MB" for n in names]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        d = r.direct
        cells = [r.mode, r.load, _f(d.rps, 0)]
        cells += [_f(r.through[n].result.rps, 0) for n in names]
        if len(names) == 2:
            g, li = r.through["gateway"], r.through["litellm"]
            cells.append(_f(_ratio(g.result.rps, li.result.rps), 1) + "x")
        for n in names:
            m = r.through[n].result
            cells.append(f"{_f(m.p50_ms - d.p50_ms)} / {_f(m.p99_ms - d.p99_ms)}")
        cells += [_f(r.through[n].cpu_ms_per_req, 3) for n in names]
        if len(names) == 2:
            ratio = _ratio(r.through["litellm"].cpu_ms_per_req, r.through["gateway"].cpu_ms_per_req)
            cells.append(_f(ratio, 1) + "x")
        cells += [_f(r.through[n].rss_peak_mb, 0) for n in names]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--litellm", help="LiteLLM's `litellm` executable (its own venv)")
    p.add_argument("--duration", type=float, default=5.0, help="seconds per measured run")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up before each")
    p.add_argument("--concurrency", default="1,16", help="closed-loop connections, comma list")
    p.add_argument("--rates", default="10,200", help="paced req/s, comma list ('' for none)")
    p.add_argument("--modes", default="chat,stream", help="chat and/or stream")
    p.add_argument("--chunks", type=int, default=20, help="stream chunks from the upstream")
    p.add_argument("--rounds", type=int, default=1, help="alternate the sides N times")
    wrk = shutil.which("wrk")
    p.add_argument("--client", choices=["wrk", "python"], default="wrk" if wrk else "python")
    p.add_argument("--cores", default="0,1", help="upstream+client core, core of the proxies")
    p.add_argument("--gateway-cmd", help="command before 'serve ...' (default: python -c ...)")
    p.add_argument("--extra-config", type=Path, help="YAML merged into the gateway's config")
    p.add_argument("--startup-timeout", type=float, default=120.0)
    p.add_argument("--json", type=Path, help="save raw numbers here")
    p.add_argument("--log-dir", type=Path, help="keep configs, bodies and server logs here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cores = args.cores.split(",")
    pinned = bool(shutil.which("taskset")) and (os.cpu_count() or 1) >= 2 and len(cores) == 2
    pin_up, pin_proxy = [["taskset", "-c", c] for c in cores] if pinned else [[], []]
    if pinned:
        os.sched_setaffinity(0, {int(cores[0])})
    rates = [float(r) for r in args.rates.split(",") if r]
    plan = Plan(
        modes=args.modes.split(","),
        concurrency=[int(c) for c in args.concurrency.split(",") if c],
        rate=rates[0] if rates else 0.0,
        duration_s=args.duration,
        warmup_s=args.warmup,
        rounds=max(1, args.rounds),
        client=args.client,
        pin_client=pin_up,
    )
    loads = [f"c={c}" for c in plan.concurrency] + [f"{r:g}/s" for r in rates]
    meta: dict[str, Any] = {"plan": asdict(plan), "loads": loads, "pinned": pinned}
    meta["started"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
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
        stack.enter_context(
            started(cmd, tmp / "upstream.log", f"http://{HOST}:{up_port}/v1/models", 30)
        )
        preflight(target(up_port), bodies, "direct")
        sides: dict[str, Gateway] = {}

        port = free_port()
        (tmp / "gateway.yaml").write_text(
            yaml.safe_dump(gateway_config(up_port, args.extra_config))
        )
        cmd = [*pin_proxy, *gateway_command(args.gateway_cmd), "serve"]
        cmd += ["--config", str(tmp / "gateway.yaml"), "--host", HOST, "--port", str(port)]
        cmd += ["--workers", "1"]
        sides["gateway"] = start_side(
            "gateway", cmd, port, "/health/ready", stack, tmp, args.startup_timeout
        )

        if args.litellm:
            port = free_port()
            (tmp / "litellm.yaml").write_text(yaml.safe_dump(litellm_config(up_port)))
            cmd = [*pin_proxy, args.litellm, "--config", str(tmp / "litellm.yaml")]
            cmd += ["--host", HOST, "--port", str(port), "--num_workers", "1"]
            os.environ.update(LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_LOG="ERROR")
            sides["litellm"] = start_side(
                "litellm", cmd, port, "/health/liveliness", stack, tmp, args.startup_timeout
            )

        time.sleep(1.0)
        for name, side in sides.items():
            meta[f"{name}_rss_idle_mb"] = side.tree.rss_mb()
            preflight(target(side.port), bodies, name)
        rows = bench(plan, loads, bodies, up_port, sides)
    print(table(rows))
    print()
    idle = ", ".join(f"{n} {_f(meta[f'{n}_rss_idle_mb'], 0)} MB" for n in sides)
    print(f"RSS at idle after start-up: {idle}")
    for r in rows:
        for name, res in [("direct", r.direct)] + [(n, m.result) for n, m in r.through.items()]:
            if res.failed:
                print(
                    f"WARNING {r.mode} {r.load} {name}: {res.non_2xx} non-2xx of {res.requests}"
                    f" answers, {res.errors} unanswered"
                )
    print(
        f"client: {plan.client}; pinned: {pinned}; {plan.duration_s:g} s runs after "
        f"{plan.warmup_s:g} s warm-up; rounds: {plan.rounds} (median); one worker each"
    )
    if args.json is not None:
        out = [asdict(r) for r in rows]
        args.json.write_text(json.dumps({"meta": meta, "rows": out}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

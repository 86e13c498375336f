"""Two gateway trees, one run: CPU-ms per request of each, interleaved, for before/after.

On a shared machine, noise moves absolute numbers by 2x from one minute to the next, so
a change is judged against its parent in the same run: both gateways (e.g. a
``git worktree`` of the parent commit and the working tree) are started side by side on
the same core against one ``fast_upstream.py``, and short wrk runs alternate between
them (A B B A A B ...), so slow spells hit both alike. Reported per side: the median
CPU-ms per request over the rounds, and the ratio.

    git worktree add /tmp/before HEAD~1
    python loadtests/bench_ab.py --before /tmp/before [--after .] [--modes chat,stream]

With ``--before . --after-config other.yaml`` it compares two configs of one tree
instead (e.g. what tracing costs: the same file with tracing off).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml
from bench_overhead import (
    BODIES,
    HOST,
    ROOT,
    ProcTree,
    free_port,
    gateway_config,
    preflight,
    started,
    target,
)
from loadgen import run_wrk


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--before", type=Path, required=True, help="source tree of the 'before' side")
    p.add_argument("--after", type=Path, default=ROOT, help="source tree of the 'after' side")
    p.add_argument("--modes", default="chat,stream")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--duration", type=float, default=3.0)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--cores", default="0,1", help="upstream+wrk core, gateways' core")
    p.add_argument("--extra-config", type=Path, default=ROOT / "loadtests/full_pipeline.yaml")
    p.add_argument(
        "--after-config", type=Path, help="the after side's extra config (default: the same)"
    )
    args = p.parse_args()
    up_core, gw_core = args.cores.split(",")
    os.sched_setaffinity(0, {int(up_core)})
    pin_up, pin_gw = ["taskset", "-c", up_core], ["taskset", "-c", gw_core]
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as tmp_dir, contextlib.ExitStack() as st:
        tmp = Path(tmp_dir)
        modes = args.modes.split(",")
        bodies = {m: tmp / f"{m}.json" for m in modes}
        for mode, path in bodies.items():
            path.write_text(json.dumps(BODIES[mode]))
        up = free_port()
        cmd = [*pin_up, sys.executable, str(ROOT / "loadtests/fast_upstream.py"), "--port", str(up)]
        st.enter_context(started(cmd, tmp / "upstream.log", f"http://{HOST}:{up}/v1/models", 30))
        sides: dict[str, tuple[int, ProcTree]] = {}
        extras = {"before": args.extra_config, "after": args.after_config or args.extra_config}
        for name, tree in (("before", args.before), ("after", args.after)):
            config = tmp / f"{name}.yaml"
            config.write_text(yaml.safe_dump(gateway_config(up, extras[name])))
            port = free_port()
            code = "import sys; from gateway.cli import main; sys.exit(main())"
            # -P: with ``-c`` Python would put the working directory (this tree) first on
            # sys.path, ahead of PYTHONPATH, and both sides would run the same code.
            env = ["env", f"PYTHONPATH={tree.resolve()}"]
            cmd = [*pin_gw, *env, sys.executable, "-P", "-c", code]
            cmd += ["serve", "--config", str(config), "--host", HOST, "--port", str(port)]
            data = tmp / name
            data.mkdir()
            os.environ["GATEWAY_DATA_DIR"] = str(data)
            ready = f"http://{HOST}:{port}/health/ready"
            pid = st.enter_context(started(cmd, tmp / f"{name}.log", ready, 120))
            preflight(target(port), bodies, name)
            sides[name] = (port, ProcTree(pid))
        print("| mode | before CPU-ms/req | after CPU-ms/req | after ÷ before | rps before/after |")
        print("|---|---|---|---|---|")
        for mode in modes:
            cpu: dict[str, list[float]] = {"before": [], "after": []}
            rps: dict[str, list[float]] = {"before": [], "after": []}
            order = ["before", "after"]
            pin = pin_up
            for _ in range(args.rounds):
                for name in order:
                    port, tree = sides[name]
                    run_wrk(target(port), bodies[mode], args.concurrency, 1.0, pin_up)  # warm
                    cpu0 = tree.cpu_s()
                    res = run_wrk(target(port), bodies[mode], args.concurrency, args.duration, pin)
                    cpu[name].append((tree.cpu_s() - cpu0) * 1000 / max(res.requests, 1))
                    rps[name].append(res.rps)
                order.reverse()
                time.sleep(0.2)
            b, a = statistics.median(cpu["before"]), statistics.median(cpu["after"])
            rb, ra = statistics.median(rps["before"]), statistics.median(rps["after"])
            print(f"| {mode} | {b:.3f} | {a:.3f} | {a / b:.2f} | {rb:,.0f} / {ra:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

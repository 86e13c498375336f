"""What one routing decision costs: ``Router.plan`` per strategy, with 3 and 30 targets.

A decision is everything the dispatcher asks of the router before the first attempt:
partitioning targets by breaker, cool-down and health, ordering them by the strategy,
session stickiness, and for ``engine-aware`` the prompt's block hashes, the prefix
lookup and the scores from engine load. The recording side (``succeeded``: breaker,
latency EWMA, session and prefix memory) is measured too, since it runs once per
request as well.

Times are process CPU time (``time.process_time``), not wall time: on a shared machine
the wall clock also counts the time other processes held the core.

    python loadtests/bench_routing.py            # table of CPU µs per call
    python loadtests/bench_routing.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.config.loader import parse_config
from gateway.engines.metrics import LoadSample
from gateway.pipeline.context import RequestContext
from gateway.routing.models import ModelTable
from gateway.routing.router import Router
from gateway.wire.types import Endpoint

STRATEGIES = ("weighted", "latency", "least-busy", "cost", "engine-aware")
SHORT = "What is the capital of France?"
LONG = " ".join(f"clause{i}" for i in range(2000))  # ~2,000 tokens, ~18 KB


def build(strategy: str, count: int) -> ModelTable:
    kind = "trtllm" if strategy == "engine-aware" else "openai"
    providers = "\n".join(
        f'  p{i}: {{kind: {kind}, base_url: "http://10.0.0.{i}:8000"}}' for i in range(count)
    )
    targets = ", ".join(
        f"{{provider: p{i}, model: m, weight: {1 + i % 3}, price: {{input: {i % 7}, output: 1}}}}"
        for i in range(count)
    )
    return ModelTable(
        parse_config(
            f"providers:\n{providers}\nmodels:\n  m: {{targets: [{targets}], "
            f"routing: {{strategy: {strategy}}}}}\n"
        )
    )


def measure(strategy: str, count: int, prompt: str, rounds: int) -> dict[str, float]:
    table = build(strategy, count)
    route = table.resolve("m")
    assert route is not None
    rng = random.Random(1)
    for target in route.targets:  # some history for latency / least-busy
        target.state.observe_ttfb(rng.random())
        target.state.observe_total(rng.random() * 3)
        target.state.in_flight = rng.randrange(8)
    loads = {
        f"p{i}": LoadSample(waiting=rng.randrange(5), running=rng.randrange(16), kv=rng.random())
        for i in range(count)
    }
    router = Router(lambda provider: True, lambda provider, now: loads.get(provider), rng)
    ctx = RequestContext(
        Endpoint.CHAT,
        "req",
        body={"messages": [{"role": "user", "content": prompt}]},
        client_headers={"x-session-id": "conv-1"},
    )
    samples_plan, samples_record = [], []
    for _ in range(5):
        started = time.process_time()
        for _ in range(rounds):
            plan = router.plan(route, ctx)
        samples_plan.append((time.process_time() - started) / rounds * 1e6)
        target = plan.targets[0]
        started = time.process_time()
        for _ in range(rounds):
            router.succeeded(target, plan, 0.05, stream=False)
        samples_record.append((time.process_time() - started) / rounds * 1e6)
    # The best of five runs: the least disturbed by other work on a shared machine.
    return {"plan_us": min(samples_plan), "record_us": min(samples_record)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args()
    rows = []
    print(f"{'strategy':<14}{'prompt':<7}{'targets':>8}{'plan µs':>10}{'record µs':>11}")
    for strategy in STRATEGIES:
        prompts = {"short": SHORT, "2k": LONG} if strategy == "engine-aware" else {"short": SHORT}
        for label, prompt in prompts.items():
            for count in (3, 30):
                result = measure(strategy, count, prompt, args.rounds)
                rows.append({"strategy": strategy, "prompt": label, "targets": count, **result})
                print(
                    f"{strategy:<14}{label:<7}{count:>8}{result['plan_us']:>10.1f}"
                    f"{result['record_us']:>11.1f}"
                )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

"""What admission and settlement cost per request, on each engine.

Runs the limiter the gateway builds (``RateLimiter``) against a typical request (key
rpm/tpm/concurrency and team rpm/tpm: five rules) and against a single rpm rule, in
process and on a real redis-server, and prints CPU microseconds per request (process
CPU time / requests, the steady figure on a shared machine) and, for Redis, the wall
time of one admission+settlement round trip pair. Prompt token counting is measured
apart: it is shared with budgets (``accounting.tokens``), counted once per request.

    python loadtests/bench_limits.py [--requests 20000] [--redis-port 0]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import tempfile
import time

import uvloop

from gateway.accounting.tokens import PROMPT_TOKENS
from gateway.auth.keys import PRINCIPAL, Principal, principal_for_team
from gateway.config import parse_config
from gateway.config.schema import Team
from gateway.limits.config import Limits
from gateway.limits.limiter import RateLimiter
from gateway.pipeline.context import RequestContext
from gateway.wire.types import Endpoint, Usage

BODY = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "Say hello to the rate limiter, please."}],
    "max_tokens": 64,
}
PLANS = {
    "1 rule (key rpm)": (Limits(rpm=10**9), None),
    "5 rules (key rpm/tpm/conc, team rpm/tpm)": (
        Limits(rpm=10**9, tpm=10**12, concurrency=10**6),
        Limits(rpm=10**9, tpm=10**12),
    ),
}


def config(redis_url: str) -> str:
    state = f'state: {{url: "{redis_url}"}}' if redis_url else ""
    return f"""
{state}
providers: {{emu: {{kind: openai, base_url: "http://127.0.0.1:9/v1", health: null}}}}
models: {{gpt-4o-mini: {{targets: [{{provider: emu, model: gpt-4o-mini}}]}}}}
teams: {{t: {{}}}}
"""


def request(principal: Principal, i: int) -> RequestContext:
    ctx = RequestContext(Endpoint.CHAT, f"req_{i}")
    ctx.body, ctx.model = BODY, "gpt-4o-mini"
    PRINCIPAL.set(ctx, principal)
    PROMPT_TOKENS.set(ctx, 12)  # counted once per request by accounting (measured apart)
    return ctx


async def measure(
    limiter: RateLimiter, key: Limits, team: Limits | None, n: int, parallel: int
) -> tuple[float, float]:
    """(CPU µs per request, wall µs per request at ``parallel`` in flight), less the cost
    of building the request context, which the gateway pays anyway."""
    principal = principal_for_team("key_bench", "t", "sk-…", Team(limits=team), limits=key)
    usage = Usage(prompt_tokens=12, completion_tokens=20)

    async def one(i: int) -> None:
        ctx = request(principal, i)
        await limiter.admit(ctx)
        ctx.usage = usage
        await limiter.settle(ctx)

    async def worker(start: int) -> None:
        for i in range(start, n, parallel):
            await one(i)

    await asyncio.gather(*(worker(w) for w in range(min(parallel, 50))))  # warm up
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(parallel)))
    return (time.process_time() - cpu) / n * 1e6, (time.perf_counter() - wall) / n * 1e6


def count_tokens_us(n: int = 20000) -> float:
    from gateway.accounting.tokens import count_request_tokens

    count_request_tokens(Endpoint.CHAT, BODY, "gpt-4o-mini")
    started = time.process_time()
    for _ in range(n):
        count_request_tokens(Endpoint.CHAT, BODY, "gpt-4o-mini")
    return (time.process_time() - started) / n * 1e6


async def limits_library_us(n: int) -> float:
    """For comparison: the ``limits`` library's own async memory moving window."""
    from limits import RateLimitItemPerMinute
    from limits.aio.storage import MemoryStorage
    from limits.aio.strategies import MovingWindowRateLimiter

    limiter = MovingWindowRateLimiter(MemoryStorage())
    item = RateLimitItemPerMinute(10**6)
    started = time.process_time()
    for _ in range(n):
        await limiter.hit(item, "key_bench")
    return (time.process_time() - started) / n * 1e6


async def main(args: argparse.Namespace) -> None:
    print(f"prompt token count (tiktoken, shared with budgets): {count_tokens_us():.1f} µs")
    print(
        f"limits library, memory moving window, 1 hit: "
        f"{await limits_library_us(min(args.requests, 5000)):.1f} µs CPU"
    )
    engines = [("memory", "")]
    server = None
    if shutil.which("redis-server"):
        port = args.redis_port or 6390
        folder = tempfile.mkdtemp()
        server = subprocess.Popen(
            ["redis-server", "--port", str(port), "--save", "", "--dir", folder],
            stdout=subprocess.DEVNULL,
        )
        time.sleep(0.3)
        engines.append(("redis", f"redis://127.0.0.1:{port}/0"))
    try:
        for name, url in engines:
            limiter = RateLimiter(parse_config(config(url)))
            for label, (key, team) in PLANS.items():
                n = args.requests if name == "memory" else args.requests // 4
                cpu1, wall1 = await measure(limiter, key, team, n, 1)
                cpu64, _ = await measure(limiter, key, team, n, 64)
                line = f"{name:6} {label:42} admit+settle: {cpu1:6.1f} µs CPU"
                if name == "redis":
                    line += f" (64 in flight: {cpu64:5.1f} µs CPU); round trips {wall1:6.1f} µs"
                print(line)
            await limiter.aclose()
    finally:
        if server is not None:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--redis-port", type=int, default=0)
    uvloop.run(main(parser.parse_args()))

"""CPU cost per request of the accounting stages, in process (no HTTP, no upstream).

    python loadtests/bench_accounting.py [--requests 20000] [--redis redis://127.0.0.1:6379/0]

Runs the real stages (Authenticate, BudgetAdmission, Settle) on a request context shaped
like a finished non-streaming chat completion with upstream usage, and reports CPU µs
per request (process time / requests), for:

- ``auth-static``: a key from the config file (one digest + dict lookup);
- ``auth-admin``: a key created through the admin API (same lookup, other index);
- ``no-budget``: admission with no budget to check + settlement (record queued);
- ``budget``: a team budget: count the prompt, reserve, settle, on the embedded store;
- ``budget-redis``: the same on Redis (the reservation is one Lua call; ``--redis``);
- ``writes``: the background ledger writes, per record, included in the figures above.

Records are written by the backend's background task; its CPU is in the total.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from gateway.accounting import encodings
from gateway.accounting.budget import BudgetAdmission
from gateway.accounting.service import Accounting, open_accounting
from gateway.accounting.settle import Settle
from gateway.auth.authenticate import Authenticate
from gateway.auth.keys import KeyStore
from gateway.config import parse_config
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import Completion
from gateway.routing.models import ROUTE, TARGET, ModelTable
from gateway.state import open_state
from gateway.wire.types import Endpoint, Usage

CONFIG = """
admin: {{master_key: "sk-bench-master-0123456789"}}
state: {state}
accounting: {{flush_interval_s: 0.05}}
providers:
  up: {{kind: openai, base_url: "http://127.0.0.1:9/v1", health: null}}
models:
  gpt-4o-mini: {{targets: [{{provider: up, model: gpt-4o-mini}}]}}
teams:
  open: {{models: ["*"]}}
  capped: {{models: ["*"], budget_usd: 1000000}}
keys:
  - {{team: open, key: "sk-bench-open-0123456789"}}
  - {{team: capped, key: "sk-bench-capped-0123456789"}}
"""
BODY = {
    "model": "gpt-4o-mini",
    "max_tokens": 64,
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Summarise the plot of Hamlet in three sentences."},
    ],
}
ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-mini",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 28, "completion_tokens": 60, "total_tokens": 88},
}


async def _request(
    accounting: Accounting,
    models: ModelTable,
    auth: Authenticate,
    budget: BudgetAdmission,
    settle: Settle,
    key: str,
) -> None:
    ctx = RequestContext(Endpoint.CHAT, "req", client_headers={"authorization": f"Bearer {key}"})
    await auth.enter(ctx)
    ctx.body = dict(BODY)
    ctx.model = "gpt-4o-mini"
    route = models.resolve("gpt-4o-mini")
    await budget.enter(ctx)
    assert route is not None
    ROUTE.set(ctx, route)
    TARGET.set(ctx, route.targets[0])
    ctx.usage = Usage(28, 60)
    await settle.leave(ctx, Completion(dict(ANSWER)))
    await settle.finish(ctx)


async def _measure(state: str, key: str, requests: int, label: str) -> float:
    config = parse_config(CONFIG.format(state=state), env={})
    keys = KeyStore(config)
    models = ModelTable(config)
    state = open_state(config)
    await state.start()
    accounting = open_accounting(config, keys, models, state)
    await accounting.start()
    auth = Authenticate(keys, accounting.directory)
    budget, settle = BudgetAdmission(accounting), Settle(accounting)
    if key == "admin":
        await accounting.admin.create_team("bench", {"models": ["*"]})
        _, key = await accounting.admin.create_key("bench")
        await accounting.directory.reload()
    encodings.preload(["gpt-4o-mini"])  # what start() began loading in a thread
    for _ in range(200):  # warm up: caches, the writer thread
        await _request(accounting, models, auth, budget, settle, key)
    await accounting.state.flush()
    started = time.process_time()
    for _ in range(requests):
        await _request(accounting, models, auth, budget, settle, key)
    await accounting.state.flush()
    used = time.process_time() - started
    await accounting.aclose()
    await state.aclose()
    micros = used / requests * 1e6
    print(f"{label:<14} {micros:8.1f} µs CPU per request")
    return micros


async def _auth_only(requests: int) -> None:
    config = parse_config(CONFIG.format(state="{}"), env={})
    keys = KeyStore(config)
    headers = {"authorization": "Bearer sk-bench-open-0123456789"}
    started = time.process_time()
    for _ in range(requests):
        keys.authenticate(headers)
    print(f"{'auth-static':<14} {(time.process_time() - started) / requests * 1e6:8.1f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--redis", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        embedded = f'{{path: "{Path(tmp) / "bench.db"}"}}'
        asyncio.run(_auth_only(args.requests))
        asyncio.run(_measure(embedded, "admin", args.requests, "admin-key"))
        asyncio.run(_measure(embedded, "sk-bench-open-0123456789", args.requests, "no-budget"))
        asyncio.run(_measure(embedded, "sk-bench-capped-0123456789", args.requests, "budget"))
        if args.redis:
            redis_state = f'{{url: "{args.redis}"}}'
            asyncio.run(
                _measure(redis_state, "sk-bench-open-0123456789", args.requests, "no-budget-redis")
            )
            asyncio.run(
                _measure(redis_state, "sk-bench-capped-0123456789", args.requests, "budget-redis")
            )


if __name__ == "__main__":
    main()

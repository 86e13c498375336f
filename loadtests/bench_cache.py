"""Cache latency side by side: exact hits, semantic hits, misses and no cache, one run.

    python loadtests/bench_cache.py [--rounds 200] [--precision int8|fp32] [--json OUT]

Starts ``fast_upstream.py`` and one ``gateway serve`` worker whose config has two teams:
``cached`` (exact + semantic cache) and ``plain`` (cache off). Each round sends, one
after another on one keep-alive connection:

- ``plain``: a new question, cache off: the pipeline without the cache stage;
- ``miss``: a new question, cache on: exact lookup, embedding, index search, then the
  upstream call and the (background) store;
- ``hit``: the question stored ``lag`` rounds ago, verbatim: exact hit;
- ``semantic``: a paraphrase of a question stored ``lag`` rounds ago ("How do I..." →
  "How can I...", with ``--lang zh`` 怎么… → 如何…): embedding + search + guard, then the
  stored body. ``--reword steps`` ("How do I X my Y?" → "Steps to X my Y?") changes a
  content word, so each English hit also waits for the verifier; the paraphrases it
  refuses are counted (``semantic_refused``), not timed.

Requests are interleaved so machine noise hits every kind alike. Reported per kind:
client-side latency p50/p99 (ms) and the gateway's own ``x-gateway-overhead-ms``
p50; the miss overhead is ``miss - plain`` at the median.

``--stage-only`` instead times the cache stage's own code in process (no HTTP, no
embedding): ``enter`` on an exact miss and on an exact hit, and ``finish`` + the
background store of a miss, in µs per request.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
CACHED_KEY = "sk-bench-cached-0123456789"
PLAIN_KEY = "sk-bench-plain-0123456789"
ACTIONS = [
    "reset",
    "change",
    "update",
    "cancel",
    "renew",
    "verify",
    "export",
    "delete",
    "transfer",
    "upgrade",
    "pause",
    "recover",
    "share",
    "rename",
    "archive",
    "download",
    "link",
    "replace",
]
OBJECTS = [
    "password",
    "billing address",
    "subscription",
    "profile photo",
    "shipping address",
    "account email",
    "payment card",
    "team workspace",
    "phone number",
    "invoice settings",
    "notification settings",
    "order history",
    "loyalty points",
    "gift card",
    "warranty",
]


# Chinese questions for ``--lang zh`` (an all-CJK question skips MiniLM: USE only),
# reworded 怎么 → 如何 for the semantic hit.
ACTIONS_ZH = ["修改", "重置", "查看", "更新", "删除", "绑定", "导出", "恢复", "验证", "备份"]
OBJECTS_ZH = [
    "密码",
    "账单地址",
    "订阅",
    "头像",
    "收货地址",
    "邮箱",
    "银行卡",
    "团队空间",
    "手机号",
    "发票设置",
    "通知设置",
    "订单记录",
    "积分",
    "礼品卡",
    "保修信息",
    "会员等级",
    "登录设备",
    "实名信息",
    "支付密码",
    "优惠券",
    "退款记录",
    "物流信息",
    "发货地址",
    "安全问题",
    "隐私设置",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def config(upstream_port: int, precision: str, model_dir: str) -> str:
    embedder = (
        f"{{precision: {precision}{', model_dir: ' + json.dumps(model_dir) if model_dir else ''}}}"
    )
    return f"""
providers:
  fast: {{kind: openai, base_url: "http://127.0.0.1:{upstream_port}/v1", api_key: sk-x,
          health: null}}
models:
  gpt-4o-mini: {{targets: [{{provider: fast, model: gpt-4o-mini}}]}}
teams:
  cached: {{models: ["*"]}}
  plain: {{models: ["*"], cache: {{enabled: false}}}}
keys:
  - {{team: cached, key: "{CACHED_KEY}"}}
  - {{team: plain, key: "{PLAIN_KEY}"}}
cache:
  enabled: true
  semantic: {{embedder: {embedder}}}
"""


def wait_up(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(url)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def stage_cost(requests: int = 20_000) -> dict[str, float]:
    """µs per request of the cache stage itself (exact cache, in-process store)."""
    import asyncio

    sys.path.insert(0, str(ROOT))
    from gateway.auth.keys import PRINCIPAL, Principal
    from gateway.cache.config import CacheConfig
    from gateway.cache.service import build_cache
    from gateway.cache.stage import CacheStage
    from gateway.pipeline.context import RequestContext
    from gateway.pipeline.reply import Completion
    from gateway.wire.types import Endpoint

    async def run() -> dict[str, float]:
        cache = build_cache(CacheConfig(enabled=True), {}, "", _no_embeddings)
        assert cache is not None
        stage = CacheStage(cache)
        principal = Principal(key_id="key_x", team="t", key_prefix="sk-x")
        answer = {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "hi " * 40},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 20, "completion_tokens": 40, "total_tokens": 60},
        }

        def context(i: int) -> RequestContext:
            ctx = RequestContext(Endpoint.CHAT, "r")
            ctx.model = "gpt-4o-mini"
            PRINCIPAL.set(ctx, principal)
            ctx.body = {
                "model": "gpt-4o-mini",
                "temperature": 0,
                "messages": [
                    {"role": "system", "content": "You are a helpful support assistant."},
                    {"role": "user", "content": f"How do I reset my password, attempt {i}?"},
                ],
            }
            return ctx

        timings = {"miss_enter_leave_finish_us": 0.0, "store_us": 0.0, "hit_enter_us": 0.0}
        batch = 500  # below the cap on queued background stores
        for first in range(0, requests, batch):
            started = time.perf_counter()
            for i in range(first, first + batch):  # miss: plan + lookup, leave, finish
                ctx = context(i)
                await stage.enter(ctx)
                await stage.leave(ctx, Completion(dict(answer)))
                await stage.finish(ctx)
            timings["miss_enter_leave_finish_us"] += time.perf_counter() - started
            started = time.perf_counter()
            while cache._pending:  # the background stores
                await asyncio.sleep(0)
            timings["store_us"] += time.perf_counter() - started
            started = time.perf_counter()
            for i in range(first, first + batch):
                reply = await stage.enter(context(i))
                assert reply is not None
            timings["hit_enter_us"] += time.perf_counter() - started
        timings = {k: v / requests * 1e6 for k, v in timings.items()}
        return {k: round(v, 1) for k, v in timings.items()}

    return asyncio.run(run())


async def _no_embeddings(model: str, text: str) -> dict[str, object]:
    raise RuntimeError("no embeddings in the stage benchmark")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--lag", type=int, default=3)
    parser.add_argument("--precision", choices=["int8", "fp32"], default="int8")
    parser.add_argument("--model-dir", default="")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--stage-only", action="store_true")
    parser.add_argument("--lang", choices=["en", "zh"], default="en")
    parser.add_argument("--reword", choices=["function-word", "steps"], default="function-word")
    args = parser.parse_args()
    if args.stage_only:
        print(json.dumps(stage_cost(), indent=1))
        return 0

    if args.lang == "zh":
        pairs = itertools.product(OBJECTS_ZH, ACTIONS_ZH)
        questions = [f"怎么{a}我的{o}" for o, a in pairs]
        reword = ("怎么", "如何")
    else:
        questions = [f"How do I {a} my {o}?" for o, a in itertools.product(OBJECTS, ACTIONS)]
        reword = ("How do I", "How can I" if args.reword == "function-word" else "Steps to")
    if args.rounds + args.lag > len(questions):
        raise SystemExit(f"at most {len(questions) - args.lag} rounds")
    upstream_port, gateway_port = free_port(), free_port()
    tmp = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    (tmp / "gateway.yaml").write_text(config(upstream_port, args.precision, args.model_dir))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    upstream = subprocess.Popen(
        [sys.executable, str(ROOT / "loadtests/fast_upstream.py"), "--port", str(upstream_port)],
        env=env,
    )
    gateway = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway",
            "serve",
            "--config",
            str(tmp / "gateway.yaml"),
            "--port",
            str(gateway_port),
        ],
        env=env,
        cwd=tmp,
        stdout=subprocess.DEVNULL,
        stderr=(tmp / "gateway.log").open("wb"),
    )
    samples: dict[str, list[float]] = {k: [] for k in ("plain", "miss", "hit", "semantic")}
    overhead: dict[str, list[float]] = {k: [] for k in samples}
    refused: list[str] = []
    base = f"http://127.0.0.1:{gateway_port}"
    try:
        wait_up(base + "/health/live")
        with httpx.Client(base_url=base, timeout=30) as client:

            def send(kind: str, question: str, key: str) -> None:
                body = {
                    "model": "gpt-4o-mini",
                    "temperature": 0,
                    "messages": [{"role": "user", "content": question}],
                }
                started = time.perf_counter()
                response = client.post(
                    "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}
                )
                elapsed = (time.perf_counter() - started) * 1000
                response.raise_for_status()
                got = response.headers.get("x-gateway-cache", "off")
                expected = {"plain": "off", "miss": "miss", "hit": "hit", "semantic": "semantic"}
                if kind == "semantic" and got == "miss" and args.reword == "steps":
                    refused.append(question)  # the verifier's call: not timed as a hit
                    return
                if got != expected[kind]:
                    raise SystemExit(
                        f"{kind}: expected {expected[kind]}, got {got} for {question!r}: "
                        + str({k: v for k, v in response.headers.items() if "cache" in k})
                    )
                samples[kind].append(elapsed)
                overhead[kind].append(float(response.headers["x-gateway-overhead-ms"]))

            for question in questions[: args.lag]:  # warm-up, and entries to hit
                send("miss", question, CACHED_KEY)
            time.sleep(0.2)
            for i in range(args.rounds):
                fresh = questions[args.lag + i]
                send("plain", "Plain: " + fresh, PLAIN_KEY)
                send("miss", fresh, CACHED_KEY)
                old = questions[i]
                send("hit", old, CACHED_KEY)
                send("semantic", old.replace(*reword), CACHED_KEY)
    finally:
        gateway.terminate()
        upstream.terminate()
        gateway.wait(20)
        upstream.wait(20)
    report: dict[str, Any] = {
        kind: {
            "n": len(values),
            "p50_ms": round(statistics.median(values), 3),
            "p99_ms": round(percentile(values, 0.99), 3),
            "gateway_overhead_p50_ms": round(statistics.median(overhead[kind]), 3),
        }
        for kind, values in samples.items()
    }
    report["semantic_refused"] = len(refused)
    report["miss_overhead_p50_ms"] = round(report["miss"]["p50_ms"] - report["plain"]["p50_ms"], 3)
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

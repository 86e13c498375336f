"""CPU µs per request by pipeline step, every feature on, without HTTP in front.

Builds the gateway exactly as ``gateway serve`` does (``build_gateway`` and the lifespan
start-up) from ``full_pipeline.yaml`` against ``fast_upstream.py``, then sends requests
one after another straight into the pipeline, as the ``/v1/chat/completions`` handler
does, and times every stage hook, the upstream call (dispatcher + transport) and the
response rendering (see ``_clock``). Streams are
timed per layer: each stage's wrapper around the chunk iterator is charged only for the
time it adds to the layer inside it.

The HTTP server and framework (uvicorn + Litestar) are not in these numbers: compare
the total here with ``bench_overhead.py``'s CPU-ms per request to see their share.
Background threads (span processor, ledger writer) are not in the per-step numbers
either; "process" below is all threads of this process, so the difference is theirs.

    python loadtests/bench_pipeline.py [--requests 3000] [--mode chat|stream]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.api.responses import json_response, sse_body, stream_headers  # noqa: E402
from gateway.app import build_gateway  # noqa: E402
from gateway.config import parse_config  # noqa: E402
from gateway.pipeline.context import RequestContext  # noqa: E402
from gateway.pipeline.reply import ChunkStream, Completion, Reply, StreamItem  # noqa: E402
from gateway.wire.types import Endpoint  # noqa: E402

KEY = "sk-bench-key"
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Say hello in one short sentence."},
]
# perf_counter (vDSO, ~50 ns) for the steps: a thread CPU clock read is a syscall that
# costs several µs on a VM and would dwarf the small steps. The steps do no I/O waits,
# except the upstream call, which is timed with the thread's CPU clock.
_clock = time.perf_counter_ns
_cpu_clock = time.thread_time_ns
Totals = defaultdict[str, int]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config_text(upstream_port: int, extra: Path) -> str:
    config: dict[str, Any] = {
        "providers": {
            "fast": {
                "kind": "openai",
                "base_url": f"http://127.0.0.1:{upstream_port}/v1",
                "api_key": "sk-upstream",
            }
        },
    }
    config.update(yaml.safe_load(extra.read_text()) or {})
    return yaml.safe_dump(config)


class Timed:
    """Stands in for a stage in the pipeline's hook tuples and charges its hook time."""

    def __init__(self, stage: Any, totals: Totals) -> None:
        self.stage = stage
        self.name = type(stage).__name__
        self.totals = totals

    async def enter(self, ctx: RequestContext) -> Reply | None:
        t = _clock()
        try:
            return await self.stage.enter(ctx)  # type: ignore[no-any-return]
        finally:
            self.totals[f"{self.name}.enter"] += _clock() - t

    async def leave(self, ctx: RequestContext, reply: Reply) -> Reply:
        t = _clock()
        try:
            out: Reply = await self.stage.leave(ctx, reply)
        finally:
            self.totals[f"{self.name}.leave"] += _clock() - t
        wrapped = isinstance(out, ChunkStream) and isinstance(reply, ChunkStream)
        if wrapped and out.chunks is not reply.chunks:  # type: ignore[union-attr]
            chunks = _layer(out.chunks, reply.chunks, f"{self.name}.chunks", self.totals)  # type: ignore[union-attr]
            return ChunkStream(chunks)
        return out

    async def finish(self, ctx: RequestContext) -> None:
        t = _clock()
        try:
            await self.stage.finish(ctx)
        finally:
            self.totals[f"{self.name}.finish"] += _clock() - t


class TimedChunks:
    """A chunk iterator layer: ``spent`` is the CPU time of every ``__anext__`` on it,
    inner layers included; ``own`` subtracts the layer inside it."""

    def __init__(
        self, chunks: AsyncIterator[StreamItem], inner: TimedChunks | None, cpu: bool = False
    ) -> None:
        self.chunks = chunks
        self.inner = inner
        self.spent = 0  # wall time, what the layer outside subtracts
        self.cpu = cpu  # also count this thread's CPU time, and report that as ``own``
        self.cpu_spent = 0

    def __aiter__(self) -> TimedChunks:
        return self

    async def __anext__(self) -> StreamItem:
        t = _clock()
        c = _cpu_clock() if self.cpu else 0
        try:
            return await self.chunks.__anext__()
        finally:
            self.spent += _clock() - t
            if self.cpu:
                self.cpu_spent += _cpu_clock() - c

    async def aclose(self) -> None:
        aclose = getattr(self.chunks, "aclose", None)
        if aclose is not None:
            await aclose()

    @property
    def own(self) -> int:
        if self.cpu:
            return self.cpu_spent
        return self.spent - (self.inner.spent if self.inner is not None else 0)


def _layer(
    outer: AsyncIterator[StreamItem], inner: AsyncIterator[StreamItem], name: str, totals: Totals
) -> TimedChunks:
    layer = TimedChunks(outer, inner if isinstance(inner, TimedChunks) else None)
    _LAYERS.append((name, layer))
    return layer


_LAYERS: list[tuple[str, TimedChunks]] = []


def timed_call(call: Callable[[RequestContext], Awaitable[Reply]], totals: Totals) -> Any:
    async def run(ctx: RequestContext) -> Reply:
        t = _cpu_clock()
        try:
            reply = await call(ctx)
        finally:
            totals["upstream call (dispatch+transport)"] += _cpu_clock() - t
        if isinstance(reply, ChunkStream):
            # CPU time here: this layer also waits for the upstream's bytes.
            layer = TimedChunks(reply.chunks, None, cpu=True)
            _LAYERS.append(("upstream chunks (read+parse)", layer))
            return ChunkStream(layer)
        return reply

    return run


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--requests", type=int, default=3000)
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--mode", choices=["chat", "stream"], default="chat")
    p.add_argument("--extra-config", type=Path, default=ROOT / "loadtests/full_pipeline.yaml")
    p.add_argument("--upstream-core", default="0")
    args = p.parse_args()

    port = free_port()
    taskset = ["taskset", "-c", args.upstream_core] if os.cpu_count() and os.cpu_count() > 1 else []  # type: ignore[operator]
    upstream = subprocess.Popen(
        [*taskset, sys.executable, str(ROOT / "loadtests/fast_upstream.py"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    os.environ.setdefault("GATEWAY_DATA_DIR", str(tmp))
    try:
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        config = parse_config(config_text(port, args.extra_config), tmp / "gateway.yaml")
        await run(config, args)
    finally:
        upstream.terminate()
        upstream.wait(5)


async def run(config: Any, args: argparse.Namespace) -> None:
    gateway = build_gateway(config)
    async with gateway.running():
        await _measure(gateway, args)


async def _measure(gateway: Any, args: argparse.Namespace) -> None:
    body: dict[str, Any] = {"model": "gpt-4o-mini", "messages": MESSAGES, "max_tokens": 64}
    if args.mode == "stream":
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    raw = __import__("msgspec").json.encode(body)
    headers = {"authorization": f"Bearer {KEY}", "content-type": "application/json"}

    totals: Totals = defaultdict(int)
    pipeline = gateway.pipeline
    pipeline._enters = tuple(Timed(s, totals) for s in pipeline._enters)  # type: ignore[assignment]
    pipeline._leaves = tuple(Timed(s, totals) for s in pipeline._leaves)  # type: ignore[assignment]
    pipeline._finishes = tuple(Timed(s, totals) for s in pipeline._finishes)  # type: ignore[assignment]
    pipeline._call = timed_call(pipeline._call, totals)

    async def one() -> None:
        t = _clock()
        ctx = RequestContext(Endpoint.CHAT, "req_bench", client_headers=headers)
        ctx.raw_body = raw
        totals["context"] += _clock() - t
        t = _clock()
        reply = await pipeline.run(ctx)
        totals["pipeline.run (outside hooks)"] += _clock() - t
        t = _clock()
        if isinstance(reply, Completion):
            json_response(reply.body, ctx)
            totals["render (json_response)"] += _clock() - t
        else:
            stream_headers(ctx)
            totals["render (json_response)"] += _clock() - t
            t = _clock()
            async for _ in sse_body(reply.chunks):
                pass
            totals["stream consumed (all layers)"] += _clock() - t
            for name, layer in _LAYERS:
                totals[name] += layer.own
            _LAYERS.clear()

    gc_started = [0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter_ns()
        else:
            gc_time[0] += time.perf_counter_ns() - gc_started[0]

    gc_time = [0]
    gc.callbacks.append(on_gc)
    for _ in range(args.warmup):
        await one()
    totals.clear()
    gc_time[0] = 0
    gcpu0, wall0 = time.process_time_ns(), time.perf_counter()
    tcpu0 = _cpu_clock()
    for _ in range(args.requests):
        await one()
    tcpu = _cpu_clock() - tcpu0
    pcpu = time.process_time_ns() - gcpu0
    wall = time.perf_counter() - wall0

    n = args.requests
    aggregates = ("pipeline.run", "stream consumed")
    steps = {k: v for k, v in totals.items() if not k.startswith(aggregates)}
    print(f"mode={args.mode} requests={n} wall={wall:.2f}s")
    print("| step | CPU µs/request |")
    print("|---|---|")
    for name, ns in sorted(steps.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {ns / n / 1000:.1f} |")
    rest = tcpu - sum(steps.values())
    print(f"| runner, SSE encoding, event loop (the rest) | {rest / n / 1000:.1f} |")
    print(f"| **main thread total** | **{tcpu / n / 1000:.1f}** |")
    print(f"| of which garbage collection (in the steps above) | {gc_time[0] / n / 1000:.1f} |")
    print(f"| process total (all threads) | {pcpu / n / 1000:.1f} |")


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())

"""What tracing + metrics + access log + labeling cost per request, in µs.

Runs the real pipeline stages in process against an upstream stand-in that answers
instantly (no sockets), so the difference between configurations is the stages' own
CPU. The stand-in reports each attempt to the context's ``OBSERVER`` exactly as the dispatcher
does, so client spans and attempt metrics are included.

Configurations (each adds to the previous):

    base       Authenticate, ParseRequest, ModelAccess (the core; not measured as ours)
    metrics    + the telemetry stage with Prometheus metrics and the JSON access log
    labels     + AI-content labels (Ed25519 signature per answer)
    trace-off  + tracing, spans recorded, no exporter
    trace-on   + tracing exported by OTLP/HTTP to a local collector (batch processor)

Reported per configuration: wall µs per request (p50, p99) and process CPU µs per
request (export thread included), for a chat completion and a 20-chunk stream. The
"ours" lines subtract ``base``.

    python loadtests/bench_observability.py [--requests 5000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.api.parse import ParseRequest
from gateway.auth.authenticate import Authenticate
from gateway.auth.authorize import ModelAccess
from gateway.auth.keys import KeyStore
from gateway.config import parse_config
from gateway.labeling.service import build_labels
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import ChunkStream, Completion, Reply, StreamItem
from gateway.pipeline.stages import Pipeline, Stage
from gateway.routing.models import TARGET, ModelTable
from gateway.routing.observer import observer_of
from gateway.telemetry.service import build_telemetry
from gateway.wire.types import Endpoint, Usage
from tests.emulators.otlp_collector import OTLPCollector

KEY = "sk-bench-team-key-0123456789"
BODY = (
    b'{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are terse."},'
    b'{"role":"user","content":"Say something about gateways, please."}],"temperature":0.2}'
)
ANSWER = "Gateways sit between clients and models; they route, limit and observe. " * 3
WORDS = ANSWER.split(" ")


def config_text(key_file: Path, tracing: str, labels: bool, metrics: bool) -> str:
    return f"""
providers: {{emu: {{kind: openai, base_url: "http://127.0.0.1:9/v1", health: null}}}}
models: {{gpt-4o-mini: {{targets: [{{provider: emu, model: gpt-4o-mini}}]}}}}
teams: {{one: {{}}}}
keys: [{{team: one, key: "{KEY}"}}]
labeling: {{enabled: {str(labels).lower()}, key_file: "{key_file}"}}
telemetry:
  metrics: {{enabled: {str(metrics).lower()}}}
  access_log: {{enabled: {str(metrics).lower()}}}
  tracing: {tracing}
"""


def completion_body() -> dict[str, Any]:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": ANSWER, "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 20, "completion_tokens": 30, "total_tokens": 50},
    }


async def chunks() -> AsyncIterator[StreamItem]:
    per = max(1, len(WORDS) // 20)
    for i in range(20):
        text = " ".join(WORDS[i * per : (i + 1) * per]) + " "
        yield {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "gpt-4o-mini",
            "choices": [
                {"index": 0, "delta": {"content": text}, "finish_reason": None, "logprobs": None}
            ],
        }
    yield {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop", "logprobs": None}],
    }


class Upstream:
    """Answers at once, reporting the attempt to the ``OBSERVER`` slot as the dispatcher does."""

    def __init__(self, table: ModelTable) -> None:
        self.target = table.resolve("gpt-4o-mini").targets[0]  # type: ignore[union-attr]

    async def __call__(self, ctx: RequestContext) -> Reply:
        ctx.attempts += 1
        TARGET.set(ctx, self.target)
        observer_of(ctx).started(ctx, self.target)
        reply: Reply
        if ctx.stream:
            reply = ChunkStream(self._stream(ctx))
        else:
            reply = Completion(completion_body())
            ctx.usage = Usage(prompt_tokens=20, completion_tokens=30)
        observer_of(ctx).answered(ctx, reply)
        return reply

    async def _stream(self, ctx: RequestContext) -> AsyncIterator[StreamItem]:
        async for chunk in chunks():
            yield chunk
        ctx.usage = Usage(prompt_tokens=20, completion_tokens=30)


class Settles(Stage):
    """Stands in for the stages that settle usage: the pipeline's shielded finish runs
    in every configuration, so it is not counted as ours."""

    async def finish(self, ctx: RequestContext) -> None:
        return None


def build(text: str) -> tuple[Pipeline, Any]:
    config = parse_config(text)
    table = ModelTable(config)
    telemetry = build_telemetry(config, lambda: {"emu": True})
    labels = build_labels(config)
    stages: list[Stage] = [
        *([telemetry.stage] if telemetry.stage else []),
        Authenticate(KeyStore(config)),
        ParseRequest(),
        ModelAccess(table),
        *([labels.stage] if labels.stage else []),
        Settles(),
    ]
    return Pipeline(stages, Upstream(table)), telemetry


async def run_one(pipeline: Pipeline, stream: bool) -> None:
    body = BODY[:-1] + (b',"stream":true}' if stream else b"}")
    ctx = RequestContext(
        Endpoint.CHAT,
        "req_" + os.urandom(12).hex(),
        raw_body=body,
        client_headers={"authorization": f"Bearer {KEY}"},
    )
    reply = await pipeline.run(ctx)
    if isinstance(reply, ChunkStream):
        async for _ in reply.chunks:
            pass


async def measure(pipeline: Pipeline, stream: bool, n: int) -> tuple[float, float, float]:
    for _ in range(300):
        await run_one(pipeline, stream)
    samples = []
    gc.collect()
    cpu = time.process_time()
    for _ in range(n):
        started = time.perf_counter()
        await run_one(pipeline, stream)
        samples.append(time.perf_counter() - started)
    cpu_per = (time.process_time() - cpu) / n
    samples.sort()
    return (
        statistics.median(samples) * 1e6,
        samples[int(len(samples) * 0.99)] * 1e6,
        cpu_per * 1e6,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=open(os.devnull, "w"), format="%(message)s")  # noqa: SIM115
    collector = OTLPCollector().start()
    tmp = Path(tempfile.mkdtemp())
    key = tmp / "k.pem"
    exported = (
        f'{{enabled: true, exporter: otlp-http, endpoint: "{collector.http_endpoint}", '
        f"schedule_delay_ms: 200}}"
    )
    configs = {
        "base": config_text(key, "{enabled: false}", labels=False, metrics=False),
        "metrics": config_text(key, "{enabled: false}", labels=False, metrics=True),
        "labels": config_text(key, "{enabled: false}", labels=True, metrics=True),
        "trace-off": config_text(key, "{enabled: true, exporter: none}", labels=True, metrics=True),
        "trace-on": config_text(key, exported, labels=True, metrics=True),
    }
    print(
        f"{args.requests} requests per cell, best of {args.rounds} rounds; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'config':<10} {'kind':<7} {'p50 µs':>8} {'p99 µs':>8} {'CPU µs':>8}   ours (minus base)"
    )
    built = {name: build(text) for name, text in configs.items()}
    cells = [(name, stream) for name in configs for stream in (False, True)]
    runs: dict[tuple[str, bool], list[tuple[float, float, float]]] = {cell: [] for cell in cells}
    # Rounds interleave the configurations, so each sees the same machine; the best of
    # the rounds is the closest to the code's own cost on a shared machine.
    for _ in range(args.rounds):
        for name, stream in cells:
            pipeline, telemetry = built[name]
            runs[name, stream].append(asyncio.run(measure(pipeline, stream, args.requests)))
            if telemetry.tracing is not None:  # export the backlog before the next cell
                telemetry.tracing.provider.force_flush()
    base: dict[bool, tuple[float, ...]] = {}
    for name, stream in cells:
        p50, p99, cpu = best = tuple(min(run[i] for run in runs[name, stream]) for i in range(3))
        kind = "stream" if stream else "chat"
        if name == "base":
            base[stream] = best
            extra = ""
        else:
            b = base[stream]
            extra = f"   +{p50 - b[0]:.0f} p50, +{p99 - b[1]:.0f} p99, +{cpu - b[2]:.0f} CPU"
        print(f"{name:<10} {kind:<7} {p50:8.0f} {p99:8.0f} {cpu:8.0f}{extra}")
    for _, telemetry in built.values():
        telemetry.shutdown()
    print(f"collector received {len(collector.spans)} spans in {collector.http_requests} exports")
    collector.stop()


if __name__ == "__main__":
    main()

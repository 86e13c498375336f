"""Memory per worker and the model host's cost, side by side in one run.

    python loadtests/bench_memory.py [--workers 2] [--requests 1000] [--embeds 1000] [--json OUT]

Starts ``fast_upstream.py`` and, one after another, ``gateway serve --workers N`` with:

- ``no-models``: ``loadtests/full_pipeline.yaml`` (every feature but the models: auth,
  limits, budget, guardrails in and out, exact cache, labels, accounting, metrics,
  access log, tracing);
- ``models-in-process``: the same plus the semantic cache (MiniLM int8) and an intent
  router (MiniLM), ``server.model_host: off``: every worker loads the model;
- ``models-host``: the same with ``server.model_host: on``: one model host loads it.

For each it reads ``VmRSS`` from ``/proc/<pid>/status`` of every worker, of the model
host and of the serve process, idle (ready, one request per worker) and again after
``--requests`` requests (half new chat questions, each embedded, searched and stored
by the semantic cache, half ``"model": "auto"`` through the intent router, over 4
keep-alive connections so every worker serves).

Then it times ``--embeds`` sequential embeddings in process (``OnnxEmbedder.embed``) and
through a model host (``RemoteEmbedder.embed``), interleaved, p50 / p99 in ms. Reports the
load average beside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import yaml
from bench_overhead import free_port, started

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
KEY = "sk-bench-key"
ROUTER = {
    "default": "general",
    "embedder": {"kind": "minilm"},
    "intents": {
        "general": {
            "target": "gpt-4o-mini",
            "examples": ["hello there", "what is the weather like", "tell me a joke"],
        },
        "code": {
            "target": "gpt-4o-mini",
            "examples": ["write a python function", "fix this javascript bug", "sort a list"],
        },
    },
}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of every descendant of ``pid``."""
    parents: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
                parents.setdefault(int(stat[1]), []).append(int(entry.name))
    found, todo = [], list(parents.get(pid, []))
    while todo:
        child = todo.pop()
        with contextlib.suppress(OSError):
            command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            found.append((child, command))
        todo.extend(parents.get(child, []))
    return found


def config(upstream: str, variant: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "loadtests/full_pipeline.yaml").read_text())
    document["providers"] = {
        "fast": {"kind": "openai", "base_url": upstream, "api_key": "sk-upstream"}
    }
    if variant != "no-models":
        document["cache"] = {"enabled": True, "ttl_s": 600, "semantic": {"threshold": 0.86}}
        document["intents"] = {"auto": ROUTER}
        document["server"] = {"model_host": variant == "models-host"}
    return document


def snapshot(serve: int) -> dict[str, Any]:
    family = children(serve)
    workers = sorted(rss_mb(p) for p, cmd in family if "spawn_main" in cmd)
    hosts = [rss_mb(p) for p, cmd in family if "gateway.embedding.host" in cmd]
    return {
        "workers_mb": [round(w, 1) for w in workers],
        "host_mb": round(hosts[0], 1) if hosts else None,
        "serve_mb": round(rss_mb(serve), 1),
        "total_mb": round(sum(workers) + sum(hosts) + rss_mb(serve), 1),
    }


def traffic(url: str, requests: int, variant: str) -> None:
    bodies = []
    for i in range(requests):
        text = f"How do I reset the password of account {i}?"  # each one embedded
        if variant != "no-models" and i % 2:
            bodies.append({"model": "auto", "messages": [{"role": "user", "content": text}]})
        else:
            bodies.append({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]})

    def run(share: list[dict[str, Any]]) -> None:
        headers = {"authorization": f"Bearer {KEY}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            for body in share:
                response = client.post("/v1/chat/completions", json=body)
                if response.status_code != 200:
                    raise RuntimeError(response.text)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(run, [bodies[i::4] for i in range(4)]))


def measure(upstream: str, variant: str, workers: int, requests: int, tmp: Path) -> dict[str, Any]:
    path = tmp / f"{variant}.yaml"
    path.write_text(yaml.safe_dump(config(upstream, variant)))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "gateway", "serve", "--config", str(path)]
    argv += ["--port", str(port), "--workers", str(workers)]
    with started(argv, tmp / f"{variant}.log", url + "/health/ready", 180) as serve:
        traffic(url, 4 * workers, variant)  # every worker has answered once
        time.sleep(1.0)
        idle = snapshot(serve)
        begun = time.monotonic()
        traffic(url, requests, variant)
        elapsed = time.monotonic() - begun
        time.sleep(1.0)
        loaded = snapshot(serve)
    return {"variant": variant, "idle": idle, "loaded": loaded, "traffic_s": round(elapsed, 1)}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def embed_latency(embeds: int, tmp: Path) -> dict[str, Any]:
    from gateway.embedding.embedder import default_model_dir
    from gateway.embedding.hosting import ping
    from gateway.embedding.service import Embedders

    path = tmp / "models.sock"
    argv = [sys.executable, "-m", "gateway.embedding.host", str(path), "--threads", "1"]
    host = subprocess.Popen(argv, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not ping(str(path), 1.0) and time.monotonic() < deadline:
            time.sleep(0.1)
        local = Embedders().onnx(default_model_dir(), int8=True)
        remote = Embedders(str(path)).onnx(default_model_dir(), int8=True)
        times: dict[str, list[float]] = {"in-process": [], "model-host": []}

        async def run() -> None:
            for i in range(embeds):
                text = f"How do I reset the password of account {i}?"
                for name, embedder in (("in-process", local), ("model-host", remote)):
                    started = time.perf_counter()
                    await embedder.embed(text)
                    times[name].append((time.perf_counter() - started) * 1000)
            await local.aclose()
            await remote.aclose()

        asyncio.run(run())
    finally:
        host.terminate()
        host.wait(10)
    return {
        name: {
            "p50_ms": round(statistics.median(values), 3),
            "p99_ms": round(percentile(values, 0.99), 3),
        }
        for name, values in times.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--embeds", type=int, default=1000)
    parser.add_argument("--variants", default="no-models,models-in-process,models-host")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    port = free_port()
    upstream_argv = [sys.executable, str(ROOT / "loadtests/fast_upstream.py"), "--port", str(port)]
    results: dict[str, Any] = {"load_before": os.getloadavg()}
    with started(upstream_argv, tmp / "upstream.log", f"http://127.0.0.1:{port}/v1/models", 30):
        upstream = f"http://127.0.0.1:{port}/v1"
        results["runs"] = [
            measure(upstream, variant, args.workers, args.requests, tmp)
            for variant in args.variants.split(",")
        ]
    if args.embeds:  # 0: memory only (e.g. on a tree from before the model host)
        results["embed"] = embed_latency(args.embeds, tmp)
    results["load_after"] = os.getloadavg()
    print(json.dumps(results, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

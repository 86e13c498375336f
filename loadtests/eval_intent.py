"""Held-back accuracy and per-request cost of an intent router's classifier.

    python loadtests/eval_intent.py [--policy policies/intent-routing.yaml]
        [--router auto] [--embedder minilm|none] [--repeats 20] [--min-score S] [--json OUT]

Repeatedly holds back 30% of each intent's examples (English and Chinese apart, so
both are tested), builds the classifier from the rest exactly as the gateway does at
start-up, and classifies the held-back ones: accuracy overall, per language and per
intent. Then times one request's work (embedding + decision, as the intent stage does
it, and the decision alone) over every example, in wall time and in CPU time.
Numbers are development numbers on the policy's own examples.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.config.loader import parse_config  # noqa: E402
from gateway.embedding.embedder import OnnxEmbedder, default_model_dir  # noqa: E402
from gateway.intent.classifier import IntentClassifier  # noqa: E402
from gateway.wire.texts import cjk_letter_share as cjk_share  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default=str(ROOT / "policies" / "intent-routing.yaml"))
    parser.add_argument("--router", default="auto")
    parser.add_argument(
        "--embedder", choices=["minilm", "use-multilingual", "none"], default="minilm"
    )
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--held-back", type=float, default=0.3)
    parser.add_argument("--min-score", type=float, default=None, help="override the router's")
    parser.add_argument("--json", default="")
    args = parser.parse_args()

    # The example policy references secrets; any value validates.
    env = {**os.environ, "OPENAI_API_KEY": "x", "GATEWAY_MASTER_KEY": "sk-eval-master-key"}
    env |= {"SUPPORT_KEY": "sk-eval-support-key", "RESEARCH_KEY": "sk-eval-research-key"}
    router = parse_config(Path(args.policy).read_text(), env=env).intents[args.router]
    if args.min_score is not None:
        router = msgspec.structs.replace(router, min_score=args.min_score)
    embedder: Any = None
    if args.embedder == "minilm":
        embedder = OnnxEmbedder(default_model_dir(), int8=True)
    elif args.embedder == "use-multilingual":  # plain vectors, as the intent routers use
        from gateway.embedding.embedder import UseEmbedder

        embedder = UseEmbedder()
    vectors: dict[str, np.ndarray] = {}

    def embed(text: str) -> np.ndarray:
        if text not in vectors:
            assert embedder is not None
            vectors[text] = embedder.embed_sync(text)
        return vectors[text]

    embed_fn = embed if embedder is not None else None
    rng = np.random.default_rng(0)
    hits: dict[str, list[bool]] = defaultdict(list)
    for _ in range(args.repeats):
        train: dict[str, list[str]] = {}
        held: list[tuple[str, str]] = []
        for name, intent in router.intents.items():
            for chinese in (True, False):
                group = [t for t in intent.examples if (cjk_share(t) > 0.5) == chinese]
                k = max(1, round(len(group) * args.held_back)) if len(group) > 1 else 0
                out = set(rng.choice(len(group), k, replace=False).tolist()) if k else set()
                train.setdefault(name, []).extend(t for i, t in enumerate(group) if i not in out)
                held.extend((name, t) for i, t in enumerate(group) if i in out)
        classifier = IntentClassifier(router, embed_fn, examples=train)
        for name, text in held:
            ok = classifier.decide(text, embed(text) if embed_fn else None).intent == name
            hits["all"].append(ok)
            hits["zh" if cjk_share(text) > 0.5 else "en"].append(ok)
            hits["intent:" + name].append(ok)

    full = IntentClassifier(router, embed_fn)
    texts = [t for i in router.intents.values() for t in i.examples]
    request_ms, decide_ms = [], []
    cpu_started = time.process_time()
    for _ in range(3):
        for text in texts:
            started = time.perf_counter()
            vector = embedder.embed_sync(text) if embedder is not None else None
            middle = time.perf_counter()
            full.decide(text, vector)
            done = time.perf_counter()
            request_ms.append((done - started) * 1000)
            decide_ms.append((done - middle) * 1000)
    # CPU time per request: steadier than wall time on a shared machine.
    cpu_ms = (time.process_time() - cpu_started) * 1000 / len(request_ms)
    result = {
        "router": args.router,
        "embedder": args.embedder,
        "examples": len(texts),
        "repeats": args.repeats,
        "held_back_share": args.held_back,
        "accuracy": {k: round(sum(v) / len(v), 3) for k, v in sorted(hits.items())},
        "held_back_predictions": len(hits["all"]),
        "request_ms": _summary(request_ms),
        "decide_only_ms": _summary(decide_ms),
        "request_cpu_ms_mean": round(cpu_ms, 3),
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, ensure_ascii=False))


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 3),
        "p95": round(ordered[int(len(ordered) * 0.95)], 3),
        "p99": round(ordered[int(len(ordered) * 0.99)], 3),
    }


if __name__ == "__main__":
    main()

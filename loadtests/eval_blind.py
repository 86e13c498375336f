"""Development vs blind numbers, with Wilson 95 % intervals, for issue #18's goals.

    python loadtests/eval_blind.py [--only cache,injection,pii,intent] [--json OUT]
        [--threshold T] [--int8]

Development sets (``tests/data/dev-hard``, ``semantic-cache``, ``injection``) are the
ones rules and thresholds were tuned on; ``tests/data/blind`` was written and frozen
before any change and is never tuned on (see its README). Every figure is printed as
``k/n = rate [low, high]``; a figure measured on data it was tuned on is reported only
as a development number.

- cache: hit precision (hits on ``same: true`` / all hits) and recall (hits among the
  paraphrases) per language, with the gateway's similarity, agreement guard and the
  configured threshold, over each set's pairs plus easy negatives (each text against
  another row's); false hits per kind; refused paraphrases per guard rule.
  ``--embedder minilm+wordllama`` scores with the hybrid embedder; its ``cjk_threshold``
  is cross-validated on the development Chinese pairs (reported), never on the blind set.
- injection: recall and FPR per language and per kind at the detector's threshold, also
  on ``blind2/everyday-blind2.jsonl`` (ordinary traffic, injections in new carriers).
- PII: per type and language, recall (a gold span overlapped by a finding of its type)
  and precision (findings overlapping a gold span of their type); false positives per
  look-alike kind.
- intent: accuracy per language of ``policies/intent-routing.yaml``'s ``auto`` router.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT / "tests" / "data"
Report = dict[str, Any]


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def fmt(k: int, n: int) -> str:
    if n == 0:
        return "0/0"
    low, high = wilson(k, n)
    return f"{k}/{n} = {k / n:.3f} [{low:.3f}, {high:.3f}]"


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]


# --- cache -------------------------------------------------------------------------------


def cache_rows(name: str) -> list[dict[str, Any]]:
    if name == "blind":
        return load(DATA / "blind/semcache-blind.jsonl")
    return load(DATA / "dev-hard/semcache-hard-dev.jsonl")


def easy_negatives(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each text against a different row's text in the same language (5 rows on)."""
    out: list[dict[str, Any]] = []
    for lang in ("en", "zh"):
        same = [r for r in rows if r["lang"] == lang]
        for i, r in enumerate(same):
            other = same[(i + 5) % len(same)]
            out.append({"a": r["a"], "b": other["b"], "same": False, "lang": lang, "kind": "easy"})
    return out


class PairScorer:
    """Scores pairs as the cache does, for MiniLM alone or the hybrid embedder, with the
    hybrid's ``cjk_threshold`` a parameter (no re-embedding per value)."""

    def __init__(self, int8: bool) -> None:
        from gateway.embedding.embedder import OnnxEmbedder, default_model_dir

        self.minilm = OnnxEmbedder(default_model_dir(), int8=int8)
        self.words: Any = None
        self._m: dict[str, Any] = {}
        self._w: dict[str, Any] = {}

    def prepare(self, texts: set[str], hybrid: bool) -> None:
        for t in texts:
            if t not in self._m:
                self._m[t] = self.minilm.embed_sync(t)
        if hybrid:
            if self.words is None:
                from gateway.embedding.embedder import WordLlamaEmbedder

                self.words = WordLlamaEmbedder()
            for t in texts:
                if t not in self._w:
                    self._w[t] = self.words.embed_sync(t)

    def score(self, a: str, b: str, cjk_threshold: float | None, reference: float) -> float:
        import numpy as np

        from gateway.cache import agreement as guard
        from gateway.embedding.embedder import cjk_share

        fa, fb = guard.features(a), guard.features(b)
        cos_m = float(np.dot(self._m[a], self._m[b]))
        if cjk_threshold is None:
            return guard.similarity(cos_m, fa, fb)
        k = (1 - reference) / (1 - cjk_threshold)
        sa, sb = cjk_share(a), cjk_share(b)
        cos_w = float(np.dot(self._w[a], self._w[b])) if sa and sb else 0.0
        cosine = math.sqrt((1 - sa) * (1 - sb)) * cos_m + math.sqrt(sa * sb) * ((1 - k) + k * cos_w)
        return guard.similarity(cosine, fa, fb, lexical_cjk=False)


def cache_cells(
    rows: list[dict[str, Any]], scorer: PairScorer, threshold: float, cjk: float | None
) -> Report:
    from gateway.cache import agreement as guard

    cells: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # tp fp pos neg
    kinds: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    refused: dict[str, int] = defaultdict(int)
    for r in rows:
        score = scorer.score(r["a"], r["b"], cjk, threshold)
        why = guard.agree(guard.features(r["a"]), guard.features(r["b"]))
        hit = score >= threshold and why is None
        for key in (r["lang"], "all"):
            cell = cells[key]
            cell[0] += hit and r["same"]
            cell[1] += hit and not r["same"]
            cell[2] += r["same"]
            cell[3] += not r["same"]
        if not r["same"]:
            kinds[f"{r['kind']}/{r['lang']}"][0] += 1
            kinds[f"{r['kind']}/{r['lang']}"][1] += hit
        elif why is not None:
            refused[f"{r['lang']}:{why}" + ("" if score >= threshold else " (below)")] += 1
    report: Report = {
        key: {"precision": fmt(tp, tp + fp), "recall": fmt(tp, pos), "false_hits": fp}
        for key, (tp, fp, pos, _) in sorted(cells.items())
    }
    report["false_hits_per_kind"] = {k: f"{v[1]}/{v[0]}" for k, v in sorted(kinds.items())}
    report["paraphrases_refused_by_rule"] = dict(sorted(refused.items()))
    return report


CJK_GRID = [0.60, 0.65, 0.70, 0.72, 0.75, 0.78, 0.80, 0.85]


def cv_cjk_threshold(
    rows: list[dict[str, Any]], scorer: PairScorer, threshold: float, folds: int = 5
) -> Report:
    """5-fold cross-validation of the hybrid's ``cjk_threshold`` on the development
    Chinese pairs (dev-hard zh + easy negatives): on the training folds, the lowest
    value with no false hit; figures on the held-out folds, pooled."""
    from gateway.cache import agreement as guard

    zh = [r for r in rows if r["lang"] == "zh"]
    order = list(range(len(zh)))
    random.Random(18).shuffle(order)
    fold_of = {i: n % folds for n, i in enumerate(order)}
    hits = {
        t: [
            scorer.score(r["a"], r["b"], t, threshold) >= threshold
            and guard.agree(guard.features(r["a"]), guard.features(r["b"])) is None
            for r in zh
        ]
        for t in CJK_GRID
    }
    tp = fp = pos = 0
    chosen: list[float] = []
    for k in range(folds):
        train = [i for i in range(len(zh)) if fold_of[i] != k]
        pick = CJK_GRID[-1]
        for t in CJK_GRID:
            if not any(hits[t][i] and not zh[i]["same"] for i in train):
                pick = t
                break
        chosen.append(pick)
        for i in range(len(zh)):
            if fold_of[i] == k:
                tp += hits[pick][i] and zh[i]["same"]
                fp += hits[pick][i] and not zh[i]["same"]
                pos += zh[i]["same"]
    full = next(
        (
            t
            for t in CJK_GRID
            if not any(h and not r["same"] for h, r in zip(hits[t], zh, strict=True))
        ),
        CJK_GRID[-1],
    )
    return {
        "chosen_per_fold": chosen,
        "chosen_on_all_dev": full,
        "cv_precision": fmt(tp, tp + fp),
        "cv_recall": fmt(tp, pos),
    }


THRESHOLD_GRID = [0.78, 0.80, 0.82, 0.84, 0.86, 0.88, 0.90, 0.92]


def cv_threshold(scorer: PairScorer, folds: int = 5) -> Report:
    """5-fold cross-validation of the cache threshold (MiniLM + guard) on the
    development pairs: QQP, dev-hard and easy negatives. On the training folds: the
    lowest threshold with dev-hard precision ≥ 0.99, no easy-negative false hit and
    QQP precision ≥ 0.90 (the criterion ``eval_semantic_cache.py`` uses); pooled
    figures on the held-out folds."""
    from gateway.cache import agreement as guard

    hard = cache_rows("dev-hard")
    rows = [{**r, "set": "hard"} for r in hard] + [
        {**r, "set": "easy"} for r in easy_negatives(hard)
    ]
    rows += [
        {"a": r["a"], "b": r["b"], "same": r["duplicate"], "lang": "en", "set": "qqp"}
        for r in load(DATA / "semantic-cache/qqp-dev.jsonl")
    ]
    scorer.prepare({t for r in rows for t in (r["a"], r["b"])}, hybrid=False)
    scores = [scorer.score(r["a"], r["b"], None, 0.86) for r in rows]
    agreed = [guard.agree(guard.features(r["a"]), guard.features(r["b"])) is None for r in rows]
    order = list(range(len(rows)))
    random.Random(18).shuffle(order)
    fold_of = {i: n % folds for n, i in enumerate(order)}

    def counts(indexes: list[int], t: float) -> dict[str, list[int]]:
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # tp fp pos
        for i in indexes:
            hit = scores[i] >= t and agreed[i]
            cell = out[rows[i]["set"]]
            cell[0] += hit and rows[i]["same"]
            cell[1] += hit and not rows[i]["same"]
            cell[2] += rows[i]["same"]
        return out

    def precision(cell: list[int]) -> float:
        return cell[0] / (cell[0] + cell[1]) if cell[0] + cell[1] else 1.0

    pooled: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    chosen = []
    for k in range(folds):
        train = [i for i in range(len(rows)) if fold_of[i] != k]
        test = [i for i in range(len(rows)) if fold_of[i] == k]
        pick = THRESHOLD_GRID[-1]
        for t in THRESHOLD_GRID:
            c = counts(train, t)
            if precision(c["hard"]) >= 0.99 and c["easy"][1] == 0 and precision(c["qqp"]) >= 0.90:
                pick = t
                break
        chosen.append(pick)
        for name, cell in counts(test, pick).items():
            for j in range(3):
                pooled[name][j] += cell[j]
    return {
        "chosen_per_fold": chosen,
        **{
            f"{name} held-out": {
                "precision": fmt(c[0], c[0] + c[1]),
                **({"recall": fmt(c[0], c[2])} if c[2] else {}),
                "false_hits": c[1],
            }
            for name, c in sorted(pooled.items())
        },
    }


def eval_cache(threshold: float, int8: bool, embedder: str, cjk: float, cv: bool = False) -> Report:
    scorer = PairScorer(int8)
    hybrid = embedder == "minilm+wordllama"
    report: Report = {"threshold": threshold, "embedder": embedder}
    if cv:
        report["dev threshold CV (MiniLM + guard)"] = cv_threshold(scorer)
    if hybrid:
        report["cjk_threshold"] = cjk
    for name in ("dev-hard", "blind"):
        rows = cache_rows(name)
        rows = rows + easy_negatives(rows)
        scorer.prepare({t for r in rows for t in (r["a"], r["b"])}, hybrid)
        report[name] = cache_cells(rows, scorer, threshold, cjk if hybrid else None)
        if hybrid and name == "dev-hard":
            report["dev-hard zh cjk_threshold CV"] = cv_cjk_threshold(rows, scorer, threshold)
    return report


# --- injection ---------------------------------------------------------------------------


def eval_injection() -> Report:
    from gateway.guard.classifier import InjectionClassifier
    from gateway.guard.injection import InjectionDetector

    detector = InjectionDetector(InjectionClassifier.load())
    sets = {
        "dev s-labs-validation": [
            {**r, "lang": "en"} for r in load(DATA / "injection/s-labs-validation.jsonl")
        ],
        "dev injection-zh": load(DATA / "dev-hard/injection-zh-dev.jsonl"),
        "blind": load(DATA / "blind/injection-blind.jsonl"),
        # Ordinary traffic and injections in new carriers (blind2/README.md).
        "blind2 everyday": load(DATA / "blind2/everyday-blind2.jsonl"),
    }
    report: Report = {"threshold": detector.threshold}
    for name, rows in sets.items():
        cells: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # tp pos fp neg
        for r in rows:
            flagged = detector.score(r["text"]) >= detector.threshold
            for key in (r["lang"], "all", f"kind:{r.get('kind', '?')}"):
                cell = cells[key]
                if r["injection"]:
                    cell[0] += flagged
                    cell[1] += 1
                else:
                    cell[2] += flagged
                    cell[3] += 1
        report[name] = {
            key: {
                **({"recall": fmt(tp, pos)} if pos else {}),
                **({"fpr": fmt(fp, neg)} if neg else {}),
            }
            for key, (tp, pos, fp, neg) in sorted(cells.items())
        }
    return report


# --- PII ---------------------------------------------------------------------------------


def eval_pii() -> Report:
    from gateway.guard.pii import PiiDetector

    detector = PiiDetector()
    report: Report = {}
    for name, path in (
        ("dev pii-dev-extra", DATA / "dev-hard/pii-dev-extra.jsonl"),
        ("blind", DATA / "blind/pii-blind.jsonl"),
        ("blind2 ip", DATA / "blind2/ip-blind2.jsonl"),
    ):
        gold: dict[str, int] = defaultdict(int)
        found: dict[str, int] = defaultdict(int)
        pred: dict[str, int] = defaultdict(int)
        pred_true: dict[str, int] = defaultdict(int)
        look_alike: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        wrong: list[str] = []
        for r in load(path):
            findings = detector.scan(r["text"])
            for s in r["spans"]:
                key = f"{s['type']}/{r['lang']}"
                gold[key] += 1
                found[key] += any(
                    f.label == s["type"] and f.start < s["end"] and s["start"] < f.end
                    for f in findings
                )
            for f in findings:
                key = f"{f.label}/{r['lang']}"
                pred[key] += 1
                ok = any(
                    f.label == s["type"] and f.start < s["end"] and s["start"] < f.end
                    for s in r["spans"]
                )
                pred_true[key] += ok
                if not ok:
                    wrong.append(f"{f.label}: {r['text'][f.start : f.end]}")
            if not r["spans"]:
                look_alike[r["kind"]][0] += 1
                look_alike[r["kind"]][1] += bool(findings)
        keys = sorted(set(gold) | set(pred))
        report[name] = {
            key: {"recall": fmt(found[key], gold[key]), "precision": fmt(pred_true[key], pred[key])}
            for key in keys
        }
        report[name]["look_alike_texts_flagged"] = {
            k: f"{v[1]}/{v[0]}" for k, v in sorted(look_alike.items())
        }
        report[name]["false_findings"] = wrong[:20]
    return report


# --- intent ------------------------------------------------------------------------------


def eval_intent(int8: bool, kind: str = "minilm", cjk: float = 0.7) -> Report:
    import os

    from gateway.config.loader import parse_config
    from gateway.embedding.embedder import OnnxEmbedder, default_model_dir
    from gateway.intent.classifier import IntentClassifier

    env = {**os.environ, "OPENAI_API_KEY": "x", "GATEWAY_MASTER_KEY": "sk-eval-master-key"}
    env |= {"SUPPORT_KEY": "sk-eval-support-key", "RESEARCH_KEY": "sk-eval-research-key"}
    policy = (ROOT / "policies/intent-routing.yaml").read_text()
    router = parse_config(policy, env=env).intents["auto"]
    embedder: Any = OnnxEmbedder(default_model_dir(), int8=int8)
    if kind == "minilm+wordllama":
        from gateway.cache.config import DEFAULT_THRESHOLD
        from gateway.embedding.embedder import HybridEmbedder, WordLlamaEmbedder

        embedder = HybridEmbedder(
            embedder, WordLlamaEmbedder(), cjk_threshold=cjk, reference=DEFAULT_THRESHOLD
        )
    classifier = IntentClassifier(router, embedder.embed_sync)
    cells: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    wrong = []
    for r in load(DATA / "blind/intent-blind.jsonl"):
        got = classifier.decide(r["text"], embedder.embed_sync(r["text"])).intent
        cells[r["lang"]][0] += got == r["intent"]
        cells[r["lang"]][1] += 1
        if got != r["intent"]:
            wrong.append(f"{r['text']} -> {got} (want {r['intent']})")
    return {"blind": {k: fmt(*v) for k, v in sorted(cells.items())}, "wrong": wrong}


def eval_latency(runs: int = 3) -> Report:
    """Wall time per call in this process (p50/p99 µs): the injection detector and the
    PII detector on 1 KB prompts (distinct texts, so no memo helps), and the cache
    guard's features + agreement per pair."""
    import os
    import statistics
    import time

    from gateway.cache import agreement as guard
    from gateway.guard.classifier import InjectionClassifier
    from gateway.guard.injection import InjectionDetector
    from gateway.guard.pii import PiiDetector

    sentences = [r["text"] for r in load(DATA / "pii/presidio-synth-dev.jsonl")]
    prompts = []
    for i in range(200):
        text, j = "", i
        while len(text) < 1024:
            text += sentences[j % len(sentences)] + " "
            j += 7
        prompts.append(text[:1024])
    injection, pii = InjectionDetector(InjectionClassifier.load()), PiiDetector()
    pairs = [(r["a"], r["b"]) for r in cache_rows("dev-hard")]

    def timed(call: Any, items: list[Any]) -> dict[str, float]:
        samples = []
        for _ in range(runs):
            for item in items:
                started = time.perf_counter()
                call(item)
                samples.append((time.perf_counter() - started) * 1e6)
        samples.sort()
        return {
            "p50_us": round(statistics.median(samples), 1),
            "p99_us": round(samples[int(len(samples) * 0.99)], 1),
        }

    return {
        "load_average_1m": os.getloadavg()[0],
        "injection_1KB": timed(injection.score, prompts),
        "pii_1KB": timed(pii.scan, prompts),
        "cache_guard_pair": timed(
            lambda p: guard.agree(guard.features(p[0]), guard.features(p[1])), pairs
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="cache,injection,pii,intent,latency")
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--int8", action="store_true", default=True)
    parser.add_argument("--embedder", choices=["minilm", "minilm+wordllama"], default="minilm")
    parser.add_argument("--cjk-threshold", type=float, default=None)
    parser.add_argument("--cv", action="store_true", help="cross-validate the threshold on dev")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    report: Report = {}
    from gateway.cache.config import EmbedderConfig, SemanticConfig

    if "cache" in wanted:
        threshold = args.threshold if args.threshold is not None else SemanticConfig().threshold
        cjk = args.cjk_threshold or EmbedderConfig().cjk_threshold
        report["cache"] = eval_cache(threshold, args.int8, args.embedder, cjk, args.cv)
    if "injection" in wanted:
        report["injection"] = eval_injection()
    if "pii" in wanted:
        report["pii"] = eval_pii()
    if "latency" in wanted:
        report["latency"] = eval_latency()
    if "intent" in wanted:
        report["intent"] = eval_intent(
            args.int8, args.embedder, args.cjk_threshold or EmbedderConfig().cjk_threshold
        )
    text = json.dumps(report, ensure_ascii=False, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

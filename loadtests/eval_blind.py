"""Development vs blind numbers, with Wilson 95 % intervals, for issue #18's goals.

    python loadtests/eval_blind.py [--only cache,injection,pii,intent,latency,kinds,embedcost]
        [--embedder minilm|minilm+wordllama|use-multilingual] [--cv] [--at-cv]
        [--threshold T] [--cjk-threshold T] [--json OUT]

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
  ``--embedder use-multilingual`` scores with USE multilingual v3. ``--cv`` picks the
  cache threshold for the chosen kind by 5-fold cross-validation on the development
  pairs only; with ``--at-cv`` the dev-hard and blind cells are then scored at that
  threshold (the value the criterion picks on all development pairs).
  ``--kinds-table`` runs every local kind at its CV-chosen threshold through the
  gateway's own ``VectorIndex`` (embedder + index + agreement guard) and prints tables.
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
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.embedding.service import HYBRIDS  # noqa: E402  (light: no model loads)

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


CACHE_SETS = {
    "dev-hard": "dev-hard/semcache-hard-dev.jsonl",
    "dev-zh": "dev-zh/semcache-zh-dev.jsonl",  # development since 2026-12-06
    "blind": "blind/semcache-blind.jsonl",  # scored and read before: development now
    "blind3": "blind3/semcache-blind3.jsonl",  # scored once (2026-12-06): development now
    "blind4": "blind4/semcache-blind4.jsonl",  # scored once (2026-12-06): development now
    "blind5": "blind5/semcache-blind5.jsonl",  # scored once (2026-12-06): development now
    "blind6": "blind6/semcache-blind6.jsonl",  # scored once (2026-12-06): development now
    "blind7": "blind7/semcache-blind7.jsonl",  # scored once (2026-12-06): development now
    "blind8": "blind8/semcache-blind8.jsonl",  # scored once (2026-12-06): development now
    "blind9": "blind9/semcache-blind9.jsonl",  # scored once (2026-12-06): development now
    "blind10": "blind10/semcache-blind10.jsonl",  # scored once (2026-12-06): development now
    "blind11": "blind11/semcache-blind11.jsonl",  # scored once (2026-12-06): development now
    "blind12": "blind12/semcache-blind12.jsonl",  # scored once (2026-12-06): development now
    "blind13": "blind13/semcache-blind13.jsonl",  # scored once (2026-12-06): development now
    "blind14": "blind14/semcache-blind14.jsonl",  # scored once (2026-12-06): development now
    "blind15": "blind15/semcache-blind15.jsonl",  # scored once (2026-12-06): development now
    "blind16": "blind16/semcache-blind16.jsonl",  # scored once (2026-12-06): development now
    "blind17": "blind17/semcache-blind17.jsonl",  # scored once (2026-12-06): development now
    "blind18": "blind18/semcache-blind18.jsonl",  # scored once (2026-12-06): development now
    "blind19": "blind19/semcache-blind19.jsonl",  # scored once (2026-12-06): development now
    "blind20": "blind20/semcache-blind20.jsonl",  # scored once (2026-12-06): development now
    "blind21": "blind21/semcache-blind21.jsonl",  # scored once (2026-12-06): development now
    "blind22": "blind22/semcache-blind22.jsonl",  # scored once (2026-12-06): development now
    "blind23": "blind23/semcache-blind23.jsonl",  # scored once (2026-12-06): development now
    "blind24": "blind24/semcache-blind24.jsonl",  # scored once (2026-12-06): development now
    "blind25": "blind25/semcache-blind25.jsonl",  # scored once (2026-12-06): development now
    "blind26": "blind26/semcache-blind26.jsonl",  # scored once (2026-12-06): development now
    "blind27": "blind27/semcache-blind27.jsonl",  # scored once (2026-12-06): development now
    "blind28": "blind28/semcache-blind28.jsonl",  # scored once (2026-12-06): development now
    "blind29": "blind29/semcache-blind29.jsonl",  # scored once (2026-12-06): development now
    "blind30": "blind30/semcache-blind30.jsonl",  # scored once (2026-12-07): development now
    "blind31": "blind31/semcache-blind31.jsonl",  # scored once (2026-12-07): development now
    "blind32": "blind32/semcache-blind32.jsonl",  # scored once (2026-12-07): development now
    "blind33": "blind33/semcache-blind33.jsonl",  # scored once (2026-12-07): development now
    "blind34": "blind34/semcache-blind34.jsonl",  # scored once (2026-12-07): development now
    "blind35": "blind35/semcache-blind35.jsonl",  # scored once (2026-12-07): development now
    "blind36": "blind36/semcache-blind36.jsonl",  # scored once (2026-12-07): development now
    "blind37": "blind37/semcache-blind37.jsonl",  # scored once (2026-12-07): development now
    "blind38": "blind38/semcache-blind38.jsonl",  # scored once (2026-12-07): development now
    "blind39": "blind39/semcache-blind39.jsonl",  # scored once (2026-12-07): development now
    "blind40": "blind40/semcache-blind40.jsonl",  # scored once (2026-12-07): development now
    "blind41": "blind41/semcache-blind41.jsonl",  # scored once (2026-12-07): development now
    "blind42": "blind42/semcache-blind42.jsonl",  # scored once (2026-12-07): development now
    "blind43": "blind43/semcache-blind43.jsonl",  # scored once (2026-12-07): development now
    "blind44": "blind44/semcache-blind44.jsonl",  # scored once (2026-12-07): development now
    "blind45": "blind45/semcache-blind45.jsonl",  # scored once (2026-12-07): development now
    "blind46": "blind46/semcache-blind46.jsonl",  # scored once (2026-12-07): development now
    "blind47": "blind47/semcache-blind47.jsonl",  # scored once (2026-12-07): development now
    "blind48": "blind48/semcache-blind48.jsonl",  # scored once (2026-12-07): development now
    "blind49": "blind49/semcache-blind49.jsonl",  # scored once (2026-12-07): development now
    "blind50": "blind50/semcache-blind50.jsonl",  # scored once (2026-12-07): development now
    "blind51": "blind51/semcache-blind51.jsonl",  # scored once (2026-12-07): development now
    "blind52": "blind52/semcache-blind52.jsonl",  # scored once (2026-12-07): development now
    "blind53": "blind53/semcache-blind53.jsonl",  # scored once (2026-12-07): development now
    "blind54": "blind54/semcache-blind54.jsonl",  # scored once (2026-12-07): development now
    "blind55": "blind55/semcache-blind55.jsonl",  # scored once (2026-12-07): development now
    "blind57": "blind57/semcache-blind57.jsonl",  # scored once (2026-12-07): development now
    "blind58": "blind58/semcache-blind58.jsonl",  # scored once (2026-12-07): development now
    "blind62": "blind62/semcache-blind62.jsonl",  # scored once (2026-12-07): development now
    "blind63": "blind63/semcache-blind63.jsonl",  # scored once (2026-12-07): development now
    "blind64": "blind64/semcache-blind64.jsonl",  # scored once (2026-12-07): development now
    "blind65": "blind65/semcache-blind65.jsonl",  # scored once (2026-12-07): development now
    "blind68": "blind68/semcache-blind68.jsonl",  # scored once (2026-12-07): development now
    "blind69": "blind69/semcache-blind69.jsonl",  # scored once (2026-12-07): development now
    "blind71": "blind71/semcache-blind71.jsonl",  # scored once (2026-12-07): development now
    "blind72": "blind72/semcache-blind72.jsonl",  # scored once (2026-12-07): development now
    "blind74": "blind74/semcache-blind74.jsonl",  # scored once (2026-12-07): development now
    "blind75": "blind75/semcache-blind75.jsonl",  # scored once (2026-12-07): development now
    "blind79": "blind79/semcache-blind79.jsonl",  # scored once (2026-12-07): development now
    "blind81": "blind81/semcache-blind81.jsonl",  # scored once (2026-12-07): development now
    "blind82": "blind82/semcache-blind82.jsonl",  # scored once (2026-12-07): development now
    "blind83": "blind83/semcache-blind83.jsonl",  # scored once (2026-12-07): development now
    "blind84": "blind84/semcache-blind84.jsonl",  # scored once (2026-12-07): development now
    "blind87": "blind87/semcache-blind87.jsonl",  # scored once (2026-12-07): development now
    "blind88": "blind88/semcache-blind88.jsonl",  # scored once (2026-12-07): development now
    "blind91": "blind91/semcache-blind91.jsonl",  # scored once (2026-12-07): development now
    "blind92": "blind92/semcache-blind92.jsonl",  # scored once (2026-12-07): development now
    "blind93": "blind93/semcache-blind93.jsonl",  # scored once (2026-12-07): development now
    "blind94": "blind94/semcache-blind94.jsonl",  # scored once (2026-12-07): development now
    "blind97": "blind97/semcache-blind97.jsonl",  # scored once (2026-12-07): development now
    "blind100": "blind100/semcache-blind100.jsonl",  # scored once (2026-12-07): development now
    "blind102": "blind102/semcache-blind102.jsonl",  # scored once (2026-12-07): development now
    "blind104": "blind104/semcache-blind104.jsonl",  # scored once (2026-12-07): development now
    "blind105": "blind105/semcache-blind105.jsonl",  # scored once (2026-12-07): development now
    "blind107": "blind107/semcache-blind107.jsonl",  # scored once (2026-12-07): development now
    "blind108": "blind108/semcache-blind108.jsonl",  # scored once (2026-12-07): development now
    "blind112": "blind112/semcache-blind112.jsonl",  # scored once (2026-12-07): development now
    "blind115": "blind115/semcache-blind115.jsonl",  # scored once (2026-12-07): development now
    "blind116": "blind116/semcache-blind116.jsonl",  # scored once (2026-12-07): development now
    "blind117": "blind117/semcache-blind117.jsonl",  # scored once (2026-12-07): development now
    "blind118": "blind118/semcache-blind118.jsonl",  # scored once (2026-12-07): development now
    "blind119": "blind119/semcache-blind119.jsonl",  # scored once (2026-12-07): development now
    "blind122": "blind122/semcache-blind122.jsonl",  # scored once (2026-12-07): development now
    "blind125": "blind125/semcache-blind125.jsonl",  # scored once (2026-12-07): development now
    "blind126": "blind126/semcache-blind126.jsonl",  # scored once (2026-12-07): development now
    "blind127": "blind127/semcache-blind127.jsonl",  # scored once (2026-12-07): development now
}
# Each held-out set is scored once and joins the development sets. The figures in
# docs/cache.md come from the commit that scored each set with --held-out (blind8:
# 9fce7e6, blind9: 12f09b1, blind10: 93b2aa0, blind11: 42fbb6c,
# blind12: b6bc047, blind13 and blind14 together: 750c21d, blind15: d94a2d5, blind16:
# 0771168, blind17 and blind18 together: b90d32a, blind19: 076b91f, blind20: e5e4d58,
# blind21: 09e02d2, blind22: e236b99, blind23: 4f48cee, blind24: c4507c7, blind25:
# 4ff67d8, blind26: e44cd2d, blind27: d10cd1f, blind28: 8367f4d, blind29: 0adeb51,
# blind30: 5559da3, blind31: dca8cb7, blind32: 7347d5e, blind33: cf6e7d3, blind34:
# 838ce7e, blind35: 0a9d756, blind36 and blind37 together: b276d9c, blind38 and
# blind39 together: e4a2886, blind40 and blind41 together: f9e9f66, blind42 and
# blind43 together: fe3adb8, blind44 and blind45 together: d2feaf7, blind46 and blind47
# together: 52eb72e, blind48 and blind49 together: 4f99555, blind50 and blind51
# together: c64c59b, blind52 and blind53 together: 0bcde59, blind54 and blind55
# together: a0746cf, blind57 and blind58 together: e85235a, blind62 and blind63
# together: 677c60c, blind64 and blind65 together: 8b7bd11, blind68 and blind69
# together: 2041390, blind71 and blind72 together: bfe420f, blind74, blind75 and blind79
# together: c26ca53, blind81 and blind82 together: 0aa4032, blind83 and blind84
# together: dcdb2e4, blind87 and blind88 together: e67d687, blind91 and blind92
# together: 02698fc, blind93, blind94 and blind97 together: 8ede56a, blind100: ad67086,
# blind102: 845f717, blind104, blind105, blind107 and blind108 together: 0f3bd0e, blind112
# and blind115 together: ec6efe9, blind116 and blind117 together: f9af85c, blind118,
# blind119 and blind122 together: efb5820, blind125: b3ba414, blind126 and blind127
# together: 1ecb154); write a new
# set, add it here (its IP texts follow), point HELD_OUT at it and freeze it before tuning
# again. Several may be scored at once, pooled.
HELD_OUT: tuple[str, ...] = ()
DEV_CACHE_SETS = tuple(name for name in CACHE_SETS if name not in HELD_OUT)


def sets_from(first: str, through: str | None = None) -> tuple[str, ...]:
    """The blind sets from ``first`` on (to ``through``, if given), in the order they were
    written: those a model trained before ``first`` was scored never saw."""
    names = list(CACHE_SETS)
    end = names.index(through) + 1 if through else len(names)
    return tuple(names[names.index(first) : end])


def cache_rows(name: str) -> list[dict[str, Any]]:
    return load(DATA / CACHE_SETS[name])


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
    """Scores pairs as the cache does, for MiniLM alone, the hybrid embedder (with its
    ``cjk_threshold`` a parameter: no re-embedding per value) or USE multilingual."""

    def __init__(self, int8: bool, kind: str = "minilm") -> None:
        self.kind = kind
        self.int8 = int8
        self.minilm: Any = None
        self.words: Any = None
        self.use: Any = None
        self._m: dict[str, Any] = {}
        self._w: dict[str, Any] = {}
        self._u: dict[str, Any] = {}
        self._c: dict[str, Any] = {}  # subject-character vectors (the minilm kind's CJK side)
        # The cache's pair models by script, with their cut and margin, as the gateway
        # runs MiniLM kinds (a tree with one verifier has only "latin").
        self.verifiers: dict[str, tuple[Any, float, float]] = {}
        self._p: dict[tuple[str, str], float] = {}

    def use_verifier(self) -> None:
        from gateway.cache import verifier as v
        from gateway.embedding.embedder import default_model_dir
        from gateway.embedding.pair import PairModel

        self.verifiers["latin"] = (PairModel(default_model_dir(), v.WEIGHTS), v.CUT, v.MARGIN)
        if hasattr(v, "WEIGHTS_ZH"):
            model = PairModel(default_model_dir(), v.WEIGHTS_ZH)
            self.verifiers["chinese"] = (model, v.CUT_ZH, v.MARGIN_ZH)

    def passes(self, a: str, b: str, score: float, threshold: float, fa: Any, fb: Any) -> bool:
        """Whether the similarity (and, between two texts in one script, that script's
        verifier) lets a guarded pair through: ``SemanticIndex.search``'s rule, ``a``
        the query."""
        from gateway.cache import verifier as v

        side = "latin" if v.reads(fa) else "chinese"
        if side not in self.verifiers:
            return score >= threshold
        model, cut, margin = self.verifiers[side]
        if score < threshold - margin:
            return False
        if v.reads(fb) != (side == "latin"):  # two scripts: the threshold decides
            return score >= threshold
        from gateway.cache import agreement

        if agreement.same_content(fa, fb):  # the same words: nothing for the verifier to judge
            return True
        if (a, b) not in self._p:
            self._p[a, b] = model.probability(a, b)
        return self._p[a, b] >= cut

    def prepare(self, texts: set[str], hybrid: bool = False) -> None:
        if self.kind == "use-multilingual":
            if self.use is None:
                from gateway.embedding.embedder import UseEmbedder

                self.use = UseEmbedder()
            for t in texts:
                if t not in self._u:
                    self._u[t] = self.use.embed_sync(t)
            return
        from gateway.cache.characters import character_vector

        if self.minilm is None:
            from gateway.embedding.embedder import OnnxEmbedder, default_model_dir

            self.minilm = OnnxEmbedder(default_model_dir(), int8=self.int8)
        for t in texts:
            if t not in self._m:
                self._m[t] = self.minilm.embed_sync(t)
                self._c[t] = character_vector(t)
        if hybrid or self.kind == "minilm+use":
            if self.words is None and self.kind == "minilm+use":  # USE for the CJK share
                from gateway.embedding.embedder import UseEmbedder

                self.words = UseEmbedder()
            elif self.words is None:
                from gateway.embedding.embedder import WordLlamaEmbedder

                self.words = WordLlamaEmbedder()
            for t in texts:
                if t not in self._w:
                    self._w[t] = self.words.embed_sync(t)

    def score(self, a: str, b: str, cjk_threshold: float | None, reference: float) -> float:
        import numpy as np

        from gateway.cache import agreement as guard
        from gateway.wire.texts import cjk_letter_share as cjk_share

        fa, fb = guard.features(a), guard.features(b)
        if self.kind == "use-multilingual":  # ``UseEmbedder``'s split vectors, in closed form
            cos_u = float(np.dot(self._u[a], self._u[b]))
            if cjk_threshold is None:
                return guard.similarity(cos_u, fa, fb, lexical_cjk=False)
            k = (1 - reference) / (1 - cjk_threshold)
            sa, sb = cjk_share(a), cjk_share(b)
            cosine = math.sqrt((1 - sa) * (1 - sb)) * cos_u + math.sqrt(sa * sb) * (
                (1 - k) + k * cos_u
            )
            return guard.similarity(cosine, fa, fb, lexical_cjk=False)
        cos_m = float(np.dot(self._m[a], self._m[b]))
        if cjk_threshold is None:  # the character-overlap stand-in (before 2026-12-06)
            return guard.similarity(cos_m, fa, fb)
        k = (1 - reference) / (1 - cjk_threshold)
        sa, sb = cjk_share(a), cjk_share(b)
        side = self._w if self.words is not None else self._c  # hybrid, else characters
        cos_w = float(np.dot(side[a], side[b])) if sa and sb else 0.0
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
        fa, fb = guard.features(r["a"]), guard.features(r["b"])
        why = guard.agree(fa, fb)
        passes = scorer.passes(r["a"], r["b"], score, threshold, fa, fb)
        hit = passes and why is None
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
        elif not passes and score >= threshold:
            refused[f"{r['lang']}:verifier"] += 1
    report: Report = {
        key: {"precision": fmt(tp, tp + fp), "recall": fmt(tp, pos), "false_hits": fp}
        for key, (tp, fp, pos, _) in sorted(cells.items())
    }
    report["false_hits_per_kind"] = {k: f"{v[1]}/{v[0]}" for k, v in sorted(kinds.items())}
    report["paraphrases_refused_by_rule"] = dict(sorted(refused.items()))
    return report


CJK_GRID = [0.50, 0.55, 0.60, 0.65, 0.70, 0.72, 0.75, 0.78, 0.80, 0.85]


def cv_cjk_threshold(
    rows: list[dict[str, Any]],
    scorer: PairScorer,
    threshold: float,
    folds: int = 5,
    min_precision: float = 1.0,
) -> Report:
    """5-fold cross-validation of a split kind's ``cjk_threshold`` on development
    Chinese pairs (with their easy negatives): on the training folds, the lowest value
    whose precision is at least ``min_precision`` (1.0: no false hit); figures on the
    held-out folds, pooled."""
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

    def precise(flags: list[bool], indexes: list[int]) -> bool:
        true = sum(1 for f, i in zip(flags, indexes, strict=True) if f and zh[i]["same"])
        false = sum(1 for f, i in zip(flags, indexes, strict=True) if f and not zh[i]["same"])
        return false == 0 or true / (true + false) >= min_precision

    tp = fp = pos = 0
    chosen: list[float] = []
    for k in range(folds):
        train = [i for i in range(len(zh)) if fold_of[i] != k]
        pick = next(
            (t for t in CJK_GRID if precise([hits[t][i] for i in train], train)), CJK_GRID[-1]
        )
        chosen.append(pick)
        for i in range(len(zh)):
            if fold_of[i] == k:
                tp += hits[pick][i] and zh[i]["same"]
                fp += hits[pick][i] and not zh[i]["same"]
                pos += zh[i]["same"]
    everything = list(range(len(zh)))
    full = next((t for t in CJK_GRID if precise(hits[t], everything)), CJK_GRID[-1])
    return {
        "chosen_per_fold": chosen,
        "chosen_on_all_dev": full,
        "cv_precision": fmt(tp, tp + fp),
        "cv_recall": fmt(tp, pos),
    }


THRESHOLD_GRID = [0.78, 0.80, 0.82, 0.84, 0.86, 0.88, 0.90, 0.92]
# USE's cosines run lower than MiniLM's (dev-hard zh paraphrases: .71 reach 0.75): a
# grid that reaches further down, fixed before any run.
THRESHOLD_GRIDS = {
    "use-multilingual": [round(0.60 + 0.02 * i, 2) for i in range(17)],  # 0.60 … 0.92
}


def cv_threshold(
    scorer: PairScorer, folds: int = 5, cjk: float | None = None, hybrid: bool = False
) -> Report:
    """5-fold cross-validation of the cache threshold (the scorer's embedder + guard) on
    the development pairs: QQP, dev-hard and easy negatives. On the training folds: the
    lowest threshold with dev-hard precision ≥ 0.99, no easy-negative false hit and
    QQP precision ≥ 0.90 (the criterion ``eval_semantic_cache.py`` uses); pooled
    figures on the held-out folds, per set and per language. ``chosen_on_all_dev``:
    the same criterion on every development pair (the default to ship)."""
    from gateway.cache import agreement as guard

    hard = cache_rows("dev-hard")
    rows = [{**r, "set": "hard"} for r in hard] + [
        {**r, "set": "easy"} for r in easy_negatives(hard)
    ]
    rows += [
        {"a": r["a"], "b": r["b"], "same": r["duplicate"], "lang": "en", "set": "qqp"}
        for r in load(DATA / "semantic-cache/qqp-dev.jsonl")
    ]
    scorer.prepare({t for r in rows for t in (r["a"], r["b"])}, hybrid=hybrid)
    scores = [scorer.score(r["a"], r["b"], cjk, 0.86) for r in rows]
    grid = THRESHOLD_GRIDS.get(scorer.kind, THRESHOLD_GRID)
    agreed = [guard.agree(guard.features(r["a"]), guard.features(r["b"])) is None for r in rows]
    order = list(range(len(rows)))
    random.Random(18).shuffle(order)
    fold_of = {i: n % folds for n, i in enumerate(order)}

    def counts(indexes: list[int], t: float) -> dict[str, list[int]]:
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # tp fp pos
        for i in indexes:
            hit = scores[i] >= t and agreed[i]
            for name in (rows[i]["set"], f"{rows[i]['set']}/{rows[i]['lang']}"):
                cell = out[name]
                cell[0] += hit and rows[i]["same"]
                cell[1] += hit and not rows[i]["same"]
                cell[2] += rows[i]["same"]
        return out

    def meets(c: dict[str, list[int]]) -> bool:
        return precision(c["hard"]) >= 0.99 and c["easy"][1] == 0 and precision(c["qqp"]) >= 0.90

    def precision(cell: list[int]) -> float:
        return cell[0] / (cell[0] + cell[1]) if cell[0] + cell[1] else 1.0

    pooled: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    chosen = []
    for k in range(folds):
        train = [i for i in range(len(rows)) if fold_of[i] != k]
        test = [i for i in range(len(rows)) if fold_of[i] == k]
        pick = next((t for t in grid if meets(counts(train, t))), grid[-1])
        chosen.append(pick)
        for name, cell in counts(test, pick).items():
            for j in range(3):
                pooled[name][j] += cell[j]
    everything = list(range(len(rows)))
    return {
        "embedder": scorer.kind + (f" (cjk_threshold {cjk})" if cjk is not None else ""),
        "grid": grid,
        "chosen_per_fold": chosen,
        "chosen_on_all_dev": next((t for t in grid if meets(counts(everything, t))), grid[-1]),
        **{
            f"{name} held-out": {
                "precision": fmt(c[0], c[0] + c[1]),
                **({"recall": fmt(c[0], c[2])} if c[2] else {}),
                "false_hits": c[1],
            }
            for name, c in sorted(pooled.items())
        },
    }


def eval_cache(
    threshold: float | None,
    int8: bool,
    embedder: str,
    cjk: float,
    cv: bool = False,
    at_cv: bool = False,
    held_out: bool = False,
    verifier: bool = True,
) -> Report:
    """``threshold`` None: the config's default for the kind, or with ``at_cv`` the one
    cross-validation picks on all development pairs (computed before any blind row is
    scored). Every kind splits its vectors by script: ``cjk`` is the CJK side's
    threshold (subject characters for minilm, WordLlama for the hybrid, USE for USE).
    ``held_out``: also score the held-out sets (once, after every choice is made), each
    and pooled. ``verifier``: the cache's verifiers judge pairs in one script, as the
    gateway runs the MiniLM kinds (``SemanticIndex.search``)."""
    from gateway.cache.config import EmbedderConfig, SemanticConfig

    scorer = PairScorer(int8, embedder if embedder in OWN_SCORERS else "minilm")
    hybrid = embedder in HYBRIDS
    report: Report = {"embedder": embedder, "cjk_threshold": cjk}
    if verifier:  # (imported only then: a tree from before the verifier scores without)
        from gateway.cache.semantic import VERIFIED_KINDS

        if embedder in VERIFIED_KINDS:
            scorer.use_verifier()
            report["verifier"] = "on"
    if cv or at_cv:
        report["dev threshold CV"] = cv_threshold(scorer, cjk=cjk, hybrid=hybrid)
    if threshold is None:
        if at_cv:
            threshold = report["dev threshold CV"]["chosen_on_all_dev"]
        else:
            kind: Any = embedder
            threshold = SemanticConfig(embedder=EmbedderConfig(kind=kind)).effective_threshold
    assert threshold is not None
    report["threshold"] = threshold
    if cv and embedder in ("minilm", "minilm+use"):
        # The CJK side's threshold (USE cosine, or subject characters): every Chinese
        # development pair (dev-hard, dev-zh, the first blind set) and their easy
        # negatives, precision >= 0.99.
        zh = [r for name in DEV_CACHE_SETS for r in cache_rows(name)]
        zh = [r for r in zh if r["lang"] == "zh"]
        zh = zh + easy_negatives(zh)
        scorer.prepare({t for r in zh for t in (r["a"], r["b"])})
        report["dev zh cjk_threshold CV"] = cv_cjk_threshold(
            zh, scorer, threshold, min_precision=0.99
        )
    if held_out and not HELD_OUT:
        raise SystemExit("no held-out set: every blind set has been scored (see HELD_OUT)")
    pooled: list[dict[str, Any]] = []
    for name in DEV_CACHE_SETS + (HELD_OUT if held_out else ()):
        rows = cache_rows(name)
        rows = rows + easy_negatives(rows)
        scorer.prepare({t for r in rows for t in (r["a"], r["b"])}, hybrid)
        report[name] = cache_cells(rows, scorer, threshold, cjk)
        if name in HELD_OUT:
            pooled += rows
        if embedder == "minilm+wordllama" and name == "dev-hard":
            report["dev-hard zh cjk_threshold CV"] = cv_cjk_threshold(rows, scorer, threshold)
    if held_out and len(HELD_OUT) > 1:
        report["held-out pooled"] = cache_cells(pooled, scorer, threshold, cjk)
    return report


KINDS = ("minilm+use", "minilm", "minilm+wordllama", "use-multilingual")
OWN_SCORERS = ("minilm+use", "use-multilingual")  # PairScorer kinds besides minilm
USE_CJK_GRID = [round(0.60 + 0.02 * i, 2) for i in range(14)]  # 0.60 … 0.86


def related_pairs(rows: list[dict[str, Any]], lang: str) -> list[tuple[str, str]]:
    """Different questions on a related topic: ``a`` of one dev-hard row against ``b``
    of every other row of the same domain and language (QQP's negatives are of this
    sort; there is no Chinese QQP among the development sets)."""
    same = [r for r in rows if r["lang"] == lang]
    return [
        (r["a"], o["b"])
        for r in same
        for o in same
        if o is not r and o["domain"] == r["domain"] and o["a"] != r["a"]
    ]


def cv_use_cjk_threshold(scorer: PairScorer, reference: float, folds: int = 5) -> Report:
    """5-fold cross-validation (over dev-hard rows) of USE's ``cjk_threshold``, after
    the Latin threshold ``reference`` was chosen by ``cv_threshold``. On the training
    rows: the lowest value with (1) no false hit on the Chinese dev-hard pairs and easy
    negatives and (2) a false-hit rate on Chinese related pairs (``related_pairs``) no
    higher than the English related pairs' at ``reference``: the same rate of wrong
    answers on related questions in both languages, which (1) alone cannot bound (the
    guard stops every Chinese hard negative at any grid value). Pooled held-out figures.
    """
    from gateway.cache import agreement as guard

    hard = cache_rows("dev-hard")
    order = list(range(len(hard)))
    random.Random(18).shuffle(order)
    fold_of = {hard[i]["id"]: n % folds for n, i in enumerate(order)}
    texts = {t for r in hard for t in (r["a"], r["b"])}
    scorer.prepare(texts)

    def hit(a: str, b: str, t: float | None) -> bool:
        score = scorer.score(a, b, t, reference)
        return score >= reference and guard.agree(guard.features(a), guard.features(b)) is None

    def rows_in(pick: set[int]) -> list[dict[str, Any]]:
        return [r for r in hard if fold_of[r["id"]] in pick]

    def rates(rows: list[dict[str, Any]], t: float) -> dict[str, list[int]]:
        labelled = [r for r in rows if r["lang"] == "zh"] + [
            r for r in easy_negatives(rows) if r["lang"] == "zh"
        ]
        out = {"tp": [0, 0], "fp": [0, 0], "related_zh": [0, 0], "related_en": [0, 0]}
        for r in labelled:
            h = hit(r["a"], r["b"], t)
            out["tp" if r["same"] else "fp"][0] += h
            out["tp" if r["same"] else "fp"][1] += 1
        for lang in ("zh", "en"):
            for a, b in related_pairs(rows, lang):
                out[f"related_{lang}"][0] += hit(a, b, t if lang == "zh" else None)
                out[f"related_{lang}"][1] += 1
        return out

    def meets(c: dict[str, list[int]]) -> bool:
        zh_rate = c["related_zh"][0] / max(1, c["related_zh"][1])
        en_rate = c["related_en"][0] / max(1, c["related_en"][1])
        return c["fp"][0] == 0 and zh_rate <= en_rate

    pooled = {"tp": [0, 0], "fp": [0, 0], "related_zh": [0, 0]}
    chosen = []
    for k in range(folds):
        train = rows_in(set(range(folds)) - {k})
        pick = next((t for t in USE_CJK_GRID if meets(rates(train, t))), USE_CJK_GRID[-1])
        chosen.append(pick)
        held = rates(rows_in({k}), pick)
        for key in pooled:
            pooled[key][0] += held[key][0]
            pooled[key][1] += held[key][1]
    everything = rates(hard, USE_CJK_GRID[0])
    full = next((t for t in USE_CJK_GRID if meets(rates(hard, t))), USE_CJK_GRID[-1])
    at_full = rates(hard, full)
    return {
        "reference": reference,
        "grid": USE_CJK_GRID,
        "chosen_per_fold": chosen,
        "chosen_on_all_dev": full,
        "held-out zh recall": fmt(pooled["tp"][0], pooled["tp"][1]),
        "held-out zh false hits (hard + easy)": f"{pooled['fp'][0]}/{pooled['fp'][1]}",
        "held-out zh related-pair false hits": fmt(*pooled["related_zh"]),
        "all dev at chosen: related zh / en false hits": [
            fmt(*at_full["related_zh"]),
            fmt(*at_full["related_en"]),
        ],
        "all dev at grid floor: related zh false hits": fmt(*everything["related_zh"]),
    }


def build_embedder(kind: str, int8: bool = True, threshold: float = 0.0, cjk: float = 0.0) -> Any:
    """The embedder the gateway builds for ``kind`` (in process); for the cache's
    ``use-multilingual`` split by script at ``cjk`` onto ``threshold``."""
    from gateway.cache.config import DEFAULT_THRESHOLD, EmbedderConfig
    from gateway.embedding.service import Embedders

    embedders = Embedders()
    if kind == "use-multilingual":
        if not cjk:
            return embedders.use()
        return embedders.use(cjk_threshold=cjk, reference=threshold)
    from gateway.embedding.embedder import default_model_dir

    if kind in HYBRIDS:
        return embedders.hybrid(
            default_model_dir(),
            int8=int8,
            cjk_threshold=cjk or EmbedderConfig(kind=kind).effective_cjk_threshold,
            reference=DEFAULT_THRESHOLD,
            kind=kind,
        )
    cjk = cjk or EmbedderConfig(kind="minilm").effective_cjk_threshold
    return _CharacterSplit(embedders.onnx(default_model_dir(), int8=int8), cjk)


class _CharacterSplit:
    """The minilm kind's embedder (``CharacterSplitEmbedder``) over a synchronous MiniLM."""

    multilingual = True

    def __init__(self, minilm: Any, cjk: float) -> None:
        from gateway.cache.characters import CharacterSplitEmbedder
        from gateway.cache.config import DEFAULT_THRESHOLD

        self._minilm = minilm
        self._split = CharacterSplitEmbedder(minilm, cjk_threshold=cjk, reference=DEFAULT_THRESHOLD)

    def embed_sync(self, text: str) -> Any:
        return self._split.vector(self._minilm.embed_sync(text), text)


def index_cells(rows: list[dict[str, Any]], embedder: Any, threshold: float) -> Report:
    """Each pair through the gateway's own path: ``b`` stored in a ``VectorIndex`` (its
    vector and guard features), ``a`` searched at ``threshold`` with the guard on and
    the character-overlap stand-in as the cache sets it for this embedder."""
    from gateway.cache import agreement as guard
    from gateway.cache.index import IndexEntry, VectorIndex

    overlap = not getattr(embedder, "multilingual", False)
    vectors: dict[str, Any] = {}

    def vector(text: str) -> Any:
        if text not in vectors:
            vectors[text] = embedder.embed_sync(text)
        return vectors[text]

    cells: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # tp fp pos
    kinds: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # n, false hits
    refused: dict[str, int] = defaultdict(int)
    for r in rows:
        index = VectorIndex(4)
        entry = IndexEntry("b", "t", "ns", r["b"], time.time() + 60, guard.features(r["b"]))
        index.add(entry, vector(r["b"]))
        match, refusal = index.search(
            "ns", vector(r["a"]), guard.features(r["a"]), threshold, True, overlap
        )
        hit = match is not None
        for key in (r["lang"], "all"):
            cells[key][0] += hit and r["same"]
            cells[key][1] += hit and not r["same"]
            cells[key][2] += r["same"]
        if not r["same"]:
            kinds[f"{r['kind']}/{r['lang']}"][0] += 1
            kinds[f"{r['kind']}/{r['lang']}"][1] += hit
        elif refusal is not None:
            refused[f"{r['lang']}:{refusal.reason}"] += 1
    report: Report = {
        key: {
            "precision": fmt(tp, tp + fp),
            "recall": fmt(tp, pos),
            "hits": tp + fp,
            "false_hits": fp,
        }
        for key, (tp, fp, pos) in sorted(cells.items())
    }
    report["false_hits_per_kind"] = {k: f"{v[1]}/{v[0]}" for k, v in sorted(kinds.items())}
    report["paraphrases_refused"] = dict(sorted(refused.items()))
    return report


def eval_kinds(int8: bool) -> Report:
    """Every local kind: its thresholds chosen by CV on the development pairs first
    (``cv_threshold``; for ``use-multilingual`` then ``cv_use_cjk_threshold``; the
    hybrid's ``cjk_threshold`` is its documented CV value), then dev-hard (development)
    and blind cells through the gateway's index at those thresholds."""
    from gateway.cache.config import EmbedderConfig

    report: Report = {}
    for kind in KINDS:
        use = kind == "use-multilingual"
        scorer = PairScorer(int8, kind if kind in OWN_SCORERS else "minilm")
        cjk = EmbedderConfig(kind=kind).effective_cjk_threshold
        cv = cv_threshold(scorer, cjk=cjk, hybrid=kind in HYBRIDS)
        threshold = cv["chosen_on_all_dev"]
        entry: Report = {"dev threshold CV": cv, "threshold": threshold}
        if use:
            entry["dev cjk_threshold CV"] = cv_use_cjk_threshold(scorer, threshold)
            cjk = entry["dev cjk_threshold CV"]["chosen_on_all_dev"]
        entry["cjk_threshold"] = cjk
        embedder = build_embedder(kind, int8, threshold, cjk)
        for name in ("dev-hard", "blind"):  # the thresholds are fixed before this
            rows = cache_rows(name)
            entry[name] = index_cells(rows + easy_negatives(rows), embedder, threshold)
        report[kind] = entry
    print_kinds_table(report)
    return report


def print_kinds_table(report: Report) -> None:
    """Markdown tables for the closing note (stderr, beside the JSON on stdout)."""

    def out(line: str = "") -> None:
        print(line, file=sys.stderr)

    out("| kind | threshold (CV, dev) | set | lang | precision [95% CI] | recall [95% CI] |")
    out("|---|---|---|---|---|---|")
    for kind, entry in report.items():
        cjk = entry.get("cjk_threshold")
        threshold = f"{entry['threshold']}" + (f" (cjk {cjk})" if cjk else "")
        for name in ("dev-hard", "blind"):
            label = "dev-hard (dev)" if name == "dev-hard" else "blind"
            for lang in ("en", "zh"):
                cell = entry[name][lang]
                out(
                    f"| {kind} | {threshold} | {label} | {lang} | "
                    f"{cell['precision']} | {cell['recall']} |"
                )
    out()
    out("False hits per negative kind (false hits / negatives), en and zh:")
    out()
    negative_kinds = ("direction", "number", "negation", "entity", "scope", "easy")
    out("| kind | set | " + " | ".join(negative_kinds) + " |")
    out("|---|---|" + "---|" * len(negative_kinds))
    for kind, entry in report.items():
        for name in ("dev-hard", "blind"):
            per = entry[name]["false_hits_per_kind"]
            row = [f"{per.get(f'{k}/en', '-')} · {per.get(f'{k}/zh', '-')}" for k in negative_kinds]
            out(f"| {kind} | {name} | " + " | ".join(row) + " |")
    out()
    out("Cross-validation (5 folds, dev only): per-fold picks; held-out dev-hard / QQP:")
    out()
    for kind, entry in report.items():
        cv = entry["dev threshold CV"]
        hard, qqp = cv.get("hard held-out", {}), cv.get("qqp held-out", {})
        out(
            f"- {kind}: folds {cv['chosen_per_fold']}, all dev {cv['chosen_on_all_dev']}; "
            f"held-out hard P {hard.get('precision')} R {hard.get('recall')}; "
            f"hard/zh R {cv.get('hard/zh held-out', {}).get('recall')}; "
            f"QQP P {qqp.get('precision')} R {qqp.get('recall')}"
        )
        if "dev cjk_threshold CV" in entry:
            c = entry["dev cjk_threshold CV"]
            out(
                f"  cjk_threshold: folds {c['chosen_per_fold']}, all dev "
                f"{c['chosen_on_all_dev']}; held-out zh R {c['held-out zh recall']}, "
                f"zh false hits {c['held-out zh false hits (hard + easy)']}, related-pair "
                f"false hits {c['held-out zh related-pair false hits']}"
            )


def eval_embed_cost(kind: str, int8: bool = True, runs: int = 200) -> Report:
    """p50 / p99 ms per embedding on the calling thread (distinct dev texts, en and zh)
    and resident memory the kind adds (RSS after loading and warming minus before; run
    each kind in a fresh process for a clean figure)."""
    import statistics

    import numpy  # noqa: F401  # numpy's own RSS is not the embedder's

    def rss_mb() -> float:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    before = rss_mb()
    embedder = build_embedder(kind, int8)
    loaded = rss_mb()
    texts = [t for r in cache_rows("dev-hard") for t in (r["a"], r["b"])][:runs]
    samples = []
    for text in texts:
        started = time.perf_counter()
        embedder.embed_sync(text)
        samples.append((time.perf_counter() - started) * 1e3)
    samples.sort()
    return {
        "kind": kind,
        "p50_ms": round(statistics.median(samples), 2),
        "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 2),
        "rss_added_mb": round(rss_mb() - before, 1),
        "rss_added_after_load_mb": round(loaded - before, 1),
        "load_average_1m": os.getloadavg()[0],
    }


# --- injection ---------------------------------------------------------------------------

# The injection + PII held-out sets (a folder each, holding injection-NAME.jsonl and
# pii-NAME.jsonl), by the commit that scored each once; development since. A new one is
# added here frozen, marked "held out", and scored on the tree of that moment.
GUARD_SETS = {
    "blind3": "2026-12-06",
    "blind56": "743d311",
    "blind59": "4af30ff",
    "blind60": "8729ff4",
    "blind61": "e8070cf",
    "blind66": "835292a",
    "blind67": "c1c490e",
    "blind70": "3e12f49",
    "blind73": "2607b93",
    "blind76": "5331408",
    "blind77": "2bdf98a",
    "blind78": "09916ae",
    "blind80": "4bbcd04",
    "blind85": "fd80673",
    "blind86": "5514594",
    "blind89": "d1c61c3",
    "blind95": "2d18b11",
    "blind96": "dbd39eb",
    "blind98": "92a5f87",
    "blind99": "92a5f87",
    "blind101": "7c467c3",
    "blind103": "76023b8",
    "blind106": "8ca2e0d",
    "blind109": "31109c9",
    "blind111": "fc32b96",
    "blind110": "cd23153",
    "blind113": "2cdb355",
    "blind114": "2cdb355",
    "blind120": "be09552",
    "blind121": "be09552",
    "blind123": "432c4cc",
    "blind124": "432c4cc",
    "blind128": "8a59f6b",
}


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
        **{name: load(DATA / name / f"injection-{name}.jsonl") for name in GUARD_SETS},
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


def ip_set(name: str) -> Path:
    """A blind set's IP texts (blind4 on), beside its cache pairs."""
    return DATA / name / f"pii-ip-{name}.jsonl"


def eval_pii(held_out: bool = False) -> Report:
    """The PII sets, and each scored blind set's IP texts (from ``CACHE_SETS``: one list
    names the sets for both); ``held_out`` adds ``HELD_OUT``'s, as for the cache."""
    from gateway.guard.pii import PiiDetector

    if held_out and not HELD_OUT:
        raise SystemExit("no held-out set: every blind set has been scored (see HELD_OUT)")
    detector = PiiDetector()
    report: Report = {}
    ip_sets = [n for n in DEV_CACHE_SETS + (HELD_OUT if held_out else ()) if ip_set(n).exists()]
    for name, path in (
        ("dev pii-dev-extra", DATA / "dev-hard/pii-dev-extra.jsonl"),
        ("blind", DATA / "blind/pii-blind.jsonl"),
        ("blind2 ip", DATA / "blind2/ip-blind2.jsonl"),
        *((name, DATA / name / f"pii-{name}.jsonl") for name in GUARD_SETS),
        ("ip-dev", DATA / "ip-dev/ip-dev.jsonl"),
        *((f"{n} ip", ip_set(n)) for n in ip_sets),
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


def eval_intent(int8: bool, kind: str | None = None, cjk: float = 0.7) -> Report:
    """``kind``: the embedder to score with; None: the shipped policy's own."""

    from gateway.config.loader import parse_config
    from gateway.embedding.embedder import OnnxEmbedder, default_model_dir
    from gateway.intent.classifier import IntentClassifier

    env = {**os.environ, "OPENAI_API_KEY": "x", "GATEWAY_MASTER_KEY": "sk-eval-master-key"}
    env |= {"SUPPORT_KEY": "sk-eval-support-key", "RESEARCH_KEY": "sk-eval-research-key"}
    policy = (ROOT / "policies/intent-routing.yaml").read_text()
    router = parse_config(policy, env=env).intents["auto"]
    kind = kind or router.embedder.kind
    embedder: Any = OnnxEmbedder(default_model_dir(), int8=int8)
    if kind == "use-multilingual":
        from gateway.embedding.embedder import UseEmbedder

        embedder = UseEmbedder()
    elif kind == "minilm+wordllama":
        from gateway.cache.config import DEFAULT_THRESHOLD
        from gateway.embedding.embedder import HybridEmbedder, WordLlamaEmbedder

        embedder = HybridEmbedder(
            embedder, WordLlamaEmbedder(), cjk_threshold=cjk, reference=DEFAULT_THRESHOLD
        )
    classifier = IntentClassifier(router, embedder.embed_sync)
    report: Report = {
        "embedder": kind,
        "dev held-back accuracy (5-fold, policy examples)": round(
            classifier.held_back_accuracy(), 3
        ),
    }
    # Each scored before (blind3 once, as the held-out set of 2026-12-06; blind90 once,
    # on b0022f7, 2026-12-07): development now.
    for name in (
        "blind/intent-blind.jsonl",
        "blind3/intent-blind3.jsonl",
        "blind90/intent-blind90.jsonl",
    ):
        cells: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        wrong = []
        for r in load(DATA / name):
            got = classifier.decide(r["text"], embedder.embed_sync(r["text"])).intent
            cells[r["lang"]][0] += got == r["intent"]
            cells[r["lang"]][1] += 1
            if got != r["intent"]:
                wrong.append(f"{r['text']} -> {got} (want {r['intent']})")
        key = name.split("/")[0]
        report[key] = {k: fmt(*v) for k, v in sorted(cells.items())}
        report[f"{key} wrong"] = wrong
    return report


def eval_latency(runs: int = 3) -> Report:
    """Wall time per call in this process (p50/p99 µs): the injection detector and the
    PII detector on 1 KB prompts (distinct texts, so no memo helps), the cache
    guard's features + agreement per pair, and each cache verifier per pair."""
    import statistics

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

    report: Report = {
        "load_average_1m": os.getloadavg()[0],
        "injection_1KB": timed(injection.score, prompts),
        "pii_1KB": timed(pii.scan, prompts),
        "cache_guard_pair": timed(
            lambda p: guard.agree(guard.features(p[0]), guard.features(p[1])), pairs
        ),
    }
    try:  # the cache verifiers, one pair per call (a tree without them: skipped)
        from gateway.cache import verifier as v
        from gateway.embedding.embedder import default_model_dir
        from gateway.embedding.pair import PairModel
    except ImportError:
        return report
    for key, name, lang in (
        ("cache_verifier_pair", "WEIGHTS", "en"),
        ("cache_verifier_pair_zh", "WEIGHTS_ZH", "zh"),
    ):
        if hasattr(v, name):
            model = PairModel(default_model_dir(), getattr(v, name))
            chosen = [
                p for p, r in zip(pairs, cache_rows("dev-hard"), strict=True) if r["lang"] == lang
            ]
            report[key] = timed(lambda p, m=model: m.probability(*p), chosen)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only", default="cache,injection,pii,intent,latency", help="also: kinds, embedcost"
    )
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--int8", action="store_true", default=True)
    parser.add_argument(
        "--embedder",
        choices=list(KINDS),
        default=None,
        help="cache: default minilm+use; intent: default the shipped policy's own kind",
    )
    parser.add_argument("--cjk-threshold", type=float, default=None)
    parser.add_argument("--cv", action="store_true", help="cross-validate the threshold on dev")
    parser.add_argument(
        "--no-verifier", action="store_true", help="the cache without its verifier (MiniLM kinds)"
    )
    parser.add_argument(
        "--at-cv", action="store_true", help="score the cache at the CV-chosen threshold"
    )
    parser.add_argument(
        "--held-out",
        action="store_true",
        help=f"also score the held-out sets ({', '.join(HELD_OUT)})",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    report: Report = {}
    from gateway.cache.config import EmbedderConfig

    cache_kind: Any = args.embedder or EmbedderConfig().kind
    if "cache" in wanted:
        cjk = args.cjk_threshold or EmbedderConfig(kind=cache_kind).effective_cjk_threshold
        report["cache"] = eval_cache(
            args.threshold,
            args.int8,
            cache_kind,
            cjk,
            args.cv,
            args.at_cv,
            args.held_out,
            verifier=not args.no_verifier,
        )
    if "kinds" in wanted:
        report["kinds"] = eval_kinds(args.int8)
    if "embedcost" in wanted:
        report["embedcost"] = eval_embed_cost(cache_kind, args.int8)
    if "injection" in wanted:
        report["injection"] = eval_injection()
    if "pii" in wanted:
        report["pii"] = eval_pii(args.held_out)
    if "latency" in wanted:
        report["latency"] = eval_latency()
    if "intent" in wanted:
        report["intent"] = eval_intent(
            args.int8, args.embedder, args.cjk_threshold or EmbedderConfig().effective_cjk_threshold
        )
    text = json.dumps(report, ensure_ascii=False, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

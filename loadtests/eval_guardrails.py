# ruff: noqa: RUF001  (look-alike letters generate test evasions)
"""Evaluate the guardrails on the shared development data and measure their cost.

    python loadtests/eval_guardrails.py [--data tests/data] [--skip-cost] [--json OUT]

Quality (development numbers: these files were used while building the detectors):
- PII: recall and precision per type on ``pii/presidio-synth-dev.jsonl`` (presidio
  types mapped to ours; names, addresses, dates... are out of scope) and per type and
  subtype on ``dev-hard/pii-dev-extra.jsonl``, overlap and exact-boundary matches,
  redaction coverage, false positives per look-alike kind.
- Prompt injection: recall, false-positive rate, precision, F1, ROC-AUC on
  ``injection/s-labs-validation.jsonl`` (also per layer: rules only, classifier only),
  false positives on XSTest, and per-kind results on ``dev-hard/injection-zh-dev.jsonl``.
- Sensitive terms: recall per evasion and false positives per near-miss kind on
  ``dev-hard/sensitive-dev.jsonl``, plus evasions that set lacks (homoglyphs,
  leetspeak, line breaks) generated from its word list.

Cost (wall time in this process, one request at a time): the shipped ``default``
policy's input stage per request for a 1 KB and a 20 KB prompt (p50/p99 µs), its
output stage on a whole answer, and the time a stream guard adds per chunk. Prompts
interleave the presidio sentences (so they carry personal data to redact) with the
paraphrase set's statements; the policy lets them through.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.auth.keys import PRINCIPAL  # noqa: E402
from gateway.guard.classifier import InjectionClassifier  # noqa: E402
from gateway.guard.injection import InjectionDetector  # noqa: E402
from gateway.guard.pii import PiiDetector  # noqa: E402
from gateway.guard.terms import TermMatcher, load_terms  # noqa: E402

PRESIDIO_TYPES = {
    "CREDIT_CARD": "CREDIT_CARD",
    "EMAIL_ADDRESS": "EMAIL",
    "IBAN_CODE": "IBAN",
    "IP_ADDRESS": "IP_ADDRESS",
    "PHONE_NUMBER": "PHONE",
    "US_SSN": "US_SSN",
}
THRESHOLD = 0.5
Report = dict[str, Any]


def rows(data: Path, relative: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (data / relative).read_text("utf-8").splitlines()]


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


# --- PII ----------------------------------------------------------------------------------


def eval_pii(data: Path, relative: str, type_map: dict[str, str] | None, by: str) -> Report:
    pii = PiiDetector()
    gold: Counter[str] = Counter()
    overlap: Counter[str] = Counter()
    exact: Counter[str] = Counter()
    covered: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    true_pred: Counter[str] = Counter()
    negatives: dict[str, list[bool]] = defaultdict(list)
    for row in rows(data, relative):
        found = pii.scan(row["text"])
        spans = []
        for span in row["spans"]:
            label = type_map.get(span["type"]) if type_map else span["type"]
            if label is None:
                continue
            key = f"{label}/{span.get(by, '')}" if by else label
            spans.append((label, key, span["start"], span["end"]))
        for label, key, start, end in spans:
            for name in {label, key}:
                gold[name] += 1
                overlap[name] += any(f.label == label and f.start < end and start < f.end
                                     for f in found)  # fmt: skip
                exact[name] += any(f.label == label and (f.start, f.end) == (start, end)
                                   for f in found)  # fmt: skip
                covered[name] += any(f.start <= start and f.end >= end for f in found)
        for f in found:
            predicted[f.label] += 1
            true_pred[f.label] += any(label == f.label and f.start < end and start < f.end
                                      for label, _, start, end in spans)  # fmt: skip
        if "kind" in row and row["kind"] != "pii":
            negatives[row["kind"]].append(bool(found))
    types = {
        name: {
            "n": gold[name],
            "recall": overlap[name] / gold[name],
            "exact": exact[name] / gold[name],
            "redaction_covered": covered[name] / gold[name],
            **({"precision": true_pred[name] / predicted[name] if predicted[name] else None,
                "predicted": predicted[name]} if "/" not in name else {}),
        }
        for name in sorted(gold)
    }  # fmt: skip
    return {
        "types": types,
        "false_positive_rate_by_kind": {
            k: {"n": len(v), "rate": sum(v) / len(v)} for k, v in sorted(negatives.items())
        },
    }


# --- injection ----------------------------------------------------------------------------


def auc(scores: list[float], labels: list[bool]) -> float:
    ranked = sorted(zip(scores, labels, strict=True))
    positives = sum(labels)
    negatives = len(labels) - positives
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        average_rank = (i + j + 1) / 2
        rank_sum += average_rank * sum(1 for k in range(i, j) if ranked[k][1])
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def binary(scores: list[float], labels: list[bool], threshold: float = THRESHOLD) -> Report:
    flagged = [s >= threshold for s in scores]
    tp = sum(f and y for f, y in zip(flagged, labels, strict=True))
    fp = sum(f and not y for f, y in zip(flagged, labels, strict=True))
    positives, negatives = sum(labels), len(labels) - sum(labels)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / positives if positives else 0.0
    return {
        "n": len(labels),
        "recall": recall,
        "false_positive_rate": fp / negatives if negatives else 0.0,
        "precision": precision,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "roc_auc": auc(scores, labels) if positives and negatives else None,
    }


def eval_injection(data: Path) -> Report:
    classifier = InjectionClassifier.load()
    layers = {
        "combined": InjectionDetector(classifier),
        "rules_only": InjectionDetector(None),
        "classifier_only": InjectionDetector(classifier, rules=(), decode=False),
    }
    validation = rows(data, "injection/s-labs-validation.jsonl")
    labels = [r["injection"] for r in validation]
    report: Report = {"validation": {}}
    for name, detector in layers.items():
        report["validation"][name] = binary([detector.score(r["text"]) for r in validation], labels)
    combined = layers["combined"]
    sweep = [combined.score(r["text"]) for r in validation]
    report["validation_sweep"] = {
        f"{t:.1f}": binary(sweep, labels, t) for t in (0.3, 0.4, 0.5, 0.6, 0.7)
    }
    xstest = rows(data, "injection/xstest-dev.jsonl")
    flagged = [r for r in xstest if combined.score(r["prompt"]) >= THRESHOLD]
    report["xstest"] = {
        "n": len(xstest),
        "false_positives": len(flagged),
        "false_positive_rate": len(flagged) / len(xstest),
        "flagged": [r["prompt"] for r in flagged],
    }
    chinese = rows(data, "dev-hard/injection-zh-dev.jsonl")
    scores = [combined.score(r["text"]) for r in chinese]
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for row, score in zip(chinese, scores, strict=True):
        by_kind[row["kind"]].append(score >= THRESHOLD)
    report["chinese"] = {
        "overall": binary(scores, [r["injection"] for r in chinese]),
        "classifier_only": binary(
            [layers["classifier_only"].score(r["text"]) for r in chinese],
            [r["injection"] for r in chinese],
        ),
        "flagged_by_kind": {
            k: {"n": len(v), "flagged": sum(v)} for k, v in sorted(by_kind.items())
        },
    }
    return report


# --- sensitive terms ----------------------------------------------------------------------

_HOMOGLYPHS = str.maketrans({"a": "а", "e": "е", "o": "о", "p": "р", "c": "с"})
_LEET = str.maketrans({"o": "0", "e": "3", "a": "4", "s": "5", "t": "7"})


def eval_terms(data: Path) -> Report:
    words = load_terms(str(data / "dev-hard/sensitive-dev-words.txt"))
    matcher = TermMatcher(words)
    found: dict[str, list[bool]] = defaultdict(list)
    for row in rows(data, "dev-hard/sensitive-dev.jsonl"):
        found[row["evasion"]].append(bool(matcher.scan(row["text"])))
    recall = {k: {"n": len(v), "found": sum(v)} for k, v in found.items() if
              not k.startswith("near_miss")}  # fmt: skip
    near = {k: {"n": len(v), "flagged": sum(v)} for k, v in found.items() if
            k.startswith("near_miss")}  # fmt: skip
    english = [w for w in words if w.isascii()]
    extra = {
        "homoglyph": [f"Status of {w.translate(_HOMOGLYPHS)}?" for w in english],
        "leetspeak": [f"Status of {w.lower().translate(_LEET)}?" for w in english],
        "line_break": [f"Status of {w[: len(w) // 2]}-\n{w[len(w) // 2 :]}?" for w in words],
        "suffix_word": [f"{w}ton Road is closed" for w in english],  # must NOT match
    }
    generated = {k: {"n": len(v), "found": sum(bool(matcher.scan(t)) for t in v)}
                 for k, v in extra.items()}  # fmt: skip
    return {"recall_by_evasion": recall, "near_misses": near, "generated": generated}


# --- cost ---------------------------------------------------------------------------------


def prompt_of(size: int, sentences: list[str]) -> str:
    parts, total = [], 0
    for sentence in sentences:
        if total >= size:
            break
        parts.append(sentence)
        total += len(sentence) + 1
    return " ".join(parts)[:size]


def percentiles(samples: list[float], prefix: str = "") -> dict[str, float]:
    ordered = sorted(samples)
    return {
        f"{prefix}p50_us": statistics.median(ordered) * 1e6,
        f"{prefix}p99_us": ordered[int(0.99 * (len(ordered) - 1))] * 1e6,
    }


def measure(call: Callable[[], Any], runs: int) -> dict[str, float]:
    """CPU time of this thread per call (steady on a shared machine) and wall time."""
    loop = asyncio.new_event_loop()
    cpu, wall = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.thread_time()
        result = call()
        if asyncio.iscoroutine(result):
            loop.run_until_complete(result)
        cpu.append(time.thread_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    loop.close()
    return {**percentiles(cpu), **percentiles(wall, "wall_")}


def eval_cost(data: Path, runs: int) -> Report:
    from gateway.config import parse_config
    from gateway.guard import build_guard_stage
    from gateway.guard.compiled import compile_policies
    from gateway.pipeline.context import RequestContext
    from gateway.pipeline.reply import Completion
    from gateway.wire.types import Endpoint

    started = time.perf_counter()
    config = parse_config(
        "guardrails: {default_policy: default}\nteams: {t: {}}\n"
        'keys: [{team: t, key: "sk-0123456789"}]\n'
    )
    stage = build_guard_stage(config, _no_call)
    startup = time.perf_counter() - started
    assert stage is not None
    policy = compile_policies(config)[config.guardrails.default_policy]
    # Prose with personal data in it (presidio sentences) between plain statements about
    # software (paraphrase set): a prompt the policy lets through, redacting as it goes.
    prose = [r["origin"] for r in rows(data, "semantic-cache/paraphrase-dev.jsonl")]
    presidio = [r["text"].replace("\n", " ") for r in rows(data, "pii/presidio-synth-dev.jsonl")]
    sentences = [s for pair in zip(prose, presidio, strict=False) for s in pair]
    report: Report = {
        "policy": policy.name,
        "startup_s": startup,
        # A fixed pure-Python workload timed the same way: compare runs on a busy machine.
        "reference_sum_range_1000": measure(lambda: sum(range(1000)), runs),
        "load_average_1m": os.getloadavg()[0],
    }

    class Principal:
        team = "t"
        team_settings = config.teams["t"]

    for size in (1024, 20 * 1024):
        text = prompt_of(size, sentences)
        body = {"model": "m", "messages": [{"role": "system", "content": "You are helpful."},
                                           {"role": "user", "content": text}]}  # fmt: skip

        def enter(body: dict[str, Any] = body) -> Any:
            ctx = RequestContext(Endpoint.CHAT, "req", body=copy.deepcopy(body))
            PRINCIPAL.set(ctx, Principal())  # type: ignore[arg-type]
            return stage.enter(ctx)

        measure(enter, 20)  # warm
        timing = measure(enter, runs)  # includes copying the body: a few µs
        report[f"input_{size // 1024}KB"] = {"chars": len(text), **timing}

        answer = {"choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                               "finish_reason": "stop"}]}  # fmt: skip

        def leave(answer: dict[str, Any] = answer) -> Any:
            ctx = RequestContext(Endpoint.CHAT, "req")
            from gateway.guard.state import GUARD, GuardState

            GUARD.set(ctx, GuardState(policy))
            return stage.leave(ctx, Completion(copy.deepcopy(answer)))

        report[f"output_{size // 1024}KB"] = measure(leave, runs)

    answer_text = prompt_of(4000, sentences)
    for name, rules in (("default_policy", policy.output),
                        ("terms_and_pii", _heavier_output_rules(data))):  # fmt: skip
        report[f"stream_chunk_{name}"] = _stream_cost(answer_text, rules, policy.hold_back)
    return report


def _heavier_output_rules(data: Path) -> tuple[Any, ...]:
    from gateway.guard.compiled import CompiledRule

    def rule(name: str, detector: Any) -> CompiledRule:
        return CompiledRule(name, "block", detector, frozenset({"assistant"}), False, False,
                            name.upper(), None)  # fmt: skip

    words = load_terms(str(data / "dev-hard/sensitive-dev-words.txt"))
    return (rule("terms", TermMatcher(words)), rule("pii", PiiDetector()))


def _stream_cost(text: str, rules: Any, hold_back: int) -> Report:
    """Per chunk: the time the guard spends between receiving and yielding it."""
    from gateway.guard.redact import Redactor
    from gateway.guard.stream import StreamGuard
    from gateway.pipeline.context import RequestContext
    from gateway.wire.types import Endpoint

    pieces = [text[i : i + 4] for i in range(0, len(text), 4)]  # ~one token per chunk
    chunks = [{"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": {"content": p}, "logprobs": None,
                            "finish_reason": None}]} for p in pieces]  # fmt: skip
    samples: list[float] = []
    walls: list[float] = []

    async def source(items: list[Any]) -> AsyncIterator[Any]:
        for chunk in items:
            yield chunk

    async def run() -> None:
        guard = StreamGuard(RequestContext(Endpoint.CHAT, "r"), rules, Redactor(), None, hold_back)
        iterator = guard.run(source(copy.deepcopy(chunks))).__aiter__()
        while True:
            started, started_cpu = time.perf_counter(), time.thread_time()
            try:
                await iterator.__anext__()
            except StopAsyncIteration:
                break
            samples.append(time.thread_time() - started_cpu)
            walls.append(time.perf_counter() - started)

    for _ in range(5):
        asyncio.run(run())
    return {
        "chunks_per_run": len(pieces),
        "hold_back_chars": hold_back,
        **percentiles(samples),
        **percentiles(walls, "wall_"),
    }


async def _no_call(ctx: Any) -> Any:
    raise RuntimeError("no upstream in the benchmark")


# --- report -------------------------------------------------------------------------------


def print_report(report: Report) -> None:
    for name in ("presidio", "dev_extra"):
        print(f"\n## PII: {name}\n\n| type | n | recall | exact | precision | covered |")
        print("|---|---:|---:|---:|---:|---:|")
        for t, r in report["pii"][name]["types"].items():
            precision = r.get("precision")
            print(f"| {t} | {r['n']} | {pct(r['recall'])} | {pct(r['exact'])} | "
                  f"{pct(precision) if precision is not None else ''} | "
                  f"{pct(r['redaction_covered'])} |")  # fmt: skip
        fp = report["pii"][name]["false_positive_rate_by_kind"]
        if fp:
            print("\nfalse positives on look-alikes: " + ", ".join(
                f"{k} {int(v['rate'] * v['n'])}/{v['n']}" for k, v in fp.items()))  # fmt: skip
    inj = report["injection"]
    print(
        "\n## Prompt injection (threshold 0.5)\n\n| set | n | recall | FPR | precision | F1 | AUC |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in [*(("validation/" + k, v) for k, v in inj["validation"].items()),
                    ("zh-dev", inj["chinese"]["overall"]),
                    ("zh-dev/classifier_only", inj["chinese"]["classifier_only"])]:  # fmt: skip
        auc_text = f"{r['roc_auc']:.4f}" if r["roc_auc"] is not None else ""
        print(f"| {name} | {r['n']} | {pct(r['recall'])} | {pct(r['false_positive_rate'])} | "
              f"{pct(r['precision'])} | {r['f1']:.3f} | {auc_text} |")  # fmt: skip
    print(f"\nXSTest false positives: {inj['xstest']['false_positives']}/{inj['xstest']['n']}")
    print(
        "zh-dev by kind: "
        + ", ".join(
            f"{k} {v['flagged']}/{v['n']}" for k, v in inj["chinese"]["flagged_by_kind"].items()
        )
    )
    print("validation sweep: " + ", ".join(
        f"{t}: R {pct(v['recall'])} FPR {pct(v['false_positive_rate'])}"
        for t, v in inj["validation_sweep"].items()))  # fmt: skip
    terms = report["terms"]
    print(
        "\n## Sensitive terms\n\nrecall by evasion: "
        + ", ".join(f"{k} {v['found']}/{v['n']}" for k, v in terms["recall_by_evasion"].items())
    )
    print(
        "near misses flagged: "
        + ", ".join(f"{k} {v['flagged']}/{v['n']}" for k, v in terms["near_misses"].items())
    )
    print(
        "generated: "
        + ", ".join(f"{k} {v['found']}/{v['n']}" for k, v in terms["generated"].items())
    )
    if "cost" in report:
        cost = report["cost"]
        print(f"\nload average {cost['load_average_1m']:.1f}; reference sum(range(1000)) "
              f"{cost['reference_sum_range_1000']['p50_us']:.1f} µs CPU")  # fmt: skip
        print(
            f"\n## Cost (policy {cost['policy']}; start-up incl. guardrails-ai import "
            f"{cost['startup_s']:.2f} s)\n\n| measure | CPU p50 µs | CPU p99 µs | wall p50 µs "
            "| wall p99 µs |\n|---|---:|---:|---:|---:|"
        )
        for key, value in cost.items():
            if isinstance(value, dict):
                print(f"| {key} | {value['p50_us']:.1f} | {value['p99_us']:.1f} | "
                      f"{value['wall_p50_us']:.1f} | {value['wall_p99_us']:.1f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT / "tests" / "data")
    parser.add_argument("--skip-cost", action="store_true")
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report: Report = {
        "pii": {
            "presidio": eval_pii(args.data, "pii/presidio-synth-dev.jsonl", PRESIDIO_TYPES, ""),
            "dev_extra": eval_pii(args.data, "dev-hard/pii-dev-extra.jsonl", None, "subtype"),
        },
        "injection": eval_injection(args.data),
        "terms": eval_terms(args.data),
    }
    if not args.skip_cost:
        report["cost"] = eval_cost(args.data, args.runs)
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

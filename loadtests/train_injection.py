"""Train the prompt-injection classifier shipped in ``gateway/guard/models/``.

Offline and deterministic: logistic regression (scikit-learn, liblinear) on the
features ``gateway.guard.classifier`` computes at run time, fitted on
``tests/data/injection/s-labs-train.jsonl``; the regularisation strength is chosen
by ROC-AUC on ``s-labs-validation.jsonl``. Only non-zero weights are written, rounded,
so the artifact stays small. Nothing is downloaded.

S-Labs' benign rows are nearly all questions ("What is...", "How do I..."), and many
of its attacks are polite imperatives, so a model fitted on it alone learns that
"please" or "write ... to me" means injection. Ordinary gateway traffic is full of
benign imperatives, so the benign side is widened with text that is certainly not an
injection: the sentences of ``pii/presidio-synth-dev.jsonl`` and
``semantic-cache/paraphrase-dev.jsonl`` (customer messages, statements) and a few
hundred task requests generated from the templates below ("Please write a short
email to my landlord about the heating").

Issue #18 (generalisation): S-Labs is short, English and direct, so the model also
fits ``injection_synth.py``'s rows (EN + ZH: instructions hidden in quoted e-mails,
transcripts, reviews, HTML comments, tickets, logs; overrides and persona jailbreaks;
hard negatives: the same wrappers with clean content, benign role-play, order notices,
password advice, harmless "ignore"/"system"), half of QQP's questions as everyday benign
traffic (the other half measures false positives on it), and the development sets of
``DEV_SETS`` (``dev-hard/injection-zh-dev.jsonl``; since 2026-12-06 the helper-written
``injection-dev/`` sets: English and Chinese attacks in new styles, hard negatives, and
messages that address the assistant), each row weighted ``--dev-weight`` (30: the
cross-validated choice among 1, 5, 15, 30, 60). Their figures are 5-fold
cross-validated (each fold scored by a model fitted without it); the shipped model is
then fitted on all folds. The decision threshold is calibrated on held-back data only
(S-Labs validation and the cross-validated development scores), per language: the
lowest threshold whose false-positive rate is at most ``--max-fpr`` (0.05, the goal's
own bound; 0.04 until 2026-12-07, when the hard negatives of ``injection-en-dev`` held
the English bar at 0.73) on every English group becomes 0.5 through the bias; the
Chinese groups' own threshold becomes the model's ``cjk_shift``, never below the
English bar. XSTest and ``tests/data/blind`` and ``blind2`` are never used for fitting
or calibration; the held-out sets ``blind3``, ``blind56``, ``blind59``, ``blind60``,
``blind61``, ``blind66`` and ``blind67`` join ``DEV_SETS`` once scored (2026-12-07);
the fresh set ``blind70`` measured the model fitted on them (docs/guardrails.md). The
twenty-one scored sets ``blind70`` … ``blind114`` joined later the same day, after a
leave-one-set-out check (each set scored by a model fitted without it) raised recall
and lowered false positives in both languages; ``blind120`` and ``blind121`` measured it.

    python loadtests/train_injection.py [--data tests/data/injection] [--out PATH]

Needs the ``train`` extra (scikit-learn, scipy); the gateway itself only reads the JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.guard.classifier import MODEL_PATH, InjectionClassifier, bigrams, tokens  # noqa: E402
from gateway.guard.injection import InjectionDetector  # noqa: E402
from gateway.wire.texts import cjk_share  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from injection_synth import rows as synthetic_rows  # noqa: E402

WINDOW, STRIDE = 32, 16
MIN_NEGATIVES = 50  # a language side of a set with fewer benign rows is not calibrated on
# The cjk_shift the cross-validated scores were computed with (``InjectionClassifier``'s
# default): the calibration moves the Chinese side from there.
CJK_SHIFT_SCORED = 0.5
DEV_SETS = (
    "dev-hard/injection-zh-dev.jsonl",
    "injection-dev/injection-en-dev.jsonl",  # helper-written, 2026-12-06
    "injection-dev/injection-zh-dev2.jsonl",  # helper-written, 2026-12-06
    "injection-dev/addressing-benign.jsonl",  # messages that address the assistant, both ways
    # Held-out sets once scored (2026-12-06, 2026-12-07): new carriers and wordings.
    "blind3/injection-blind3.jsonl",
    "blind56/injection-blind56.jsonl",
    "blind59/injection-blind59.jsonl",
    "blind60/injection-blind60.jsonl",
    "blind61/injection-blind61.jsonl",
    "blind66/injection-blind66.jsonl",
    "blind67/injection-blind67.jsonl",
    # Held-out sets scored 2026-12-07 (blind70 … blind114), joined the same day.
    "blind70/injection-blind70.jsonl",
    "blind73/injection-blind73.jsonl",
    "blind76/injection-blind76.jsonl",
    "blind77/injection-blind77.jsonl",
    "blind78/injection-blind78.jsonl",
    "blind80/injection-blind80.jsonl",
    "blind85/injection-blind85.jsonl",
    "blind86/injection-blind86.jsonl",
    "blind89/injection-blind89.jsonl",
    "blind95/injection-blind95.jsonl",
    "blind96/injection-blind96.jsonl",
    "blind98/injection-blind98.jsonl",
    "blind99/injection-blind99.jsonl",
    "blind101/injection-blind101.jsonl",
    "blind103/injection-blind103.jsonl",
    "blind106/injection-blind106.jsonl",
    "blind109/injection-blind109.jsonl",
    "blind110/injection-blind110.jsonl",
    "blind111/injection-blind111.jsonl",
    "blind113/injection-blind113.jsonl",
    "blind114/injection-blind114.jsonl",
)


_VERBS = (
    "write",
    "draft",
    "summarize",
    "translate",
    "rewrite",
    "explain",
    "list",
    "create",
    "compose",
    "plan",
    "outline",
    "proofread",
    "shorten",
    "describe",
    "suggest",
    "give me",
    "help me write",
    "make",
    "prepare",
    "check",
)
_OBJECTS = (
    "a short email to my landlord about the broken heating",
    "a polite reminder to my team about Friday's deadline",
    "this paragraph in plain English",
    "a haiku about autumn rain",
    "three ideas for a birthday party",
    "the main points of the meeting notes below",
    "a cover letter for a junior accountant position",
    "this sentence into French: the museum opens at nine",
    "a packing list for a weekend in the mountains",
    "a recipe for vegetable soup",
    "a thank-you note to my neighbour",
    "a weekly workout plan for a beginner",
    "the difference between a loan and a lease",
    "a product description for a steel water bottle",
    "my essay for grammar mistakes",
    "a message to the hotel asking for a late check-out",
    "an agenda for a one-hour project kickoff",
    "a bedtime story about a brave little turtle",
    "a SQL query that counts orders per customer",
    "a Python function that reverses a string",
    "a summary of this article in two sentences",
    "five interview questions for a data analyst",
    "a short toast for my sister's wedding",
    "a reply to this customer complaint",
    "a tweet announcing our new opening hours",
)
_FRAMES = (
    "{v} {o}",
    "Please {v} {o}.",
    "Can you {v} {o}?",
    "{v} {o} for me, please",
    "I need you to {v} {o}",
    "Could you please {v} {o}",
)


def benign_tasks(seed: int = 7, size: int = 600) -> list[str]:
    """Ordinary imperative requests; see the module docstring for why."""
    rng = random.Random(seed)
    texts = {
        rng.choice(_FRAMES).format(v=rng.choice(_VERBS), o=rng.choice(_OBJECTS))
        for _ in range(size * 3)
    }
    return sorted(texts)[:size]


def extra_benign(data: Path) -> list[str]:
    texts = benign_tasks()
    presidio = data.parent / "pii/presidio-synth-dev.jsonl"
    paraphrase = data.parent / "semantic-cache/paraphrase-dev.jsonl"
    for line in presidio.read_text(encoding="utf-8").splitlines():
        texts.append(json.loads(line)["text"])
    for line in paraphrase.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        texts.extend((row["origin"], row["similar"]))
    return texts


def qqp_questions(data: Path) -> tuple[list[str], list[str]]:
    """Ordinary user questions (QQP dev, none an injection), split by row: even rows
    widen the benign side of the training data ("Do you ever...?" is not an order to the
    model), odd rows are held back to measure false positives on everyday traffic."""
    path = data.parent / "semantic-cache/qqp-dev.jsonl"
    train: set[str] = set()
    held: set[str] = set()
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        row = json.loads(line)
        (train if i % 2 == 0 else held).update((row["a"], row["b"]))
    return sorted(train), sorted(held - train)


def load(path: Path) -> tuple[list[str], list[int]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [r["text"] for r in rows], [int(r["injection"]) for r in rows]


def features(text: str) -> Counter[str]:
    toks = tokens(text)
    return Counter(toks) + Counter(bigrams(toks))


def matrix(texts: list[str], vocab: dict[str, int]) -> csr_matrix:
    rows, cols, vals = [], [], []
    for i, text in enumerate(texts):
        toks = tokens(text)
        scale = 1.0 / math.sqrt(max(1, len(toks)))
        for feature, count in features(text).items():
            j = vocab.get(feature)
            if j is not None:
                rows.append(i)
                cols.append(j)
                vals.append(count * scale)
    return csr_matrix((vals, (rows, cols)), shape=(len(texts), len(vocab)))


def fit(
    texts: list[str], labels: list[int], c: float, weights: list[float] | None = None
) -> tuple[dict[str, int], LogisticRegression]:
    document_frequency: Counter[str] = Counter()
    for text in texts:
        document_frequency.update(set(features(text)))
    vocab = {f: i for i, f in enumerate(sorted(f for f, n in document_frequency.items() if n >= 2))}
    model = LogisticRegression(C=c, solver="liblinear", max_iter=2000)
    model.fit(matrix(texts, vocab), labels, sample_weight=weights)
    return vocab, model


def export(vocab: dict[str, int], model: LogisticRegression) -> InjectionClassifier:
    names = sorted(vocab, key=vocab.__getitem__)
    unigram_weights: dict[str, float] = {}
    bigram_weights: dict[str, float] = {}
    for name, weight in zip(names, model.coef_[0], strict=True):
        if abs(weight) < 0.03:
            continue
        target = bigram_weights if " " in name else unigram_weights
        target[name] = round(float(weight), 4)
    bias = round(float(model.intercept_[0]), 4)
    return InjectionClassifier(unigram_weights, bigram_weights, bias, window=WINDOW, stride=STRIDE)


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def calibrate(groups: list[tuple[np.ndarray, np.ndarray]], max_fpr: float) -> float:
    """The lowest threshold at which every group's false-positive rate is at most
    ``max_fpr`` (clamped to [0.05, 0.95])."""
    threshold = 0.05
    for scores, labels in groups:
        negatives = np.sort(scores[labels == 0])
        allowed = math.floor(max_fpr * len(negatives))
        threshold = max(threshold, float(negatives[len(negatives) - 1 - allowed]) + 1e-6)
    return min(max(threshold, 0.05), 0.95)


def detector_scores(classifier: InjectionClassifier, texts: list[str]) -> np.ndarray:
    detector = InjectionDetector(classifier)
    return np.array([detector.score(t) for t in texts])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=ROOT / "tests/data/injection")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--max-fpr", type=float, default=0.05)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--dev-weight", type=float, default=30.0)
    args = parser.parse_args()
    train_path = args.data / "s-labs-train.jsonl"
    val_path = args.data / "s-labs-validation.jsonl"
    dev_paths = [args.data.parent / name for name in DEV_SETS]
    train_x, train_y = load(train_path)
    extra = extra_benign(args.data)
    synth = synthetic_rows()
    qqp_train, qqp_held = qqp_questions(args.data)
    train_x = train_x + extra + qqp_train + [t for t, _, _ in synth]
    train_y = train_y + [0] * (len(extra) + len(qqp_train)) + [label for _, label, _ in synth]
    val_x, val_y = load(val_path)
    # The development sets: each row is fitted by the shipped model and scored, for the
    # figures and the calibration, by a model fitted without its fold.
    dev_x: list[str] = []
    dev_y: list[int] = []
    dev_set: list[str] = []
    for path in dev_paths:
        x, y = load(path)
        dev_x += x
        dev_y += y
        dev_set += [path.name] * len(x)
    folds = [i % args.folds for i in range(len(dev_x))]
    random.Random(18).shuffle(folds)
    base_weights = [1.0] * len(train_x)

    def fit_with(keep: list[int], c: float) -> tuple[dict[str, int], LogisticRegression]:
        return fit(
            train_x + [dev_x[i] for i in keep],
            train_y + [dev_y[i] for i in keep],
            c,
            base_weights + [args.dev_weight] * len(keep),
        )

    # C by ROC-AUC on S-Labs validation, development fold 0 held back.
    best: tuple[float, float] | None = None
    for c in (1.0, 3.0, 10.0):
        vocab, model = fit_with([i for i, f in enumerate(folds) if f != 0], c)
        held = val_x + [dev_x[i] for i, f in enumerate(folds) if f == 0]
        held_y = val_y + [dev_y[i] for i, f in enumerate(folds) if f == 0]
        auc = roc_auc_score(held_y, model.decision_function(matrix(held, vocab)))
        print(f"C={c:<5} held-back ROC-AUC {auc:.4f}")
        if best is None or auc > best[0]:
            best = (auc, c)
    assert best is not None
    c = best[1]

    # Cross-validated: each fold scored by the detector whose model never saw it.
    dev_scores = np.zeros(len(dev_x))
    for k in range(args.folds):
        vocab, model = fit_with([i for i, f in enumerate(folds) if f != k], c)
        held = [i for i, f in enumerate(folds) if f == k]
        dev_scores[held] = detector_scores(export(vocab, model), [dev_x[i] for i in held])

    vocab, model = fit_with(list(range(len(dev_x))), c)
    classifier = export(vocab, model)
    val_scores = detector_scores(classifier, val_x)
    labels_dev = np.array(dev_y)
    sets = {name: np.array([s == name for s in dev_set]) for name in dict.fromkeys(dev_set)}
    # Calibrate on held-back data, each set and language apart (S-Labs validation,
    # never fitted; each development set's cross-validated scores, English and Chinese
    # rows apart where a side has at least MIN_NEGATIVES benign rows): per language, the
    # threshold that keeps every group's false-positive rate at most --max-fpr. The
    # English one becomes the bias; the Chinese one the model's ``cjk_shift`` (applied by
    # the detector to mostly-CJK text that fires no rule).
    chinese = np.array([cjk_share(t) >= 0.3 for t in dev_x])
    groups: dict[bool, list[tuple[np.ndarray, np.ndarray]]] = {False: [], True: []}
    groups[False].append((val_scores, np.array(val_y)))
    for mask in sets.values():
        for zh in (False, True):
            part = mask & (chinese == zh)
            if (labels_dev[part] == 0).sum() >= MIN_NEGATIVES:
                groups[zh].append((dev_scores[part], labels_dev[part]))
    thresholds = {zh: calibrate(groups[zh], args.max_fpr) for zh in (False, True)}
    shift = logit(thresholds[False])
    bias = round(classifier.bias - shift, 4)
    # Never a lower bar for Chinese than for English: its training text is smaller, and
    # a lower bar flags Chinese security questions the English side would pass.
    cjk_shift = round(max(0.0, CJK_SHIFT_SCORED + logit(thresholds[True]) - shift), 4)
    print(
        f"calibrated thresholds: English {thresholds[False]:.4f} (log-odds shift {shift:+.3f}),"
        f" Chinese {thresholds[True]:.4f} (cjk_shift {cjk_shift:+.3f})"
    )

    unigram_weights = dict(classifier._uni)
    bigram_weights = {" ".join(k): v for k, v in classifier._bi.items()}
    shipped = InjectionClassifier(
        unigram_weights, bigram_weights, bias, window=WINDOW, stride=STRIDE, cjk_shift=cjk_shift
    )
    val_scores = detector_scores(shipped, val_x)
    # The cross-validated scores as the shipped calibration moves them.
    rules = InjectionDetector(shipped)
    moved = np.array(
        [
            shift
            + ((cjk_shift - CJK_SHIFT_SCORED) if zh and not rules.rules_mark_attack(t) else 0.0)
            for t, zh in zip(dev_x, chinese, strict=True)
        ]
    )
    clipped = np.clip(dev_scores, 1e-9, 1 - 1e-9)
    dev_shifted = 1 / (1 + np.exp(-(np.log(clipped / (1 - clipped)) - moved)))
    labels = np.array(val_y)
    shipped_auc = roc_auc_score(labels, val_scores)
    artifact = {
        "format": "gateway-injection-lr/1",
        "trained_on": {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16]
            for p in (train_path, val_path, *dev_paths)
        },
        "dev_weight": args.dev_weight,
        "extra_benign_rows": len(extra),
        "synthetic_rows": len(synth),
        "C": c,
        "window": WINDOW,
        "stride": STRIDE,
        "bias": bias,
        "calibrated_threshold": round(thresholds[False], 4),
        "cjk_shift": cjk_shift,
        "validation_roc_auc": round(float(shipped_auc), 4),
        "unigrams": dict(sorted(unigram_weights.items())),
        "bigrams": dict(sorted(bigram_weights.items())),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(artifact, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    qqp_scores = detector_scores(shipped, qqp_held)
    print(
        f"QQP held-back questions (everyday traffic): {int((qqp_scores >= 0.5).sum())}/"
        f"{len(qqp_held)} flagged"
    )
    for name, scores, truth in (
        ("s-labs validation", val_scores, labels),
        *((f"{n} (5-fold CV)", dev_shifted[m], labels_dev[m]) for n, m in sets.items()),
    ):
        flagged = scores >= 0.5
        print(
            f"{name} at 0.5: recall {flagged[truth == 1].mean():.3f}  "
            f"false positives {flagged[truth == 0].mean():.3f}  "
            f"ROC-AUC {roc_auc_score(truth, scores):.4f}"
        )
    print(
        f"C={c}: {len(unigram_weights)} unigrams, {len(bigram_weights)} bigrams "
        f"-> {args.out} ({args.out.stat().st_size // 1024} KiB)"
    )


if __name__ == "__main__":
    main()

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
email to my landlord about the heating"). None of the evaluation sets (validation,
XSTest, dev-hard) is used for fitting.

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

WINDOW, STRIDE = 32, 16


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=ROOT / "tests/data/injection")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args()
    train_path = args.data / "s-labs-train.jsonl"
    val_path = args.data / "s-labs-validation.jsonl"
    train_x, train_y = load(train_path)
    extra = extra_benign(args.data)
    train_x, train_y = train_x + extra, train_y + [0] * len(extra)
    val_x, val_y = load(val_path)

    document_frequency: Counter[str] = Counter()
    for text in train_x:
        document_frequency.update(set(features(text)))
    vocab = {f: i for i, f in enumerate(sorted(f for f, n in document_frequency.items() if n >= 2))}
    x_train, x_val = matrix(train_x, vocab), matrix(val_x, vocab)

    best: tuple[float, float, LogisticRegression] | None = None
    for c in (1.0, 3.0, 10.0, 30.0):
        model = LogisticRegression(C=c, solver="liblinear", max_iter=2000)
        model.fit(x_train, train_y)
        auc = roc_auc_score(val_y, model.decision_function(x_val))
        print(f"C={c:<5} validation ROC-AUC {auc:.4f}")
        if best is None or auc > best[0]:
            best = (auc, c, model)
    assert best is not None
    auc, c, model = best
    names = sorted(vocab, key=vocab.__getitem__)
    weights = model.coef_[0]
    unigram_weights: dict[str, float] = {}
    bigram_weights: dict[str, float] = {}
    for name, weight in zip(names, weights, strict=True):
        if abs(weight) < 0.03:
            continue
        target = bigram_weights if " " in name else unigram_weights
        target[name] = round(float(weight), 4)
    bias = round(float(model.intercept_[0]), 4)

    # The shipped scorer (windows, rounding, pruning) on validation, for the record.
    shipped = InjectionClassifier(
        unigram_weights, bigram_weights, bias, window=WINDOW, stride=STRIDE
    )
    scores = np.array([shipped.score(t) for t in val_x])
    labels = np.array(val_y)
    shipped_auc = roc_auc_score(labels, scores)
    artifact = {
        "format": "gateway-injection-lr/1",
        "trained_on": {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in (train_path, val_path)
        },
        "extra_benign_rows": len(extra),
        "C": c,
        "window": WINDOW,
        "stride": STRIDE,
        "bias": bias,
        "validation_roc_auc": round(float(shipped_auc), 4),
        "unigrams": dict(sorted(unigram_weights.items())),
        "bigrams": dict(sorted(bigram_weights.items())),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(artifact, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        flagged = scores >= threshold
        recall = flagged[labels == 1].mean()
        fpr = flagged[labels == 0].mean()
        print(f"threshold {threshold:.1f}: recall {recall:.3f}  false positives {fpr:.3f}")
    print(
        f"C={c}: {len(unigram_weights)} unigrams, {len(bigram_weights)} bigrams, shipped "
        f"ROC-AUC {shipped_auc:.4f} -> {args.out} ({args.out.stat().st_size // 1024} KiB)"
    )


if __name__ == "__main__":
    main()

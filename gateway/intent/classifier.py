"""An intent classifier built at start-up from a router's example utterances.

With the MiniLM embedder (default), a softmax regression on the examples' sentence
embeddings beside their hashed n-grams: a few hundred gradient steps on a few dozen
vectors at start-up; a request costs one embedding, one n-gram vector and one small
product. Its score is the chosen intent's probability. On the shipped example policy's
first 58 examples, held-back accuracy was 0.58 for nearest examples and 0.71 for the
regression (``loadtests/eval_intent.py``; Chinese is the weak side, MiniLM's
vocabulary being English, which the n-grams partly make up for).

Without an embedder (``kind: none``), the nearest example by hashed word / character
n-grams (``intent.features``), which read Chinese as well as English; its score is
that cosine similarity. Adding an example to the policy takes effect at the next
start either way, with nothing to retrain by hand.

The best intent wins when its score reaches ``min_score``, else the router's default.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gateway.intent.config import IntentRouter
from gateway.intent.features import LexicalSpace, Vector

EmbedSync = Callable[[str], Vector]
Matrix = npt.NDArray[np.float32]
_STEPS = 500
_RATE = 1.0
_L2 = 1e-4
# Defaults of ``min_score``: a probability (regression), a cosine (nearest example).
MIN_PROBABILITY = 0.3
MIN_SIMILARITY = 0.1
# Weight of the n-gram features beside the (unit) sentence embedding in the regression:
# they let it tell apart Chinese examples that MiniLM embeds alike (mostly ``[UNK]``).
LEXICAL_WEIGHT = 0.5


@dataclass(frozen=True, slots=True)
class Decision:
    intent: str
    score: float
    target: str
    tier: str
    # False when no intent reached ``min_score`` and the default intent was used.
    matched: bool

    def header(self) -> str:
        tier = f"; tier={self.tier}" if self.tier else ""
        return f"{self.intent}; score={self.score:.3f}{tier}"


class _Regression:
    """Multinomial logistic regression by full-batch gradient descent, run in the dual:
    with weights kept as ``X.T @ A`` each step costs an n-by-n product (n examples)
    instead of n-by-d (d ≈ 2,000 features), the same iterates as the primal descent
    from zero, and cheap enough for a loaded 2-core host at start-up."""

    def __init__(self, vectors: Matrix, labels: npt.NDArray[np.int64], classes: int) -> None:
        targets = np.eye(classes, dtype=np.float32)[labels]
        gram: Matrix = (vectors @ vectors.T).astype(np.float32)
        dual = np.zeros((len(labels), classes), dtype=np.float32)
        self.bias = np.zeros(classes, dtype=np.float32)
        n = max(1, len(labels))
        for _ in range(_STEPS):
            logits: Matrix = (gram @ dual + self.bias).astype(np.float32)
            gradient = (_softmax(logits) - targets) / n
            dual -= _RATE * (gradient + _L2 * dual)
            self.bias -= _RATE * gradient.sum(axis=0)
        self.weights: Matrix = (vectors.T @ dual).astype(np.float32)

    def probabilities(self, vectors: Matrix) -> Matrix:
        logits: Matrix = (vectors @ self.weights + self.bias).astype(np.float32)
        return _softmax(logits)


def _softmax(logits: Matrix) -> Matrix:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    result: Matrix = (exp / exp.sum(axis=-1, keepdims=True)).astype(np.float32)
    return result


class _Nearest:
    """Nearest example by n-gram cosine; an intent scores its best example."""

    def __init__(self, texts: Sequence[str], labels: npt.NDArray[np.int64], classes: int) -> None:
        self.space = LexicalSpace(texts)
        self.matrix = self.space.matrix(texts)
        self.labels = labels
        self.classes = classes

    def scores(self, text: str) -> Matrix:
        sims = self.matrix @ self.space.vector(text)
        scores = np.full(self.classes, -1.0, dtype=np.float32)
        np.maximum.at(scores, self.labels, sims)
        return scores


class IntentClassifier:
    def __init__(
        self,
        router: IntentRouter,
        embed: EmbedSync | None = None,
        *,
        examples: dict[str, list[str]] | None = None,
    ) -> None:
        """``examples`` replaces the router's own (held-out evaluation)."""
        self._router = router
        self._embed = embed
        default = MIN_PROBABILITY if embed is not None else MIN_SIMILARITY
        self._min_score = default if router.min_score is None else router.min_score
        chosen = examples or {name: intent.examples for name, intent in router.intents.items()}
        self._names = list(router.intents)
        index = {name: i for i, name in enumerate(self._names)}
        self._texts = [t for ts in chosen.values() for t in ts]
        self._labels = np.asarray(
            [index[name] for name, ts in chosen.items() for _ in ts], dtype=np.int64
        )
        self._vectors: Matrix | None = None
        self._regression: _Regression | None = None
        self._nearest: _Nearest | None = None
        self._space = LexicalSpace(self._texts)
        # The n-gram buckets some example uses: the only ones a regression can weigh.
        self._columns = np.zeros(0, dtype=np.int64)
        if embed is not None:
            embedded = np.stack([embed(t) for t in self._texts]).astype(np.float32)
            lexical = self._space.matrix(self._texts)
            self._columns = np.flatnonzero(lexical.any(axis=0))
            lexical = LEXICAL_WEIGHT * lexical[:, self._columns]
            self._vectors = np.hstack([embedded, lexical]).astype(np.float32)
            self._regression = _Regression(self._vectors, self._labels, len(self._names))
        else:
            self._nearest = _Nearest(self._texts, self._labels, len(self._names))

    @property
    def embeds(self) -> bool:
        """Requests need an embedding (``decide``'s ``embedding``)."""
        return self._regression is not None

    def decide(self, text: str, embedding: Vector | None = None) -> Decision:
        """``embedding``: the text's MiniLM vector (computed off the event loop by the
        caller); computed here when missing."""
        text = text[: self._router.max_chars]
        best, score = -1, 0.0
        if text.strip():
            if self._regression is not None:
                if embedding is None:
                    assert self._embed is not None
                    embedding = self._embed(text)
                lexical = LEXICAL_WEIGHT * self._space.vector(text)[self._columns]
                features = np.concatenate([embedding, lexical])[np.newaxis, :]
                scores = self._regression.probabilities(features)[0]
            else:
                assert self._nearest is not None
                scores = self._nearest.scores(text)
            best = int(np.argmax(scores))
            score = max(0.0, float(scores[best]))
        matched = best >= 0 and score >= self._min_score
        name = self._names[best] if matched else self._router.default
        intent = self._router.intents[name]
        return Decision(name, round(score, 4), intent.target, intent.tier, matched)

    def fallback(self) -> Decision:
        """The default intent, unscored (the embedder failed)."""
        intent = self._router.intents[self._router.default]
        return Decision(self._router.default, 0.0, intent.target, intent.tier, False)

    def held_back_accuracy(self, folds: int = 5, seed: int = 0) -> float:
        """k-fold accuracy over the examples (each fold held back in turn), reusing the
        examples' embeddings: the start-up log's honest figure."""
        n = len(self._labels)
        if n < folds:
            return float("nan")
        order = np.random.default_rng(seed).permutation(n)
        correct = 0
        classes = len(self._names)
        for fold in range(folds):
            held = np.zeros(n, dtype=bool)
            held[order[fold::folds]] = True
            if self._vectors is not None:
                model = _Regression(self._vectors[~held], self._labels[~held], classes)
                guesses = model.probabilities(self._vectors[held]).argmax(axis=1)
            else:
                kept = [t for t, h in zip(self._texts, held, strict=True) if not h]
                nearest = _Nearest(kept, self._labels[~held], classes)
                guesses = np.asarray(
                    [
                        nearest.scores(t).argmax()
                        for t, h in zip(self._texts, held, strict=True)
                        if h
                    ]
                )
            correct += int(np.sum(guesses == self._labels[held]))
        return correct / n

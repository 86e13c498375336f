"""An intent classifier built at start-up from a router's example utterances.

Nearest examples, not a trained model: a handful of examples per intent is too few to
fit weights, and adding an example to the policy takes effect at the next start with
nothing to retrain. A query's similarity to each example mixes two views:

- MiniLM sentence embeddings (paraphrases, synonyms) when the router uses them, and
- hashed word / character n-grams (``intent.features``), which read Chinese as well as
  English.

The mix leans on the n-grams as the share of CJK characters grows, since MiniLM sees
most of those as ``[UNK]``. An intent scores its best example's similarity; the best
intent wins when it reaches ``min_score``, else the router's default intent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gateway.intent.config import IntentRouter
from gateway.intent.features import LexicalSpace, Vector, cjk_share

# Weight of the embedding view for text without CJK characters.
EMBEDDING_WEIGHT = 0.6
EmbedSync = Callable[[str], Vector]


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
        chosen = examples or {name: intent.examples for name, intent in router.intents.items()}
        texts = [t for ts in chosen.values() for t in ts]
        self._names = list(router.intents)
        index = {name: i for i, name in enumerate(self._names)}
        self._labels = np.asarray(
            [index[name] for name, ts in chosen.items() for _ in ts], dtype=np.int64
        )
        self._lexical = LexicalSpace(texts)
        self._lex_matrix = self._lexical.matrix(texts)
        self._emb_matrix: npt.NDArray[np.float32] | None = None
        if embed is not None:
            self._emb_matrix = np.stack([embed(t) for t in texts]).astype(np.float32)
        self._cjk = np.asarray([cjk_share(t) for t in texts], dtype=np.float32)

    @property
    def uses_embedder(self) -> bool:
        return self._embed is not None

    def similarities(self, text: str, embedding: Vector | None = None) -> npt.NDArray[np.float32]:
        """Similarity of ``text`` to every example (``embedding``: its MiniLM vector)."""
        sims: npt.NDArray[np.float32] = self._lex_matrix @ self._lexical.vector(text)
        if self._emb_matrix is not None:
            if embedding is None:
                assert self._embed is not None
                embedding = self._embed(text)
            # Either side being Chinese makes the embedding view unreliable.
            weight = EMBEDDING_WEIGHT * (1 - np.maximum(self._cjk, cjk_share(text)))
            mixed = weight * (self._emb_matrix @ embedding) + (1 - weight) * sims
            sims = mixed.astype(np.float32)
        return sims

    def decide(self, text: str, embedding: Vector | None = None) -> Decision:
        text = text[: self._router.max_chars]
        sims = self.similarities(text, embedding) if text.strip() else None
        best, score = -1, 0.0
        if sims is not None and sims.size:
            scores = np.full(len(self._names), -1.0, dtype=np.float32)
            np.maximum.at(scores, self._labels, sims)
            best = int(np.argmax(scores))
            score = max(0.0, float(scores[best]))
        matched = best >= 0 and score >= self._router.min_score
        name = self._names[best] if matched else self._router.default
        intent = self._router.intents[name]
        return Decision(name, round(score, 4), intent.target, intent.tier, matched)

    def leave_one_out_accuracy(self) -> float:
        """Each example classified against all the others: a start-up sanity figure."""
        n = len(self._labels)
        if n < 2:
            return 1.0
        lex = self._lex_matrix @ self._lex_matrix.T
        sims = lex
        if self._emb_matrix is not None:
            weight = EMBEDDING_WEIGHT * (1 - np.maximum.outer(self._cjk, self._cjk))
            sims = weight * (self._emb_matrix @ self._emb_matrix.T) + (1 - weight) * lex
        np.fill_diagonal(sims, -np.inf)
        nearest = self._labels[np.argmax(sims, axis=1)]
        return float(np.mean(nearest == self._labels))

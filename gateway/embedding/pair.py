"""A cross-encoder: one probability for a pair of texts, read together.

Exported like the embedder, from the packaged weights plus a fine-tuning change
(``export_onnx.export_pair_model``); what the pair means is the caller's (the semantic
cache's verifier: ``gateway.cache.verifier``). It has the embedders' shape, one text in
and a vector out, so the shared embedder service and the model host serve it as they
serve them: the two texts travel joined by ``SEPARATOR`` and the vector is
``[probability]``.
"""

from __future__ import annotations

import logging
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from gateway.embedding import export_onnx
from gateway.embedding.embedder import PooledModel, Vector, onnx_model

log = logging.getLogger("gateway.embedding")

SEPARATOR = "\x1f"  # ASCII unit separator: no question contains one


def pair_text(first: str, second: str) -> str:
    """The one text that carries a pair to ``PairModel.embed``."""
    return f"{first.replace(SEPARATOR, ' ')}{SEPARATOR}{second.replace(SEPARATOR, ' ')}"


class PairModel(PooledModel):
    """``probability(first, second)`` from the classifier's one logit; one order read
    (the model was trained on both)."""

    multilingual = False  # as an embedder: its vectors are no sentence embeddings

    def __init__(self, model_dir: Path, weights: Path, *, threads: int = 1) -> None:
        self.name = f"{weights.stem}-int8"
        if not export_onnx.is_pair_exported(model_dir, weights):
            log.warning("exporting the pair model to ONNX into %s (first start)", model_dir)
            export_onnx.export_pair_model(model_dir, weights)
        graph, _, tokenizer = export_onnx.pair_files(weights)
        own = model_dir / tokenizer  # an e5 pair model's; MiniLM's is the embedder's
        self._session, self._tokenizer = onnx_model(  # no arena: 26 MB RSS, not 39
            model_dir / graph,
            export_onnx.PAIR_MAX_TOKENS,
            arena=False,
            tokenizer=own if own.is_file() else None,
        )
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="pair")
        self.probability("warm up", "warm-up")  # first run allocates

    def probability(self, first: str, second: str) -> float:
        encoding = self._tokenizer.encode(first, second)
        feed = {
            "input_ids": np.asarray([encoding.ids], dtype=np.int64),
            "attention_mask": np.asarray([encoding.attention_mask], dtype=np.int64),
            "token_type_ids": np.asarray([encoding.type_ids], dtype=np.int64),
        }
        logit = float(self._session.run(None, feed)[0].reshape(-1)[0])
        return 0.5 * (1.0 + math.tanh(logit / 2))  # the sigmoid, with no overflow

    def embed_sync(self, text: str) -> Vector:
        first, _, second = text.partition(SEPARATOR)
        vector: Vector = np.asarray([self.probability(first, second)], dtype=np.float32)
        return vector

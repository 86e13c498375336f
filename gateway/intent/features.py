"""Script-agnostic lexical features: hashed word and character n-grams, TF-IDF weighted.

MiniLM's vocabulary is English (about two thirds of Chinese characters become
``[UNK]``), so the classifier pairs it with these: Latin words and their character
trigrams, and CJK characters and character bigrams. Hashing into a fixed width keeps
the vectors small and needs no vocabulary; crc32 (not ``hash``) keeps them the same in
every worker process.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

WIDTH = 1 << 13
Vector = npt.NDArray[np.float32]
_TOKENS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\W\d_]+|\d+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def grams(text: str) -> list[str]:
    out: list[str] = []
    for token in _TOKENS.findall(text.lower()):
        if _CJK.match(token):
            out.extend(token)
            out.extend(token[i : i + 2] for i in range(len(token) - 1))
        else:
            out.append("w:" + token)
            padded = f" {token} "
            out.extend(padded[i : i + 3] for i in range(len(padded) - 2))
    return out


def _buckets(text: str) -> Counter[int]:
    return Counter(zlib.crc32(g.encode()) % WIDTH for g in grams(text))


class LexicalSpace:
    """IDF weights learnt from the examples; ``vector`` maps any text into the space."""

    def __init__(self, examples: Sequence[str]) -> None:
        counts = [_buckets(text) for text in examples]
        df = np.zeros(WIDTH, dtype=np.float32)
        for bucket_counts in counts:
            df[list(bucket_counts)] += 1
        n = len(examples)
        self._idf = (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)

    def vector(self, text: str) -> Vector:
        out = np.zeros(WIDTH, dtype=np.float32)
        for bucket, count in _buckets(text).items():
            out[bucket] = (1 + math.log(count)) * self._idf[bucket]
        norm = float(np.linalg.norm(out))
        if norm > 0:
            out /= norm
        return out

    def matrix(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, WIDTH), dtype=np.float32)
        return np.stack([self.vector(t) for t in texts]).astype(np.float32)

"""The default embedder's Chinese side: subject characters instead of MiniLM.

MiniLM's vocabulary maps most CJK characters to [UNK], so its cosine says almost
nothing about two Chinese questions. ``CharacterSplitEmbedder`` keeps MiniLM for the
Latin-script share of a text and, for its CJK share, puts in a unit vector of the
question's subject characters (the agreement guard's: question-framing and function
characters removed), hashed into ``SIZE`` buckets. The two are joined by the same
script split as the other multilingual kinds (``embedding.embedder.split_vector``):
the dot product of two Chinese questions is then ``(1 - k) + k·c`` for the cosine ``c``
of their character sets, so ``cjk_threshold`` of shared subject characters lands on
the cache's threshold, and the index finds Chinese candidates by what they share.

Chinese paraphrases reword the framing (怎么/如何/咋, 需要/要) and keep the subject
characters; the near-identical different questions they also resemble (年假 / 病假,
淘宝 / 京东, 北京到上海 / 上海到北京) are the agreement guard's to refuse. Costs a few
microseconds a query and no model.
"""

from __future__ import annotations

import numpy as np

from gateway.cache import agreement
from gateway.embedding.embedder import Embedder, Vector, split_scale, split_vector
from gateway.wire.texts import cjk_letter_share

SIZE = 256  # hashed character buckets: ~0.25 chance collisions between two 8-character questions
_MIX = 2654435761  # Knuth's multiplicative hash: code points that differ by little spread


def character_vector(text: str) -> Vector:
    """The unit vector of a text's subject characters (zero when it has none). The
    bucket of a character depends on its code point only: every process and replica
    computes the same vector."""
    out = np.zeros(SIZE, dtype=np.float32)
    for ch in agreement.subject_characters(text):
        out[(ord(ch) * _MIX) % 2**32 % SIZE] += 1.0
    norm = float(np.linalg.norm(out))
    return out / norm if norm > 0.0 else out


class CharacterSplitEmbedder:
    """MiniLM (any ``inner`` embedder, local or through the model host) for the
    Latin-script share, subject characters for the CJK share. ``multilingual``: the
    cache compares CJK text by these vectors, not by a character-overlap stand-in."""

    multilingual = True

    def __init__(self, inner: Embedder, *, cjk_threshold: float, reference: float) -> None:
        self._inner = inner
        self._k = split_scale(cjk_threshold, reference)
        self.name = f"{inner.name}+zh-chars{SIZE}@{cjk_threshold:g}/{reference:g}"

    async def embed(self, text: str) -> Vector:
        return self.vector(await self._inner.embed(text), text)

    def vector(self, latin: Vector, text: str) -> Vector:
        """The split vector of ``text`` from its inner (MiniLM) vector ``latin``."""
        share = cjk_letter_share(text)
        return split_vector(latin, lambda: character_vector(text), SIZE, share, self._k)

    async def aclose(self) -> None:
        """The inner embedder is shared (``Embedders``) and closed by its owner."""

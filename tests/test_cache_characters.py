"""The default embedder's Chinese side: subject-character vectors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from gateway.cache.characters import SIZE, CharacterSplitEmbedder, character_vector
from gateway.embedding.embedder import Vector


def test_character_vector_is_the_same_in_every_process() -> None:
    """Replicas compare vectors they did not compute: no salted hash may enter."""
    text = "信用卡怎么提额"
    code = (
        "from gateway.cache.characters import character_vector;"
        f"print(list(character_vector({text!r}).nonzero()[0]))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert other == str(list(character_vector(text).nonzero()[0]))


def test_framing_characters_do_not_count() -> None:
    """怎么/如何/咋 and 请问 frame the question: only the subject is compared."""
    a, b = character_vector("请问信用卡怎么提额"), character_vector("信用卡咋提额")
    assert float(np.dot(a, b)) == pytest.approx(1.0)
    assert not character_vector("怎么样呢").any()


class _Fixed:
    """A stand-in inner embedder: the same unit vector for every text."""

    name = "fixed"

    async def embed(self, text: str) -> Vector:
        out = np.zeros(4, dtype=np.float32)
        out[0] = 1.0
        return out

    async def aclose(self) -> None:
        return None


async def test_split_scores_chinese_by_shared_subject_characters() -> None:
    """English text keeps the inner cosine; two Chinese questions score
    (1 - k) + k·c, so the character cosine ``cjk_threshold`` lands on the reference."""
    split = CharacterSplitEmbedder(_Fixed(), cjk_threshold=0.7, reference=0.86)
    english = await split.embed("How do I raise my credit limit?")
    assert english.shape == (4 + 1 + SIZE,)
    assert float(np.dot(english, english)) == pytest.approx(1.0)
    same = await split.embed("信用卡怎么提额")
    reworded = await split.embed("信用卡如何提高额度")
    other = await split.embed("护照办理需要什么材料")
    cosine = float(
        np.dot(character_vector("信用卡怎么提额"), character_vector("信用卡如何提高额度"))
    )
    k = (1 - 0.86) / (1 - 0.7)
    assert float(np.dot(same, reworded)) == pytest.approx((1 - k) + k * cosine, abs=1e-5)
    assert float(np.dot(same, other)) < 0.86 <= float(np.dot(same, reworded))
    assert "zh-chars" in split.name and "fixed" in split.name

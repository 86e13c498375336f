"""The ``cache:`` section and the per-team ``cache:`` override (frozen msgspec Structs).

The threshold default (0.86, int8 MiniLM) was chosen with
``loadtests/eval_semantic_cache.py`` on the development sets: with the agreement guard
it keeps precision at 1.0 on the 150 near-identical hard negatives and ≥ 0.90 on QQP
(whose remaining "false" hits are mostly label noise); see docs/cache.md for the curve.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct, field

Temperature = Annotated[float, Meta(ge=0, le=2)]
Threshold = Annotated[float, Meta(gt=0, le=1)]
Seconds = Annotated[float, Meta(gt=0)]
Count = Annotated[int, Meta(ge=1)]

DEFAULT_THRESHOLD = 0.86


class _Base(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class EmbedderConfig(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``minilm``: the packaged all-MiniLM-L6-v2 through ONNX Runtime, exported into
    ``model_dir`` (default ``$GATEWAY_CACHE_DIR/minilm-onnx``, else
    ``~/.cache/llm-gateway/minilm-onnx``) at build time or first start. ``provider``: the
    embeddings model named by ``model`` in the gateway's own model table.
    ``minilm+wordllama``: MiniLM for Latin-script text, WordLlama (PyPI ``wordllama``,
    weights inside the package) for the CJK share; ``cjk_threshold`` is the WordLlama
    cosine that counts as the cache's default threshold (chosen by cross-validation on
    the development sets, ``loadtests/eval_blind.py --cv``)."""

    kind: Literal["minilm", "provider", "minilm+wordllama"] = "minilm"
    precision: Literal["int8", "fp32"] = "int8"
    model_dir: str = ""
    threads: Count = 1
    model: str = ""
    cjk_threshold: Annotated[float, Meta(gt=0, lt=DEFAULT_THRESHOLD)] = 0.70

    def __post_init__(self) -> None:
        if self.kind == "provider" and not self.model:
            raise ValueError("kind: provider needs `model`, an embeddings model in `models`")


class SemanticConfig(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = True
    threshold: Threshold = DEFAULT_THRESHOLD
    # Only requests at most this random are answered from a similar question. A
    # request without ``temperature`` counts as 1.0 (OpenAI's default).
    max_temperature: Temperature = 0.5
    # The agreement guard (numbers, negation, polarity, direction, names, one-word
    # swaps). Turning it off is for experiments only: cosine alone serves wrong answers.
    guard: bool = True
    # Vectors kept in each replica's index (LRU beyond that).
    max_entries: Count = 20_000
    # Longest query (characters) worth embedding; longer ones use the exact cache only.
    max_chars: Count = 2_000
    embedder: EmbedderConfig = field(default_factory=EmbedderConfig)


class CacheConfig(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Root ``cache:``. Off unless ``enabled``; teams may override (``TeamCache``)."""

    enabled: bool = False
    ttl_s: Seconds = 3600.0
    # Exact entries are stored for requests at most this random (1.0 includes requests
    # that leave temperature at OpenAI's default).
    max_temperature: Temperature = 1.0
    # In-process store bounds (Redis bounds itself by TTL and its own maxmemory).
    max_entries: Count = 10_000
    max_bytes: Count = 64 * 1024 * 1024
    # Largest answer worth storing.
    max_entry_bytes: Count = 1024 * 1024
    semantic: SemanticConfig | None = None


class TeamCache(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``teams.<name>.cache``: unset fields inherit the root section."""

    enabled: bool | None = None
    semantic: bool | None = None
    threshold: Threshold | None = None
    ttl_s: Seconds | None = None
    max_temperature: Temperature | None = None
    semantic_max_temperature: Temperature | None = None

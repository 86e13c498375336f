"""The rate-limit sections of the config: one ``Limits`` shape at every level, and the
limiter's own settings at the root (``limits:``).

``Limits`` is referenced from the schema for keys, teams, team x model, models and
targets; every level that sets a number adds one rule, and a request must pass all of
them at once.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct, field

PositiveInt = Annotated[int, Meta(ge=1)]
PositiveFloat = Annotated[float, Meta(gt=0)]


class Limits(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Per-minute request and token limits and a ceiling on requests in flight."""

    rpm: PositiveInt | None = None
    tpm: PositiveInt | None = None
    concurrency: PositiveInt | None = None


class Store(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How the limiter talks to the shared Redis (``state.url``).

    A refused connection fails at once; the timeouts bound a store that stopped
    answering. After the first failure the limiter stops asking until the next probe,
    so only the requests already waiting on the store see a timeout.
    """

    # Connections per process; a burst beyond it waits its turn, which is queueing,
    # never mistaken for the store being down.
    pool_size: PositiveInt = 128
    connect_timeout_s: PositiveFloat = 2.0
    timeout_s: PositiveFloat = 2.0
    # While the store is down, how often one request tries it again.
    probe_interval_s: PositiveFloat = 1.0


class RateLimitSettings(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    # Output tokens reserved when a chat request sets neither ``max_completion_tokens``
    # nor ``max_tokens`` (legacy completions default to 16, as OpenAI's do).
    default_max_tokens: PositiveInt = 1024
    # Shared store unreachable: ``open`` enforces each limit per replica, divided by
    # ``replicas``; ``closed`` answers 503 until the store is back.
    on_store_error: Literal["open", "closed"] = "open"
    # Gateway processes sharing the store (replicas x workers), for fail-open.
    replicas: PositiveInt = 1
    # Wait up to this long for a concurrency slot instead of answering 429 at once.
    queue_s: Annotated[float, Meta(ge=0)] = 0.0
    # A concurrency slot held in Redis expires after this long even if its replica died
    # without releasing it. Unset: the longest provider ``timeouts.total`` plus a minute.
    lease_s: PositiveFloat | None = None
    # Send OpenAI's x-ratelimit-* headers on answers.
    headers: bool = True
    store: Store = field(default_factory=Store)

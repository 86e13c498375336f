"""The ``accounting:`` section: prices, budget periods, worst-case sizing.

Standalone (no import of ``gateway.config.schema``), because the schema imports it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct, field

BudgetPeriod = Literal["daily", "weekly", "monthly", "total"]
EncodingName = Literal["o200k_base", "cl100k_base", "p50k_base"]
NonNegative = Annotated[float, Meta(ge=0)]


class ModelPrice(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """USD per million tokens; ``cached_input`` defaults to ``input``."""

    input: NonNegative = 0.0
    output: NonNegative = 0.0
    cached_input: NonNegative | None = None


class PriceTable(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The shape of ``policies/prices.yaml`` and of ``accounting.prices``.

    ``models`` is keyed by model name (the upstream's, e.g. ``gpt-4o-mini``; dated
    snapshots fall back to their undated name); ``targets`` by target label
    (``provider/model``) and wins over ``models``, for deployments priced differently.
    """

    models: dict[str, ModelPrice] = field(default_factory=dict)
    targets: dict[str, ModelPrice] = field(default_factory=dict)


class Accounting(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    # The price file; empty: the ``policies/prices.yaml`` shipped with the gateway.
    prices_file: str = ""
    # Overrides on top of the file (same shape), e.g. negotiated prices per target.
    prices: PriceTable = field(default_factory=PriceTable)
    # The period of every budget that does not name its own (UTC calendar periods).
    budget_period: BudgetPeriod = "monthly"
    # Output tokens assumed for a budget's worst case when a chat request sets neither
    # max_completion_tokens nor max_tokens (legacy completions: OpenAI's 16).
    default_max_output_tokens: Annotated[int, Meta(ge=1)] = 4096
    # What a model with no known price is charged. Unset: teams and keys with a budget
    # cannot use it (403 model_not_priced), since it would spend nothing from the budget;
    # requests without a budget are recorded at cost 0.
    unpriced: ModelPrice | None = None
    # How long admission waits for the state store before admitting without a budget
    # check (fail open, logged); after a failure the store is skipped this long again,
    # so a frozen Redis costs a burst one wait, not one per request.
    store_timeout_s: Annotated[float, Meta(gt=0)] = 1.0
    # Each admitted request leaves an open record in the state store, settled by any
    # live replica (at its reservation, estimated) if the replica serving it dies: once
    # its targets' total timeout plus ``reap_grace_s`` has passed, checked every
    # ``reap_interval_s``. Written with the ledger's first batch after a request has
    # run ``open_record_delay_s`` (never for one that answers sooner); a replica killed
    # within that delay plus one ``flush_interval_s`` of admitting a request may leave
    # no record of it (as a crash may lose the last interval's settlements).
    open_records: bool = True
    open_record_delay_s: Annotated[float, Meta(ge=0, le=5)] = 0.01
    reap_interval_s: Annotated[float, Meta(gt=0)] = 5.0
    reap_grace_s: Annotated[float, Meta(ge=0)] = 30.0
    # A reservation left by a crashed replica is released after this many seconds.
    hold_ttl_s: Annotated[float, Meta(gt=0)] = 900.0
    # tiktoken encoding for models it does not know (local engines, other vendors).
    default_encoding: EncodingName = "o200k_base"
    # Usage records are written in batches at most this far apart.
    flush_interval_s: Annotated[float, Meta(gt=0, le=5)] = 0.05

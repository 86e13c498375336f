"""The ``confidence:`` section: output-confidence gate policies, chosen per team.

The gate asks providers for token log-probabilities and scores the answer by the mean
and the minimum token probability. Below a threshold it acts: ``flag`` (header, metric,
ledger), ``retry`` (once, on ``retry_model``), or ``replace`` (the answer becomes
``message``). Streams can only be flagged: their text is already with the client when
the verdict is known.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct, field

Probability = Annotated[float, Meta(ge=0, le=1)]


class _Base(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class GatePolicy(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    # Low when the mean token probability is below ``min_mean`` or any token's is
    # below ``min_token`` (0 disables that test).
    min_mean: Probability = 0.5
    min_token: Probability = 0.0
    action: Literal["flag", "retry", "replace"] = "flag"
    retry_model: str = ""
    message: str = (
        "I am not confident enough in an answer to this question. "
        "Please rephrase it or ask a person."
    )

    def __post_init__(self) -> None:
        if self.action == "retry" and not self.retry_model:
            raise ValueError("action: retry needs `retry_model`, a model in `models`")


class Confidence(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    policies: dict[str, GatePolicy] = field(default_factory=dict)
    # The policy of teams that name none; empty: no gate.
    default_policy: str = ""


NO_GATE = "off"

"""The output-confidence gate: token log-probabilities → confidence → flag, retry or
replace below a policy's threshold (``confidence.stage``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.confidence.stage import ConfidenceGate, Retry
    from gateway.config.schema import Config
    from gateway.routing.models import ModelRoute


def build_gate(
    config: Config, retry: Retry, resolve: Callable[[str], ModelRoute | None]
) -> ConfidenceGate | None:
    """The stage, or None when no policy is defined."""
    if not config.confidence.policies:
        return None
    from gateway.confidence.stage import ConfidenceGate

    return ConfidenceGate(config.confidence, retry, resolve)

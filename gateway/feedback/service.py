"""The feedback feature's parts built once per process: its store and what the feedback
routes need (team redaction, metrics). The experiment switches kept in the same store
are the experiments' own (``experiments.stage.Switches``, built by the app)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.config.schema import Config
from gateway.feedback.store import FeedbackStore
from gateway.telemetry.pipeline_metrics import PipelineMetrics

# Replaces personal data in one exported text (the guard's redaction, given by the app).
Redact = Callable[[str], str]


@dataclass(slots=True)
class Feedback:
    config: Config
    store: FeedbackStore
    metrics: PipelineMetrics | None
    # team → how its exported texts are redacted (its guardrail policy's detectors and
    # always the PII floor), built by the guard.
    redaction_for: Callable[[str], Redact]
    _redactions: dict[str, Redact] = field(default_factory=dict)

    def redaction(self, team: str) -> Redact:
        redact = self._redactions.get(team)
        if redact is None:
            redact = self._redactions[team] = self.redaction_for(team)
        return redact

    async def start(self) -> None:
        await self.store.start()

    async def aclose(self) -> None:
        await self.store.aclose()


def build_feedback(
    config: Config,
    store: FeedbackStore,
    metrics: PipelineMetrics | None,
    redaction_for: Callable[[str], Redact],
) -> Feedback:
    """``store`` is opened by the app, beside the state backend (same place, same URL)."""
    return Feedback(config, store, metrics, redaction_for)

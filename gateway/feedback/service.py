"""The feedback feature's parts built once per process: its store and what the feedback
routes need (team redaction, metrics). The experiment switches kept in the same store
are the experiments' own (``experiments.stage.Switches``, built by the app)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gateway.config.schema import Config
from gateway.feedback.redact import Redact, redaction_for
from gateway.feedback.store import FlywheelStore
from gateway.telemetry.pipeline_metrics import PipelineMetrics

if TYPE_CHECKING:  # a policy exists only where the guard extra is installed
    from gateway.guard.compiled import CompiledPolicy


@dataclass(slots=True)
class Feedback:
    config: Config
    store: FlywheelStore
    metrics: PipelineMetrics | None
    # team → its compiled guardrail policy (None: none), for export redaction.
    policy_for: Callable[[str], CompiledPolicy | None]
    _redactions: dict[str, Redact] = field(default_factory=dict)

    def redaction(self, team: str) -> Redact:
        redact = self._redactions.get(team)
        if redact is None:
            redact = self._redactions[team] = redaction_for(self.policy_for(team))
        return redact

    async def start(self) -> None:
        await self.store.start()

    async def aclose(self) -> None:
        await self.store.aclose()


def build_feedback(
    config: Config,
    store: FlywheelStore,
    metrics: PipelineMetrics | None,
    policy_for: Callable[[str], CompiledPolicy | None],
) -> Feedback:
    """``store`` is opened by the app, beside the state backend (same place, same URL)."""
    return Feedback(config, store, metrics, policy_for)

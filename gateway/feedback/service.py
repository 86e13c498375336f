"""The flywheel's parts built once per process: its store, the experiment switches,
and what the feedback and experiment routes need (team redaction, metrics)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.config.schema import Config
from gateway.experiments.stage import Switches
from gateway.feedback.redact import Redact, redaction_for
from gateway.feedback.store import FlywheelStore, open_flywheel_store
from gateway.state.embedded import default_path
from gateway.telemetry.pipeline_metrics import PipelineMetrics

if TYPE_CHECKING:  # a policy exists only where the guard extra is installed
    from gateway.guard.compiled import CompiledPolicy


@dataclass(slots=True)
class Flywheel:
    config: Config
    store: FlywheelStore
    switches: Switches
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
        await self.switches.start()

    async def aclose(self) -> None:
        await self.switches.stop()
        await self.store.aclose()


def build_flywheel(
    config: Config,
    metrics: PipelineMetrics | None,
    policy_for: Callable[[str], CompiledPolicy | None],
) -> Flywheel:
    state_path = Path(config.state.path) if config.state.path else default_path()
    store = open_flywheel_store(config.state.url, state_path)
    return Flywheel(config, store, Switches(config.experiments, store), metrics, policy_for)

"""Guardrails: per-team policies on what goes to a provider and what comes back.

    config (``guardrails`` + ``teams.<t>.guardrails``)        gateway.guard.config
      → policy documents (policies/guardrails/*.yaml)           gateway.guard.policies
      → guardrails-ai validators composed in Guards, built once gateway.guard.compiled
      → GuardStage: enter (caps, input rules), leave (output)   gateway.guard.stage

Detectors (no guardrails-ai import): ``terms`` (Aho-Corasick over folded text),
``pii`` (validated patterns), ``injection`` (rules + decoding + ``classifier``).

guardrails-ai is imported only when some team has a policy, at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.config.schema import Config
    from gateway.guard.stage import GuardStage
    from gateway.pipeline.stages import Call


def build_guard_stage(config: Config, call: Call) -> GuardStage | None:
    """The stage for this config, or None when no team has guardrails. ``call`` makes
    the JSON-schema repair request (the dispatcher)."""
    from gateway.guard.compiled import compile_policies

    policies = compile_policies(config)
    if not any(policies.values()):
        return None
    from gateway.guard.stage import GuardStage

    return GuardStage(policies, call)

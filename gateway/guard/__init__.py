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

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.config.schema import Config, Team
    from gateway.guard.compiled import CompiledPolicy
    from gateway.guard.stage import GuardStage
    from gateway.pipeline.stages import Call


def build_guard_stage(config: Config, call: Call) -> GuardStage | None:
    """The stage for this config, or None when no policy is configured at all. ``call``
    makes the JSON-schema repair request (the dispatcher)."""
    from gateway.auth.per_team import PerTeam
    from gateway.extras import require
    from gateway.guard.config import NO_POLICY
    from gateway.guard.policies import policy_names

    if not policy_names(config):
        return None
    require("guard", "guardrails (a team has a policy)")
    from gateway.guard.compiled import compile_policies

    compiled = compile_policies(config)
    if not compiled:
        return None
    from gateway.guard.stage import GuardStage

    default_name = config.guardrails.default_policy
    default = None if default_name == NO_POLICY else compiled.get(default_name)

    def policy(team: Team) -> CompiledPolicy | None:
        name = team.guardrails if team.guardrails is not None else default_name
        if name == NO_POLICY or not name:
            return None
        # A stored team naming a policy this replica did not compile (the admin API
        # refuses such names): the default, never nothing.
        return compiled.get(name, default)

    return GuardStage(PerTeam(policy, default, config.teams), call)


def team_check(config: Config) -> Callable[[Team], tuple[str, str] | None]:
    """Refuses, for teams created through the admin API, a policy this gateway did not
    compile at start-up (policies are compiled once, with the config)."""
    from gateway.guard.config import NO_POLICY
    from gateway.guard.policies import policy_names

    known = policy_names(config)

    def check(team: Team) -> tuple[str, str] | None:
        name = team.guardrails
        if name is None or name == NO_POLICY or name in known:
            return None
        offered = ", ".join(repr(n) for n in [*known, NO_POLICY])
        return "guardrails", (
            f"Unknown guardrail policy {name!r}: this gateway compiled {offered}. Add the "
            "policy to the config (guardrails.policies or a team there) to offer it."
        )

    return check

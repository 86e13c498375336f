"""Cross-reference checks of the ``confidence:`` section against the whole config.

Apart from the section's types (``config.py``, which the schema imports) so that the
loader can call them without an import circle; ``ConfigError`` is imported when a
check runs, since importing ``gateway.config`` runs the loader, which imports this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.confidence.config import NO_GATE

if TYPE_CHECKING:
    from gateway.config.schema import Config


def check_confidence(config: Config) -> None:
    """Policy names resolve and retry models exist."""
    from gateway.config.errors import ConfigError

    policies = config.confidence.policies
    for name, policy in policies.items():
        if policy.retry_model and policy.retry_model not in config.models:
            raise ConfigError(
                f"confidence.policies.{name}.retry_model", f"unknown model {policy.retry_model!r}"
            )
    default = config.confidence.default_policy
    if default and default != NO_GATE and default not in policies:
        raise ConfigError("confidence.default_policy", f"unknown policy {default!r}")
    for team_name, team in config.teams.items():
        chosen = team.confidence
        if chosen and chosen != NO_GATE and chosen not in policies:
            raise ConfigError(f"teams.{team_name}.confidence", f"unknown policy {chosen!r}")

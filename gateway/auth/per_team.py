"""Per-team values that stages derive from a team's settings.

Teams come from the config file (fixed at start-up) or from the admin API (created and
changed at run time; the key directory hands out a new ``Team`` object when one
changes). A stage that acts per team (its cache policy, guardrail policy, label notice,
content capture) derives its value once per settings object, not per request, and
picks up an admin change with the next request that carries the new object.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from gateway.auth.keys import Principal
from gateway.config.schema import Team

T = TypeVar("T")


class PerTeam(Generic[T]):
    __slots__ = ("_default", "_derive", "_seen")

    def __init__(
        self, derive: Callable[[Team], T], default: T, config_teams: Mapping[str, Team]
    ) -> None:
        """``default``: for callers without a team (the master key)."""
        self._derive = derive
        self._default = default
        self._seen: dict[str, tuple[Team, T]] = {
            name: (team, derive(team)) for name, team in config_teams.items()
        }

    def __call__(self, principal: Principal | None) -> T:
        if principal is None:
            return self._default
        return self.of(principal.team, principal.team_settings)

    def of(self, name: str, team: Team | None) -> T:
        """For callers that hold a team's name and settings rather than a principal."""
        if team is None:
            return self._default
        seen = self._seen.get(name)
        if seen is None or seen[0] is not team:
            seen = self._seen[name] = (team, self._derive(team))
        return seen[1]

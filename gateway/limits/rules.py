"""Which limits apply to a request: the rules, built from the config and cached.

A rule is one number at one level (``team research: 60 rpm``) with the storage key its
usage is counted under. A request's plan is every rule of its key, team, model and
team x model; a target's plan is that target's provider quota. Plans are built once
per (key, team, model) and then looked up, so the hot path does no config walking.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from urllib.parse import quote

from gateway.config.schema import Config
from gateway.limits.config import Limits

KEY_PREFIX = "gw:rl:"
_MAX_CACHED_PLANS = 65_536
PlanKey = tuple[str, str, str, Limits | None, Limits | None, Limits | None]


class Kind(IntEnum):
    REQUESTS = 0
    TOKENS = 1
    CONCURRENCY = 2


_SUFFIX = {Kind.REQUESTS: "r", Kind.TOKENS: "t", Kind.CONCURRENCY: "c"}


@dataclass(frozen=True, slots=True)
class Rule:
    key: str
    kind: Kind
    limit: int
    # Who the rule belongs to, for messages: "team research", "model gpt-4o".
    scope: str
    # Its level, for metrics: key, team, team_model, model or target.
    level: str
    # The caller's own level: its usage may appear in a 429 message. Shared levels
    # (a model, a provider account) are counted over every team, so their usage is not.
    own: bool


@dataclass(frozen=True, slots=True)
class Plan:
    rules: tuple[Rule, ...]
    has_tokens: bool
    has_concurrency: bool
    # Positions of the caller's own request and token rules, for the x-ratelimit-* headers.
    request_rules: tuple[int, ...] = ()
    token_rules: tuple[int, ...] = ()


EMPTY = Plan((), has_tokens=False, has_concurrency=False)


def plan_of(rules: Iterable[Rule]) -> Plan:
    ordered = tuple(rules)
    if not ordered:
        return EMPTY
    # Headers report the caller's own levels only: a shared level's usage (a model over
    # every team, a provider account) is other teams' business.
    requests = tuple(i for i, r in enumerate(ordered) if r.kind is Kind.REQUESTS and r.own)
    tokens = tuple(i for i, r in enumerate(ordered) if r.kind is Kind.TOKENS and r.own)
    return Plan(
        ordered,
        has_tokens=any(r.kind is Kind.TOKENS for r in ordered),
        has_concurrency=any(r.kind is Kind.CONCURRENCY for r in ordered),
        request_rules=requests,
        token_rules=tokens,
    )


def rules_for(limits: Limits | None, level: str, stem: str, scope: str, *, own: bool) -> list[Rule]:
    """The rules one ``Limits`` block adds; ``stem`` is its storage key stem."""
    if limits is None:
        return []
    found: list[Rule] = []
    for kind, limit in (
        (Kind.REQUESTS, limits.rpm),
        (Kind.TOKENS, limits.tpm),
        (Kind.CONCURRENCY, limits.concurrency),
    ):
        if limit is not None:
            key = f"{KEY_PREFIX}{stem}:{_SUFFIX[kind]}"
            found.append(Rule(key, kind, limit, scope, level, own))
    return found


def _part(name: str) -> str:
    # Quoted so that no name can forge another level's key (``a:b`` vs ``a`` + ``b``).
    return quote(name, safe="")


class PlanBook:
    """Builds and caches plans. Key and team limits come with the caller's principal
    (from the config, or from the admin API for keys and teams created there), so a
    change made through the admin API applies from the next request on; model and
    target limits come from the config."""

    def __init__(self, config: Config) -> None:
        # Model limits belong to the config entry, so every name a prefix route
        # (``openai/*``) serves shares that entry's counters.
        self._model_exact: dict[str, tuple[str, Limits] | None] = {}
        self._model_prefixes: list[tuple[str, str, Limits]] = []
        for name, spec in config.models.items():
            if not name.endswith("*"):
                # Exact names win over prefixes, as in the model table.
                self._model_exact[name] = None if spec.limits is None else (name, spec.limits)
            elif spec.limits is not None:
                self._model_prefixes.append((name[:-1], name, spec.limits))
        self._model_prefixes.sort(key=lambda item: len(item[0]), reverse=True)
        # Target limits by the target's label as written (``provider/model``); a ``*``
        # in the model applies the limits to each concrete upstream model it stands for.
        self._target_exact: dict[str, Limits] = {}
        self._target_patterns: list[tuple[str, Limits]] = []
        for spec in config.models.values():
            for target in spec.targets:
                if target.limits is None:
                    continue
                label = f"{target.provider}/{target.model}"
                if "*" in target.model:
                    self._target_patterns.append((label, target.limits))
                else:
                    self._target_exact.setdefault(label, target.limits)
        self._plans: dict[PlanKey, Plan] = {}
        self._target_plans: dict[str, Plan] = {}

    @property
    def has_target_limits(self) -> bool:
        return bool(self._target_exact or self._target_patterns)

    def for_request(
        self,
        key_id: str,
        team: str,
        model: str,
        key_limits: Limits | None = None,
        team_limits: Limits | None = None,
        team_model_limits: Limits | None = None,
    ) -> Plan:
        cache_key = (key_id, team, model, key_limits, team_limits, team_model_limits)
        plan = self._plans.get(cache_key)
        if plan is None:
            plan = self._build(*cache_key)
            if len(self._plans) >= _MAX_CACHED_PLANS:
                self._plans.clear()
            self._plans[cache_key] = plan
        return plan

    def for_target(self, label: str) -> Plan:
        plan = self._target_plans.get(label)
        if plan is None:
            limits = self._target_exact.get(label)
            if limits is None:
                limits = next(
                    (
                        lim
                        for pattern, lim in self._target_patterns
                        if fnmatch.fnmatchcase(label, pattern)
                    ),
                    None,
                )
            plan = plan_of(
                rules_for(limits, "target", f"p:{_part(label)}", f"target {label}", own=False)
            )
            if len(self._target_plans) >= _MAX_CACHED_PLANS:
                self._target_plans.clear()
            self._target_plans[label] = plan
        return plan

    def _build(
        self,
        key_id: str,
        team: str,
        model: str,
        key_limits: Limits | None,
        team_limits: Limits | None,
        team_model_limits: Limits | None,
    ) -> Plan:
        rules = rules_for(key_limits, "key", f"k:{_part(key_id)}", f"key {key_id}", own=True)
        rules += rules_for(team_limits, "team", f"t:{_part(team)}", f"team {team}", own=True)
        rules += rules_for(
            team_model_limits,
            "team_model",
            f"tm:{_part(team)}:{_part(model)}",
            f"team {team} on model {model}",
            own=True,
        )
        entry = self._model_entry(model)
        if entry is not None:
            name, limits = entry
            rules += rules_for(limits, "model", f"m:{_part(name)}", f"model {model}", own=False)
        return plan_of(rules)

    def _model_entry(self, model: str) -> tuple[str, Limits] | None:
        if model in self._model_exact:
            return self._model_exact[model]
        for prefix, name, limits in self._model_prefixes:
            if model.startswith(prefix) and model != prefix:
                return name, limits
        return None

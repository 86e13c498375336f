"""The records both state backends store, as msgspec Structs (encoded as JSON).

Money is in integer nano-dollars (``*_nano``); see ``accounting.prices``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from msgspec import Struct, field


class TeamRecord(Struct, kw_only=True, forbid_unknown_fields=False):
    """A team created through the admin API; ``settings`` holds a config ``Team``
    (allowed models, limits, budget, and the other features' per-team sections),
    validated against the config schema before it is stored."""

    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0
    # Immutable, made at creation: what everything the team stores is keyed by (spend,
    # ledger, limits, cache, feedback), so a new team that reuses a deleted team's name
    # starts empty. Teams stored before ids existed (and config teams) use their name.
    id: str = ""

    @property
    def team_id(self) -> str:
        return self.id or self.name


class KeyRecord(Struct, kw_only=True, forbid_unknown_fields=False):
    """An API key created through the admin API or CLI. Only the SHA-256 digest of the
    key is stored; ``prefix`` is what listings show."""

    id: str
    digest: str
    team: str
    prefix: str
    # The id of the team it was made for (``TeamRecord.team_id``): a key never serves a
    # later team that took the same name. Empty in keys made before ids existed.
    team_id: str = ""
    name: str = ""
    created_at: float = 0.0
    expires_at: float | None = None
    revoked_at: float | None = None
    budget_usd: float | None = None
    budget_period: str | None = None
    # A ``limits`` section (rpm, tpm, concurrency) for the rate limiter.
    limits: dict[str, Any] | None = None
    rotated_from: str | None = None
    # The id of the first key of a rotation chain: the key budget's scope, so rotating
    # a key does not refill its budget.
    lineage: str | None = None

    @property
    def budget_scope(self) -> str:
        return "key:" + (self.lineage or self.id)

    def active(self, now: float) -> bool:
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or now < self.expires_at


class PipelineNote(Struct, kw_only=True, forbid_unknown_fields=False, omit_defaults=True):
    """What the LLM-application pipeline decided for a request: the intent router's
    choice, the experiment variant, the confidence gate's verdict, guard actions."""

    router: str = ""
    intent: str = ""
    intent_score: float | None = None
    # True when no intent reached the router's min_score (its default intent was used).
    intent_fallback: bool = False
    tier: str = ""
    experiment: str = ""
    variant: str = ""
    # How the variant was chosen: "user" (user field), "header", "random", "stopped".
    assignment: str = ""
    # Mean and minimum token probability of the answer; None when unknown.
    confidence: float | None = None
    confidence_min: float | None = None
    # "ok" | "low" | "unknown", and what the gate did ("flag", "retry", "replace").
    gate: str = ""
    gate_action: str = ""
    guard_actions: int = 0


class UsageRecord(Struct, kw_only=True, forbid_unknown_fields=False):
    """One request, written once when it finishes (whatever way it finished)."""

    usage_id: str
    time: float
    request_id: str
    team: str
    key_id: str
    # The team's immutable id (``TeamRecord.team_id``); empty in records written before
    # ids existed, which belong to the team of that name.
    team_id: str = ""
    model: str
    target: str = ""
    endpoint: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost_nano: int = 0
    cache: str = ""
    latency_ms: float = 0.0
    status: int = 200
    estimated: bool = False
    stream: bool = False
    pipeline: PipelineNote | None = None

    @property
    def cost_usd(self) -> float:
        return self.cost_nano / 1e9


USAGE_FIELDS: tuple[str, ...] = UsageRecord.__struct_fields__


@dataclass(slots=True)
class BudgetCheck:
    """One budget a request must fit in: ``scope`` (``team:<name>`` / ``key:<id>``),
    its limit, and the period id whose spend counts."""

    scope: str
    limit_nano: int
    period: str


@dataclass(slots=True)
class Hold:
    """A reservation of ``amount_nano`` on every scope of ``scopes`` until settled (or,
    if its gateway dies, until ``ttl_s`` has passed)."""

    id: str
    scopes: tuple[str, ...]
    amount_nano: int
    ttl_s: float


@dataclass(slots=True)
class Refusal:
    check: BudgetCheck
    spent_nano: int
    held_nano: int


@dataclass(slots=True)
class Settlement:
    """A finished request: its record, the scopes and periods its cost is added to,
    and the hold it releases (if it took one)."""

    record: UsageRecord
    scopes: tuple[str, ...]
    periods: tuple[str, ...]
    hold: Hold | None = None


@dataclass(slots=True)
class OpenRecord:
    """An admitted request's provisional settlement (its reservation as an estimated
    cost), written by a reaper if nobody settles it by ``due`` (epoch seconds)."""

    settlement: Settlement
    due: float

    @property
    def usage_id(self) -> str:
        return self.settlement.record.usage_id


@dataclass(slots=True)
class UsageQuery:
    start: float | None = None
    end: float | None = None
    # A team's id (``TeamRecord.team_id``, a config team's name), not its display name.
    team: str | None = None
    key_id: str | None = None
    model: str | None = None
    request_id: str | None = None

    def matches(self, record: UsageRecord) -> bool:
        return (
            (self.start is None or record.time >= self.start)
            and (self.end is None or record.time < self.end)
            and (self.team is None or (record.team_id or record.team) == self.team)
            and (self.key_id is None or record.key_id == self.key_id)
            and (self.model is None or record.model == self.model)
            and (self.request_id is None or record.request_id == self.request_id)
        )


@dataclass(slots=True)
class AuthSnapshot:
    version: int
    teams: list[TeamRecord]
    keys: list[KeyRecord]


encode = msgspec.json.Encoder().encode
team_decoder = msgspec.json.Decoder(TeamRecord)
key_decoder = msgspec.json.Decoder(KeyRecord)
usage_decoder = msgspec.json.Decoder(UsageRecord)
note_decoder = msgspec.json.Decoder(PipelineNote)
# An open record (``StateBackend.open``): the settlement a request gets if its replica
# dies before settling it.
settlement_decoder = msgspec.json.Decoder(Settlement)

"""What other stages call to report their decisions to telemetry (and the access log).

Each call notes the decision in the request's ``DECISIONS`` slot (metrics, spans and the
access log read it when the request finishes) and, when the request is traced, adds an
event to its server span. Cheap and safe to call whether telemetry is on or off. Values
must come from config or a small fixed set: they become metric labels.

    cache stage:   cache_result(ctx, "hit" | "semantic" | "miss" | "bypass", similarity)
    guard stages:  guard_action(ctx, rule="pii.email", action="redact", direction="input")
    limits:        refused(ctx, reason="rate_limit" | "concurrency", scope="team")
    budgets:       refused(ctx, reason="budget", scope="key")
    labels:        labeled(ctx, produce_id)
    accounting:    charged(ctx, cost_usd)
    pipeline:      decision(ctx, "gateway.intent", {"gateway.intent.name": ...}) for the
                   intent router, experiment assignment and confidence gate (the values
                   also go on the server span as attributes)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from gateway.pipeline.context import RequestContext, Slot
from gateway.state.records import PipelineNote
from gateway.telemetry.state import TELEMETRY

CacheResult = Literal["hit", "semantic", "miss", "bypass"]
Direction = Literal["input", "output"]


@dataclass(slots=True)
class Decisions:
    """What the stages decided for one request, as plain values."""

    cache: str | None = None  # the cache result (None: the cache is off for the team)
    guard_actions: list[str] = field(default_factory=list)  # "direction:rule:action"
    refusal: str | None = None  # "reason:scope" of a limit or budget refusal
    label_id: str | None = None  # the answer's AI-content label id (GB 45438 ProduceID)
    cost_usd: float | None = None  # once accounting settled the request


DECISIONS: Slot[Decisions] = Slot("decisions")


def decisions(ctx: RequestContext) -> Decisions:
    """This request's decisions so far (made on first use)."""
    found = DECISIONS.get(ctx)
    return found if found is not None else DECISIONS.set(ctx, Decisions())


def cache_result(ctx: RequestContext, result: CacheResult, similarity: float | None = None) -> None:
    decisions(ctx).cache = result
    attributes: dict[str, Any] = {"gateway.cache.result": result}
    if similarity is not None:
        attributes["gateway.cache.similarity"] = similarity
    _event(ctx, "gateway.cache.lookup", attributes)


def guard_action(ctx: RequestContext, *, rule: str, action: str, direction: Direction) -> None:
    decisions(ctx).guard_actions.append(f"{direction}:{rule}:{action}")
    _event(
        ctx,
        "gateway.guard.action",
        {
            "gateway.guard.rule": rule,
            "gateway.guard.action": action,
            "gateway.guard.direction": direction,
        },
    )


def refused(ctx: RequestContext, *, reason: str, scope: str) -> None:
    decisions(ctx).refusal = f"{reason}:{scope}"
    _event(
        ctx, "gateway.limit.refused", {"gateway.limit.reason": reason, "gateway.limit.scope": scope}
    )


def labeled(ctx: RequestContext, produce_id: str) -> None:
    decisions(ctx).label_id = produce_id


def charged(ctx: RequestContext, cost_usd: float) -> None:
    decisions(ctx).cost_usd = cost_usd


# The LLM-application pipeline's decisions (intent router, experiment variant, confidence
# gate), written to the ledger by accounting and counted by the pipeline metrics.
NOTE: Slot[PipelineNote] = Slot("pipeline_note")


def note(ctx: RequestContext) -> PipelineNote:
    """This request's pipeline note, made on first use."""
    found = NOTE.get(ctx)
    return found if found is not None else NOTE.set(ctx, PipelineNote())


def decision(ctx: RequestContext, name: str, attributes: dict[str, Any]) -> None:
    """A pipeline decision: span attributes (searchable) plus a span event (ordered)."""
    state = TELEMETRY.get(ctx)
    if state is not None and state.server is not None:
        state.server.set_attributes(attributes)
        state.server.add_event(name, attributes)


def _event(ctx: RequestContext, name: str, attributes: dict[str, Any]) -> None:
    state = TELEMETRY.get(ctx)
    if state is not None and state.server is not None:
        state.server.add_event(name, attributes)

"""Prometheus series of the LLM-application pipeline: intent decisions, confidence-gate
verdicts, and per-variant experiment metrics.

Registered on the gateway's metrics registry (so ``/metrics`` shows them) and recorded
once per request when it finishes, by the telemetry stage (``Observe.finish``). Every
label value comes from config (router, intent, tier, experiment, variant) or a small
fixed set (verdict, action, outcome).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from gateway.auth.keys import PRINCIPAL
from gateway.pipeline.context import RequestContext
from gateway.telemetry import semconv as sc
from gateway.telemetry.events import NOTE, decisions

_EXP = ["experiment", "variant"]


class PipelineMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.intents = Counter(
            "gateway_intent_decisions",
            "Intent router decisions by router, intent and tier (matched: false = default).",
            ["router", "intent", "tier", "matched"],
            registry=r,
        )
        self.gate = Counter(
            "gateway_confidence_verdicts",
            "Confidence gate verdicts (ok, low, unknown) and actions (none, flag, retry, replace).",
            ["team", "verdict", "action"],
            registry=r,
        )
        self.confidence = Histogram(
            "gateway_answer_confidence",
            "Mean token probability of answers whose provider reported log-probabilities.",
            ["team"],
            buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0),
            registry=r,
        )
        self.variant_requests = Counter(
            "gateway_experiment_requests",
            "Requests per experiment variant by outcome (ok, error), cache result and "
            "how the user was assigned (user, header, random, stopped).",
            [*_EXP, "outcome", "cache", "assignment"],
            registry=r,
        )
        self.variant_latency = Histogram(
            "gateway_experiment_latency_seconds",
            "Request latency per experiment variant.",
            _EXP,
            buckets=sc.DURATION_BUCKETS,
            registry=r,
        )
        self.variant_tokens = Counter(
            "gateway_experiment_tokens",
            "Tokens per experiment variant.",
            [*_EXP, "type"],
            registry=r,
        )
        self.variant_cost = Counter(
            "gateway_experiment_cost_usd", "Cost per experiment variant.", _EXP, registry=r
        )
        self.variant_guard = Counter(
            "gateway_experiment_guard_actions",
            "Guardrail actions on requests of each experiment variant.",
            _EXP,
            registry=r,
        )
        self.variant_feedback = Counter(
            "gateway_experiment_feedback",
            "Feedback ratings (good, bad) on requests of each experiment variant.",
            [*_EXP, "rating"],
            registry=r,
        )

    def record(self, ctx: RequestContext, seconds: float) -> None:
        note = NOTE.get(ctx)
        if note is None:
            return
        principal = PRINCIPAL.get(ctx)
        team = principal.team if principal is not None else ""
        if note.router:
            matched = "false" if note.intent_fallback else "true"
            self.intents.labels(note.router, note.intent, note.tier, matched).inc()
        if note.gate:
            self.gate.labels(team, note.gate, note.gate_action or "none").inc()
            if note.confidence is not None:
                self.confidence.labels(team).observe(note.confidence)
        if note.experiment:
            key = (note.experiment, note.variant)
            outcome = "ok" if ctx.status < 400 else "error"
            decided = decisions(ctx)
            cache = decided.cache or "none"
            assignment = note.assignment or "user"
            self.variant_requests.labels(*key, outcome, cache, assignment).inc()
            self.variant_latency.labels(*key).observe(seconds)
            usage = ctx.usage
            if usage is not None:
                self.variant_tokens.labels(*key, "input").inc(usage.prompt_tokens)
                self.variant_tokens.labels(*key, "output").inc(usage.completion_tokens)
            if decided.cost_usd:
                self.variant_cost.labels(*key).inc(decided.cost_usd)
            if decided.guard_actions:
                self.variant_guard.labels(*key).inc(len(decided.guard_actions))

    def feedback(self, experiment: str, variant: str, rating: str) -> None:
        self.variant_feedback.labels(experiment, variant, rating).inc()

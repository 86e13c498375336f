"""What one finished request adds to the Prometheus series, read from its context.

Everything here is a dict hit for the label child and an increment or an observation;
label values come from config or small fixed sets (see ``metrics``).
"""

from __future__ import annotations

from gateway.auth.keys import PRINCIPAL
from gateway.pipeline.context import RequestContext
from gateway.routing.models import ROUTE, TARGET
from gateway.telemetry.attributes import OPERATIONS
from gateway.telemetry.events import Decisions, decisions
from gateway.telemetry.metrics import GatewayMetrics


def record_request(
    metrics: GatewayMetrics,
    ctx: RequestContext,
    latency: float,
    ttft: float | None,
    error_type: str,
) -> None:
    principal = PRINCIPAL.get(ctx)
    team = principal.team if principal is not None else ""
    route, answered = ROUTE.get(ctx), TARGET.get(ctx)
    model = metrics.model_values(route.name) if route is not None else ""
    target = metrics.target_values(answered.label) if answered is not None else ""
    operation = OPERATIONS[ctx.endpoint]
    endpoint = ctx.surface or ctx.endpoint.value
    metrics.c_requests(endpoint, team, model, target, str(ctx.status)).inc()
    metrics.c_server_duration(operation, model, team, error_type).observe(latency)
    usage = ctx.usage
    if ttft is not None:
        metrics.c_server_ttft(operation, model, team).observe(ttft)
        if usage is not None and usage.completion_tokens > 1:
            per_token = (latency - ttft) / (usage.completion_tokens - 1)
            metrics.c_server_tpot(operation, model, team).observe(per_token)
    if usage is not None:
        metrics.c_tokens(team, model, "input").inc(usage.prompt_tokens)
        metrics.c_tokens(team, model, "output").inc(usage.completion_tokens)
        if usage.cached_tokens:
            metrics.c_tokens(team, model, "cached_input").inc(usage.cached_tokens)
    decided = decisions(ctx)
    if decided.cost_usd:
        metrics.c_cost(team, model).inc(decided.cost_usd)
    if decided.cache is not None:
        metrics.c_cache(team, model, decided.cache).inc()
    refusal = _refusal(ctx, decided)
    if refusal is not None:
        metrics.c_refusals(team, *refusal).inc()
    for action in decided.guard_actions:
        direction, rule, verb = action.split(":", 2)
        metrics.c_guard_actions(team, direction, rule, verb).inc()


def _refusal(ctx: RequestContext, decided: Decisions) -> tuple[str, str] | None:
    """(reason, scope) when the gateway itself refused: what the limit/budget stage said,
    else a 429 that no upstream attempt produced."""
    if decided.refusal is not None:
        reason, _, scope = decided.refusal.partition(":")
        return reason, scope
    if ctx.status == 429 and ctx.attempts == 0 and ctx.error is not None:
        return (ctx.error.code or "rate_limit"), ""
    return None

"""One routing decision: the order in which a model's targets are tried for a request.

    half-open probes ─ usable targets in strategy order ─ cooling / down ─ saturated (spill)

- A target whose breaker is open is left out (its probe slot, once due, goes first,
  so recovery is noticed by one real request).
- Usable targets are ordered by the model's strategy; the session's last target, when
  usable, moves to the front (``x-session-id``).
- Targets cooling down after a 429, or whose provider's probe says down, are kept as
  a last resort, in strategy order.
- ``engine-aware``: engines with room first by score, then the model's other targets
  (the cloud spill), then saturated engines (``spill``) or none (``shed``).

When nothing may be tried, the plan carries the error that says why (every breaker
open, every engine saturated). The router also records outcomes: breaker verdicts,
latency, cool-downs, session and prefix memory.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.engines.metrics import LoadSample
from gateway.errors import GatewayError, RateLimitError, ServiceUnavailableError
from gateway.pipeline.context import RequestContext
from gateway.routing import strategies
from gateway.routing.affinity import (
    PrefixIndex,
    SessionMap,
    block_hashes,
    checkpoints,
    prompt_text,
)
from gateway.routing.breaker import BreakerState
from gateway.routing.models import ModelRoute, RouteTarget
from gateway.routing.retry import CircuitOpenError, Verdict, retry_after_s

IsUp = Callable[[str], bool]
Loads = Callable[[str, float], LoadSample | None]
_MAX_COOLDOWN_S = 60.0
_DEFAULT_COOLDOWN_S = 1.0


@dataclass(slots=True)
class Plan:
    targets: list[RouteTarget]
    session_key: str | None = None
    blocks: list[int] = field(default_factory=list)
    # Why no target may be tried (every breaker open, engines saturated and shedding).
    refusal: GatewayError | None = None


class Router:
    def __init__(
        self,
        is_up: IsUp,
        loads: Loads | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._is_up = is_up
        self._loads = loads or (lambda provider, now: None)
        self._rng = rng or random.Random()  # noqa: S311 (load spreading, not secrets)
        self.sessions = SessionMap()
        self.prefixes = PrefixIndex()
        self._marks: dict[int, tuple[int, ...]] = {}

    # --- deciding -----------------------------------------------------------------------

    def plan(self, route: ModelRoute, ctx: RequestContext) -> Plan:
        now = time.monotonic()
        policy = route.policy
        usable: list[RouteTarget] = []
        aside: list[RouteTarget] | None = None  # not closed, cooling down, or down
        is_up = self._is_up
        for target in route.targets:
            state = target.state
            if (
                state.breaker.state is BreakerState.CLOSED
                and state.cooldown_until <= now
                and is_up(target.provider)
            ):
                usable.append(target)
            elif aside is None:
                aside = [target]
            else:
                aside.append(target)
        plan = Plan(usable)
        header = policy.session_header
        if header:
            session = ctx.client_headers.get(header)
            if session:
                plan.session_key = f"{route.name}\x00{session}"
        strategy = policy.strategy
        rng = self._rng
        saturated: list[RouteTarget] = []
        if strategy == "weighted":
            ordered = strategies.weighted(usable, rng)
        elif strategy == "latency":
            ordered = strategies.latency(usable, rng, stream=ctx.stream, explore=policy.explore)
        elif strategy == "least-busy":
            ordered = strategies.least_busy(usable, rng)
        elif strategy == "cost":
            ordered = strategies.cheapest(usable, rng)
        else:
            ordered, saturated = self._engine_order(route, ctx, usable, plan, now)
        if plan.session_key is not None:
            ordered = self._sticky(plan.session_key, ordered, now)
        if aside is None and not saturated:
            plan.targets = ordered
            return plan
        probes: list[RouteTarget] = []
        later: list[RouteTarget] = []
        blocked: list[RouteTarget] = []
        for target in aside or ():
            breaker = target.state.breaker
            if breaker.state is not BreakerState.CLOSED:
                (probes if breaker.available(now) else blocked).append(target)
            else:
                later.append(target)
        plan.targets = [*probes, *ordered, *strategies.weighted(later, rng)]
        if policy.engine.on_saturation == "spill":
            plan.targets.extend(saturated)
        if not plan.targets:
            plan.refusal = self._refusal(route, blocked, saturated, now)
        return plan

    def _engine_order(
        self,
        route: ModelRoute,
        ctx: RequestContext,
        usable: list[RouteTarget],
        plan: Plan,
        now: float,
    ) -> tuple[list[RouteTarget], list[RouteTarget]]:
        scoring = route.policy.engine
        engines = [t for t in usable if t.engine_load]
        others = [t for t in usable if not t.engine_load]
        matched: dict[str, int] = {}
        total = 0
        if scoring.prefix_weight > 0 and len(engines) > 1:
            marks = self._marks.get(scoring.prefix_max_blocks)
            if marks is None:
                marks = self._marks[scoring.prefix_max_blocks] = checkpoints(
                    scoring.prefix_max_blocks
                )
            text = prompt_text(ctx.endpoint, ctx.body)
            plan.blocks = block_hashes(text, scoring.prefix_block_chars, marks)
            if plan.blocks:
                total = marks[len(plan.blocks) - 1]
                held = self.prefixes.match(plan.blocks)
                matched = {label: marks[count - 1] for label, count in held.items()}
        order = strategies.score_engines(
            engines, self._loads, now, scoring, matched, total, self._rng
        )
        return [*order.ready, *strategies.weighted(others, self._rng)], order.saturated

    def _sticky(self, key: str, ordered: list[RouteTarget], now: float) -> list[RouteTarget]:
        label = self.sessions.get(key, now)
        if label is None or not ordered or ordered[0].label == label:
            return ordered
        for position, target in enumerate(ordered):
            if target.label == label:
                return [target, *ordered[:position], *ordered[position + 1 :]]
        return ordered

    def _refusal(
        self,
        route: ModelRoute,
        blocked: list[RouteTarget],
        saturated: list[RouteTarget],
        now: float,
    ) -> GatewayError:
        if saturated:
            return ServiceUnavailableError(
                f"Every engine serving `{route.name}` is saturated; try again shortly.",
                code="engines_saturated",
                headers={"retry-after": "1"},
            )
        if blocked:
            wait = min(t.state.breaker.retry_in(now) for t in blocked)
            last = next(
                (t.state.breaker.last_error for t in blocked if t.state.breaker.last_error),
                None,
            )
            return CircuitOpenError(route.name, last, math.ceil(wait) or 1)
        return ServiceUnavailableError(f"No target of `{route.name}` can be tried now.")

    # --- recording ----------------------------------------------------------------------

    def succeeded(self, target: RouteTarget, plan: Plan, seconds: float, *, stream: bool) -> None:
        """The target answered (for a stream: its first chunk arrived)."""
        state = target.state
        state.breaker.success(time.monotonic())
        if stream:
            state.observe_ttfb(seconds)
        else:
            state.observe_total(seconds)
        if plan.session_key is not None:
            self.sessions.remember(plan.session_key, target.label)
        if plan.blocks:
            self.prefixes.remember(plan.blocks, target.label)

    def failed(self, target: RouteTarget, error: GatewayError, verdict: Verdict) -> None:
        state = target.state
        now = time.monotonic()
        if isinstance(error, RateLimitError):
            wait = retry_after_s(error.headers)
            pause = _DEFAULT_COOLDOWN_S if wait is None else min(wait, _MAX_COOLDOWN_S)
            state.cooldown_until = max(state.cooldown_until, now + pause)
            state.breaker.release()
        elif verdict.breaker_failure:
            state.breaker.failure(now, error)
        else:
            state.breaker.success(now)  # a client error: the target itself works

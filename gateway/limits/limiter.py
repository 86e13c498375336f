"""The rate limiter: admits a request against every rule that applies to it, reserves
its tokens, and settles them with the real usage when it ends.

One instance per process, built at start-up. With ``state.url`` set, usage is counted
in Redis (exact across every replica); without it, in process (exact for one process;
with ``server.workers`` > 1 each worker enforces its share of each limit).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from dataclasses import dataclass, field
from typing import Literal

from gateway.accounting.tokens import PROMPT_TOKENS
from gateway.auth.keys import PRINCIPAL
from gateway.config.schema import Config
from gateway.errors import ServiceUnavailableError
from gateway.limits.config import RateLimitSettings
from gateway.limits.engine import Engine, Verdict
from gateway.limits.failover import StoreGuard
from gateway.limits.headers import rate_headers, refusal
from gateway.limits.memory import MemoryEngine
from gateway.limits.reservation import reserved_tokens
from gateway.limits.rules import EMPTY, Kind, Plan, PlanBook
from gateway.pipeline.context import RequestContext, Slot
from gateway.routing.models import TARGET
from gateway.telemetry import events

log = logging.getLogger("gateway.limits")

Mode = Literal["local", "shared", "fail-open", "fail-closed"]
_QUEUE_POLL_S = 0.05
_LEASE_MARGIN_S = 60.0


@dataclass(slots=True)
class Ticket:
    """What one admission counted, so that settlement undoes exactly that."""

    engine: Engine
    plan: Plan
    bucket: int
    tokens: int
    lease: str
    # The target label for a provider-quota ticket; None for the request's own limits.
    target: str | None = None


@dataclass(slots=True)
class Admission:
    """A request's standing with the limiter, kept in its ``ADMISSION`` slot."""

    tokens: int = -1  # reserved tokens; -1 until counted (only token rules need it)
    tickets: list[Ticket] = field(default_factory=list)
    # An answer came back (a body or an open stream): unknown usage then means the
    # reservation stands, rather than nothing spent.
    replied: bool = False


# What admission reserved for this request, settled when it finishes.
ADMISSION: Slot[Admission] = Slot("admission")


@dataclass(slots=True)
class Stats:
    admitted: int = 0
    refused: int = 0


class RateLimiter:
    def __init__(self, config: Config) -> None:
        settings: RateLimitSettings = config.limits
        self._settings = settings
        self._book = PlanBook(config)
        self.stats = Stats()
        self._guard: StoreGuard | None = None
        self._local: MemoryEngine | None = None
        if config.state.url:
            from gateway.limits.redis_engine import RedisEngine

            lease_s = settings.lease_s or _LEASE_MARGIN_S + max(
                (p.timeouts.total for p in config.providers.values()), default=600.0
            )
            self._guard = StoreGuard(
                RedisEngine(config.state.url, settings.store, lease_ms=int(lease_s * 1000)),
                fail_open=settings.on_store_error == "open",
                replicas=settings.replicas,
                probe_interval_s=settings.store.probe_interval_s,
                connections=settings.store.pool_size,
            )
        else:
            self._local = MemoryEngine(divisor=config.server.workers)
            if config.server.workers > 1:
                log.info(
                    "rate limits are per worker without state.url: each of %d workers "
                    "enforces 1/%d of every limit",
                    config.server.workers,
                    config.server.workers,
                )

    @property
    def mode(self) -> Mode:
        """``local`` (embedded), ``shared`` (Redis), or the failure mode in force."""
        return "local" if self._guard is None else self._guard.mode

    @property
    def store_errors(self) -> int:
        """Failed calls to the shared store since start-up (a counter for metrics)."""
        return 0 if self._guard is None else self._guard.store_errors

    @property
    def outages(self) -> int:
        """Times the shared store became unreachable since start-up."""
        return 0 if self._guard is None else self._guard.outages

    @property
    def has_target_limits(self) -> bool:
        return self._book.has_target_limits

    async def admit(self, ctx: RequestContext) -> None:
        """Admit ``ctx`` under its key, team, model and team x model limits, or raise
        the 429 (``RateLimitError``) naming the limit it hit."""
        principal = PRINCIPAL.get(ctx)
        if principal is None:
            return
        team = principal.team_settings
        plan = self._book.for_request(
            principal.key_id,
            principal.team_id,
            ctx.model,
            principal.limits,
            team.limits if team is not None else None,
            team.model_limits.get(ctx.model) if team is not None else None,
        )
        if plan is EMPTY:
            return
        admission = Admission()
        if plan.has_tokens:
            admission.tokens = await reserved_tokens(ctx, self._settings.default_max_tokens)
        ticket, headers = await self._acquire(ctx, plan, admission, own=True)
        admission.tickets.append(ticket)
        ADMISSION.set(ctx, admission)
        if headers:
            ctx.response_headers.update(headers)

    async def acquire_target(self, ctx: RequestContext, label: str) -> None:
        """The routing hook: count this attempt against target ``label``'s provider
        quota, or raise ``RateLimitError`` so that routing tries the next target."""
        plan = self._book.for_target(label)
        if plan is EMPTY:
            return
        admission = ADMISSION.get(ctx)
        if admission is None:
            admission = ADMISSION.set(ctx, Admission())
        if plan.has_tokens and admission.tokens < 0:
            admission.tokens = await reserved_tokens(ctx, self._settings.default_max_tokens)
        ticket, _ = await self._acquire(ctx, plan, admission, own=False)
        ticket.target = label
        admission.tickets.append(ticket)

    def note_reply(self, ctx: RequestContext) -> None:
        admission = ADMISSION.get(ctx)
        if admission is not None:
            admission.replied = True

    async def settle(self, ctx: RequestContext) -> None:
        """Correct every reservation of ``ctx`` by its real usage and free its slots."""
        admission = ADMISSION.get(ctx)
        if admission is None:
            return
        target = TARGET.get(ctx)
        answered = target.label if target is not None else None
        for ticket in admission.tickets:
            delta = 0
            if ticket.plan.has_tokens:
                spent = _spent(ctx, admission, ticket.tokens)
                if ticket.target is not None and ticket.target != answered:
                    spent = 0  # an attempt that another target replaced
                delta = spent - ticket.tokens
            if delta or ticket.plan.has_concurrency:
                await self._settle(ticket, delta)

    async def aclose(self) -> None:
        if self._guard is not None:
            await self._guard.aclose()

    async def _acquire(
        self, ctx: RequestContext, plan: Plan, admission: Admission, *, own: bool
    ) -> tuple[Ticket, dict[str, str]]:
        """``own``: the request's own limits, which may queue for a slot and whose
        refusal is the request's (a target's refusal only sends routing elsewhere)."""
        tokens = max(0, admission.tokens)
        lease = os.urandom(8).hex() if plan.has_concurrency else ""
        deadline: float | None = None
        while True:
            try:
                verdict, engine = await self._admit(plan, tokens, lease)
            except ServiceUnavailableError:
                if own:
                    events.refused(ctx, reason="limiter_unavailable", scope="store")
                raise
            headers = rate_headers(plan, verdict, engine.divisor) if self._settings.headers else {}
            if verdict.admitted:
                self.stats.admitted += 1
                return Ticket(engine, plan, verdict.bucket, tokens, lease), headers
            if own and self._may_queue(plan, verdict):
                now = time.monotonic()
                deadline = deadline or now + self._settings.queue_s
                if now < deadline:
                    pause = _QUEUE_POLL_S * (0.5 + random.random())  # noqa: S311
                    await asyncio.sleep(min(pause, deadline - now))
                    continue
            self.stats.refused += 1
            if own:
                rule = plan.rules[verdict.refused]
                reason = "concurrency" if rule.kind is Kind.CONCURRENCY else "rate_limit"
                events.refused(ctx, reason=reason, scope=rule.level)
            raise refusal(plan, verdict, tokens, headers, engine.divisor)

    def _may_queue(self, plan: Plan, verdict: Verdict) -> bool:
        return self._settings.queue_s > 0 and plan.rules[verdict.refused].kind is Kind.CONCURRENCY

    async def _admit(self, plan: Plan, tokens: int, lease: str) -> tuple[Verdict, Engine]:
        if self._guard is not None:
            return await self._guard.admit(plan.rules, tokens, lease)
        assert self._local is not None
        return await self._local.admit(plan.rules, tokens, lease), self._local

    async def _settle(self, ticket: Ticket, delta: int) -> None:
        rules = ticket.plan.rules
        if self._guard is not None:
            await self._guard.settle(ticket.engine, rules, ticket.bucket, delta, ticket.lease)
        else:
            await ticket.engine.settle(rules, ticket.bucket, delta, ticket.lease)


def _spent(ctx: RequestContext, admission: Admission, reserved: int) -> int:
    usage = ctx.usage
    if usage is not None:
        return usage.total_tokens
    # No usage even after accounting counted what was delivered: nothing reached the
    # client. The prompt was spent if the upstream started answering; holding the whole
    # reservation would keep max_tokens out of the window for a minute per broken stream.
    if not admission.replied:
        return 0
    return min(reserved, PROMPT_TOKENS.get(ctx) or 0)

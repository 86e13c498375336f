"""Admission against budgets: reserve the request's worst-case cost before it runs.

Worst case = counted prompt tokens x the highest input price among the targets that
may answer (fallbacks included) + the most output it may produce (``wire.caps``: the
largest cap field per choice; without one, the most any target may generate uncapped,
its model's ceiling from the capability table, and at least
``accounting.default_max_output_tokens``; OpenAI's 16 for legacy completions) x the
highest output price. The reservation is held on the team's and the key's budget at
once, atomically, and settled with the real cost when the request finishes
(``settle``). Concurrent requests therefore overshoot a budget by at most what their
real costs exceed their reservations, never by what is in flight.

Every admitted request (budget or not) also leaves an open record in the state store:
the ledger record it gets, at its reservation, if its replica dies before ``settle``
runs; any live replica writes it once its deadline has passed (``Accounting._reap``).
It is queued with the ledger's batched writes and written only once the request has run
``accounting.open_record_delay_s``, so one that settles sooner never writes it.

Over budget: 429 ``insufficient_quota``, with ``retry-after`` set to the end of the
budget period and ``x-should-retry: false`` (OpenAI's SDKs then do not retry).

Fails open: if the state store does not answer within ``accounting.store_timeout_s``
the request is admitted and logged, and the store is skipped for as long again (a
frozen Redis costs a burst one wait); its usage is still queued and written when the
store is back.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import os
import time

from gateway.accounting.config import BudgetPeriod
from gateway.accounting.periods import Periods
from gateway.accounting.prices import Rate
from gateway.accounting.service import Accounting
from gateway.accounting.state import ACCOUNTING, AccountingState
from gateway.accounting.tokens import prompt_tokens
from gateway.auth.keys import PRINCIPAL, Principal
from gateway.errors import PermissionDeniedError, QuotaExceededError
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import Reply
from gateway.pipeline.stages import Stage
from gateway.routing.models import ROUTE, ModelRoute
from gateway.state.base import StateError
from gateway.state.records import (
    BudgetCheck,
    Hold,
    OpenRecord,
    Refusal,
    Settlement,
    UsageRecord,
)
from gateway.wire.caps import output_tokens

log = logging.getLogger("gateway.accounting")


# Usage ids: a random per-process prefix and a counter, unique across processes and
# restarts without a syscall per request (os.urandom costs up to a millisecond on some
# virtual machines). A forked child draws its own prefix: equal ids would make the
# ledger drop one of the two records as a duplicate.
class _UsageIds:
    def __init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter):x}"


_USAGE_IDS = _UsageIds()
os.register_at_fork(after_in_child=_USAGE_IDS.reseed)


def new_usage_id() -> str:
    return _USAGE_IDS.next()


class BudgetAdmission(Stage):
    def __init__(self, accounting: Accounting) -> None:
        self._accounting = accounting
        settings = accounting.config.accounting
        self._default_period = settings.budget_period
        self._default_max_output = settings.default_max_output_tokens
        self._hold_ttl = settings.hold_ttl_s
        self._store_timeout = settings.store_timeout_s
        self._open_records = settings.open_records
        self._skip_until = 0.0

    async def enter(self, ctx: RequestContext) -> Reply | None:
        state = ACCOUNTING.get(ctx)
        if state is None:
            state = ACCOUNTING.set(ctx, AccountingState(usage_id=new_usage_id()))
        principal = PRINCIPAL.get(ctx)
        route = ROUTE.get(ctx)
        if principal is None or principal.is_master or route is None:
            return None
        periods = self._accounting.clock.periods()
        checks = self._checks(principal, periods)
        if checks:
            await self._reserve(ctx, state, principal, route, checks, periods)
        if self._open_records:
            self._open(ctx, state, principal, route, periods)
        return None

    async def _reserve(
        self,
        ctx: RequestContext,
        state: AccountingState,
        principal: Principal,
        route: ModelRoute,
        checks: list[BudgetCheck],
        periods: Periods,
    ) -> None:
        unpriced = self._accounting.unpriced(route)
        if unpriced:
            raise PermissionDeniedError(
                f"The model `{ctx.model}` has no known price ({', '.join(unpriced)}), so it "
                "cannot be charged to a budget. Ask an administrator to price it "
                "(policies/prices.yaml, accounting.prices) or to set accounting.unpriced.",
                param="model",
                code="model_not_priced",
            )
        rate = self._accounting.worst_rate(route)
        uncapped = max(self._default_max_output, self._accounting.max_output(route))
        amount = await self._worst_case(ctx, rate, uncapped)
        hold = Hold(
            id=state.usage_id,
            scopes=tuple(c.scope for c in checks),
            amount_nano=amount,
            ttl_s=self._hold_ttl,
        )
        # Kept whatever the store says: settling releases a hold that exists and
        # ignores one that does not (a timed-out call may still land on a slow store).
        state.hold = hold
        if time.monotonic() < self._skip_until:
            return
        try:
            async with asyncio.timeout(self._store_timeout):
                refusal = await self._accounting.state.reserve(checks, hold)
        except (StateError, TimeoutError) as exc:
            self._store_failed(exc)
            return
        if refusal is not None:
            state.hold = None
            raise self._refused(refusal, principal, periods, amount)

    def _open(
        self,
        ctx: RequestContext,
        state: AccountingState,
        principal: Principal,
        route: ModelRoute,
        periods: Periods,
    ) -> None:
        """The record this request gets if its replica dies before settling it: its
        reservation as an estimated cost, status 0, due once its targets' total timeout
        (and a grace) has passed, when any live replica writes it and frees its hold.
        Queued with the ledger's writes, never awaited."""
        hold = state.hold
        record = UsageRecord(
            usage_id=state.usage_id,
            time=time.time(),
            request_id=ctx.request_id,
            team=principal.team,
            team_id=principal.team_id,
            key_id=principal.key_id,
            model=ctx.model,
            endpoint=ctx.endpoint.value,
            cost_nano=hold.amount_nano if hold is not None else 0,
            status=0,
            estimated=True,
            stream=ctx.stream,
        )
        settlement = Settlement(
            record=record,
            scopes=("team:" + principal.team_id, principal.key_scope),
            periods=periods.ids,
            hold=hold,
        )
        due = record.time + self._accounting.deadline_s(route)
        self._accounting.state.open(OpenRecord(settlement, due))

    def _store_failed(self, exc: BaseException) -> None:
        self._skip_until = time.monotonic() + self._store_timeout
        log.error("budget not checked (state store unreachable), admitted: %r", exc)

    def _checks(self, principal: Principal, periods: Periods) -> list[BudgetCheck]:
        checks = []
        team = principal.team_settings
        if team is not None and team.budget_usd is not None:
            period = team.budget_period or self._default_period
            checks.append(
                BudgetCheck("team:" + principal.team_id, _nano(team.budget_usd), periods.id(period))
            )
        budget = principal.budget
        if budget is not None:
            period = _period(budget.period) or self._default_period
            checks.append(BudgetCheck(principal.key_scope, _nano(budget.usd), periods.id(period)))
        return checks

    async def _worst_case(self, ctx: RequestContext, rate: Rate, uncapped: int) -> int:
        prompt = await prompt_tokens(ctx)
        output = output_tokens(ctx.endpoint, ctx.body, uncapped)
        return math.ceil(prompt * rate.input + output * rate.output)

    def _refused(
        self, refusal: Refusal, principal: Principal, periods: Periods, amount: int
    ) -> QuotaExceededError:
        check = refusal.check
        is_team = check.scope.startswith("team:")
        period: BudgetPeriod = (
            (principal.team_settings.budget_period if principal.team_settings else None)
            if is_team
            else _period(principal.budget.period if principal.budget else None)
        ) or self._default_period
        owner = f"team '{principal.team}'" if is_team else f"key {principal.key_id}"
        headers = {"x-should-retry": "false"}
        left = periods.seconds_left(period, time.time())
        if left is not None:
            headers["retry-after"] = str(left)
        return QuotaExceededError(
            f"You exceeded your current quota: the {period} budget of {owner} is "
            f"${check.limit_nano / 1e9:.2f}, ${refusal.spent_nano / 1e9:.4f} is spent and "
            f"${refusal.held_nano / 1e9:.4f} reserved by requests in flight; this request "
            f"may cost up to ${amount / 1e9:.4f}.",
            headers=headers,
        )


def _nano(usd: float) -> int:
    return round(usd * 1e9)


_PERIODS: dict[str | None, BudgetPeriod] = {
    "daily": "daily",
    "weekly": "weekly",
    "monthly": "monthly",
    "total": "total",
}


def _period(value: str | None) -> BudgetPeriod | None:
    return _PERIODS.get(value)

"""Everything keys, budgets and the ledger share in one process, built once at start-up.

The app factory opens the state backend first and hands it here; the lifespan starts
the accounting (loads admin-created keys, starts the poller) after the backend and stops
them before it, so every queued usage record is written before the store closes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from gateway.accounting import encodings
from gateway.accounting.periods import Clock
from gateway.accounting.prices import Prices, Rate, load_table
from gateway.auth.directory import KeyDirectory
from gateway.auth.keys import KeyStore
from gateway.auth.manage import AccountAdmin
from gateway.background import cancel_all
from gateway.config.schema import Config
from gateway.routing.models import ModelRoute, ModelTable, RouteTarget
from gateway.state import StateBackend
from gateway.state.base import StateError

log = logging.getLogger("gateway.accounting")
_MAX_FALLBACK_DEPTH = 3


@dataclass(slots=True)
class Accounting:
    config: Config
    state: StateBackend
    directory: KeyDirectory
    admin: AccountAdmin
    prices: Prices
    models: ModelTable
    clock: Clock = field(default_factory=Clock)
    _unpriced: dict[str, list[str]] = field(default_factory=dict)
    _max_output: dict[str, int] = field(default_factory=dict)
    _deadline: dict[str, float] = field(default_factory=dict)
    _reaper: asyncio.Task[None] | None = None
    _preload: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.directory.start()
        if self._needs_counts():
            # Budgets and token limits count every prompt: load tiktoken now, off the loop.
            self._preload = asyncio.create_task(
                asyncio.to_thread(encodings.preload, self._upstream_models())
            )
        if self.config.accounting.open_records:
            self._reaper = asyncio.create_task(self._reap(), name="gateway-reaper")

    async def aclose(self) -> None:
        await self.directory.stop()
        await cancel_all(self._reaper)
        if self._preload is not None:
            await asyncio.gather(self._preload, return_exceptions=True)

    async def _reap(self) -> None:
        """Settle the open records of replicas that died mid-request (any replica may;
        each record is written once)."""
        interval = self.config.accounting.reap_interval_s
        while True:
            await asyncio.sleep(interval)
            try:
                reaped = await self.state.reap(time.time())
            except StateError as exc:
                log.warning("open records not reaped (state store unreachable): %s", exc)
                continue
            if reaped:
                log.warning("settled %d request(s) left open by a replica that stopped", reaped)

    def worst_rate(self, route: ModelRoute) -> Rate:
        """The highest rates among the targets that may answer ``route`` (cached)."""
        return self.prices.worst_case(route, lambda: self.candidates(route))

    def deadline_s(self, route: ModelRoute) -> float:
        """How long after admission a request of ``route`` may still be running: the
        longest total timeout of its targets (fallbacks included) plus the reap grace.
        An open record past it belongs to a replica that died."""
        found = self._deadline.get(route.name)
        if found is None:
            providers = self.config.providers
            found = (
                max(
                    (providers[t.provider].timeouts.total for t in self.candidates(route)),
                    default=0.0,
                )
                + self.config.accounting.reap_grace_s
            )
            if len(self._deadline) < 8192:
                self._deadline[route.name] = found
        return found

    def max_output(self, route: ModelRoute) -> int:
        """The most a request without an output cap may make any target of ``route``
        (fallbacks included) generate, per choice (cached)."""
        found = self._max_output.get(route.name)
        if found is None:
            found = max((t.max_output for t in self.candidates(route)), default=0)
            if len(self._max_output) < 8192:
                self._max_output[route.name] = found
        return found

    def unpriced(self, route: ModelRoute) -> list[str]:
        """Targets that may answer ``route`` with no known price (cached per route)."""
        found = self._unpriced.get(route.name)
        if found is None:
            found = self.prices.unpriced(self.candidates(route), route.name)
            if len(self._unpriced) < 8192:
                self._unpriced[route.name] = found
        return found

    def candidates(self, route: ModelRoute) -> list[RouteTarget]:
        """Every target that may answer for ``route``: its own, then its fallbacks'."""
        found: list[RouteTarget] = []
        seen: set[str] = set()
        pending = [route]
        for _ in range(_MAX_FALLBACK_DEPTH + 1):
            next_routes: list[ModelRoute] = []
            for current in pending:
                if current.name in seen:
                    continue
                seen.add(current.name)
                found.extend(current.targets)
                for name in current.fallbacks:
                    resolved = self.models.resolve(name)
                    if resolved is not None:
                        next_routes.append(resolved)
            pending = next_routes
        return found

    def _needs_counts(self) -> bool:
        return counts_every_prompt(self.config)

    def _upstream_models(self) -> list[str]:
        return sorted({t.model for m in self.config.models.values() for t in m.targets})


def counts_every_prompt(config: Config) -> bool:
    """Budgets or token limits in the config: every request's prompt will be counted
    (budgets reserve its cost, token limits its tokens)."""
    limits = [k.limits for k in config.keys]
    for team in config.teams.values():
        if team.budget_usd is not None:
            return True
        limits += [team.limits, *team.model_limits.values()]
    for model in config.models.values():
        limits += [model.limits, *(t.limits for t in model.targets)]
    return any(found is not None and found.tpm is not None for found in limits)


def _log_preload_failure(task: asyncio.Task[None]) -> None:
    """A tokenizer that cannot load is said at start-up; requests that need it fail
    with the same error (``encodings.get``)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("cannot load the tokenizer: %s", task.exception())


def open_accounting(
    config: Config, keys: KeyStore, models: ModelTable, state: StateBackend
) -> Accounting:
    encodings.configure(config.accounting.default_encoding)
    return Accounting(
        config=config,
        state=state,
        directory=KeyDirectory(keys, state, config),
        admin=AccountAdmin(config, state, keys),
        prices=Prices(config, load_table(config.accounting)),
        models=models,
    )

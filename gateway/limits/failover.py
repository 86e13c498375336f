"""What the limiter does while the shared store is unreachable, and how it comes back.

``on_store_error: open`` keeps serving with in-process limits, each divided by the
number of replicas, so the fleet as a whole stays near its limits; ``closed`` answers
503 instead. Either way the first failure is logged once with the mode in force, and no
request waits on a dead store: while it is down, one request per ``probe_interval_s``
tries it again (that request is the probe), and the first success switches every
replica back to the shared, exact limits, also logged.

Settlements that could not reach the store (a refund, a released concurrency slot) are
kept and replayed on recovery, so a short outage leaks no slots.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from gateway.errors import ServiceUnavailableError
from gateway.limits.engine import Engine, Verdict
from gateway.limits.memory import MemoryEngine
from gateway.limits.rules import Rule

if TYPE_CHECKING:  # redis (about 10 MB) loads only with a shared store
    from gateway.limits.redis_engine import RedisEngine

log = logging.getLogger("gateway.limits")

Mode = Literal["shared", "fail-open", "fail-closed"]
_MAX_PENDING = 10_000


class StoreGuard:
    def __init__(
        self,
        primary: RedisEngine,
        *,
        fail_open: bool,
        replicas: int,
        probe_interval_s: float,
        connections: int,
    ) -> None:
        from gateway.limits.redis_engine import STORE_ERRORS

        self.primary = primary
        self._errors = STORE_ERRORS
        # At most one store call per pooled connection; the rest queue here.
        self._gate = asyncio.Semaphore(connections)
        self._fallback = MemoryEngine(divisor=replicas) if fail_open else None
        self._replicas = replicas
        self._probe_interval = probe_interval_s
        self._down_since: float | None = None
        self._next_probe = 0.0
        self._pending: deque[tuple[Sequence[Rule], int, int, str]] = deque(maxlen=_MAX_PENDING)
        self._replay: asyncio.Task[None] | None = None
        # Counted for metrics: store calls that failed, and outages begun.
        self.store_errors = 0
        self.outages = 0

    @property
    def mode(self) -> Mode:
        if self._down_since is None:
            return "shared"
        return "fail-open" if self._fallback is not None else "fail-closed"

    async def admit(self, rules: Sequence[Rule], tokens: int, lease: str) -> tuple[Verdict, Engine]:
        probe = self._down_since is not None and self._probe_due()
        if self._down_since is None or probe:
            async with self._gate:
                # The store may have failed while this call waited for a connection:
                # then only the probe still tries it.
                if self._down_since is None or probe:
                    try:
                        verdict = await self.primary.admit(rules, tokens, lease)
                    except self._errors as exc:
                        self._failed(exc)
                    else:
                        if self._down_since is not None:
                            self._recovered()
                        return verdict, self.primary
        if self._fallback is None:
            raise ServiceUnavailableError(
                "Rate limiting is temporarily unavailable; please retry shortly.",
                code="rate_limiter_unavailable",
                headers={"retry-after": str(max(1, round(self._probe_interval)))},
            )
        return await self._fallback.admit(rules, tokens, lease), self._fallback

    async def settle(
        self, engine: Engine, rules: Sequence[Rule], bucket: int, delta: int, lease: str
    ) -> None:
        if engine is not self.primary:
            await engine.settle(rules, bucket, delta, lease)
            return
        if self._down_since is not None:
            self._pending.append((rules, bucket, delta, lease))
            return
        async with self._gate:
            try:
                await self.primary.settle(rules, bucket, delta, lease)
            except self._errors as exc:
                self._pending.append((rules, bucket, delta, lease))
                self._failed(exc)

    def _probe_due(self) -> bool:
        now = time.monotonic()
        if now < self._next_probe:
            return False
        # Only this request probes; the others keep to the fallback meanwhile.
        self._next_probe = now + self._probe_interval
        return True

    def _failed(self, exc: BaseException) -> None:
        self.store_errors += 1
        if self._down_since is not None:
            return
        self._down_since = time.monotonic()
        self._next_probe = self._down_since + self._probe_interval
        self.outages += 1
        if self._fallback is not None:
            log.warning(
                "rate-limit store unreachable (%s): failing open, every limit enforced "
                "per replica at 1/%d of its value until the store is back",
                type(exc).__name__,
                self._replicas,
            )
        else:
            log.warning(
                "rate-limit store unreachable (%s): failing closed, answering 503 "
                "until the store is back",
                type(exc).__name__,
            )

    def _recovered(self) -> None:
        assert self._down_since is not None
        log.warning(
            "rate-limit store reachable again after %.1f s: limits are shared and exact",
            time.monotonic() - self._down_since,
        )
        self._down_since = None
        if self._pending and (self._replay is None or self._replay.done()):
            self._replay = asyncio.create_task(self._replay_pending())

    async def _replay_pending(self) -> None:
        while self._pending and self._down_since is None:
            rules, bucket, delta, lease = self._pending.popleft()
            try:
                async with self._gate:
                    await self.primary.settle(rules, bucket, delta, lease)
            except self._errors as exc:
                self._pending.appendleft((rules, bucket, delta, lease))
                self._failed(exc)
                return

    async def aclose(self) -> None:
        if self._replay is not None:
            self._replay.cancel()
        await self.primary.aclose()

"""A circuit breaker per (model, target): stop calling what keeps failing, probe it later.

    closed ──(N failures in a row, or error rate ≥ r over ≥ m calls in the window)──▶ open
    open ──(open_s elapsed; the next request is let through as the probe)──▶ half-open
    half-open ──probe succeeds──▶ closed          half-open ──probe fails──▶ open

Only one probe is in flight at a time. What counts as a failure is decided by the
dispatcher (upstream 5xx, timeouts, resets, unreachable); a client error proves the
target works and counts as a success; a 429 counts as neither (it cools the target
down for its retry-after instead). The error rate uses a ring of ten time buckets, so
recording is O(1) and old calls age out without a timer.

Breakers are per model *and* target, so each model's policy governs its own breakers
and a model that misuses a target (a wrong upstream name) does not trip another's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import IntEnum

from gateway.errors import GatewayError
from gateway.routing.config import Breaker

log = logging.getLogger("gateway.routing")
_BUCKETS = 10
# (breaker name, "closed" | "half_open" | "open"): e.g. telemetry's circuit-state gauge.
BreakerListener = Callable[[str, str], None]


class BreakerState(IntEnum):
    """Values double as the metric value of ``gateway_circuit_state``."""

    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2


class CircuitBreaker:
    __slots__ = (
        "_calls",
        "_failures",
        "_policy",
        "_stamps",
        "consecutive",
        "last_error",
        "listener",
        "name",
        "open_until",
        "opened",
        "probing",
        "state",
    )

    def __init__(self, name: str, policy: Breaker) -> None:
        self.name = name
        self._policy = policy
        self.state = BreakerState.CLOSED
        self.consecutive = 0
        self.open_until = 0.0
        self.probing = False
        self.opened = 0  # times it opened, for metrics
        self.last_error: GatewayError | None = None
        self.listener: BreakerListener | None = None
        self._calls = [0] * _BUCKETS
        self._failures = [0] * _BUCKETS
        self._stamps = [-1] * _BUCKETS

    def available(self, now: float) -> bool:
        """Could a call go through now? (No state change; see ``acquire``.)"""
        if self.state is BreakerState.CLOSED:
            return True
        if self.probing:
            return False
        return self.state is BreakerState.HALF_OPEN or now >= self.open_until

    def acquire(self, now: float) -> bool:
        """Claim the right to call, right before calling: in half-open, the probe slot."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.probing or (self.state is BreakerState.OPEN and now < self.open_until):
            return False
        if self.state is BreakerState.OPEN:
            self.state = BreakerState.HALF_OPEN
            self._notify("half_open")
        self.probing = True
        return True

    def release(self) -> None:
        """The call ended without a verdict (the client left): free the probe slot."""
        self.probing = False

    def success(self, now: float) -> None:
        self.probing = False
        self.consecutive = 0
        if self.state is not BreakerState.CLOSED:
            log.info("circuit %s closed", self.name)
            self.state = BreakerState.CLOSED
            self._clear()
            self._notify("closed")
        self._record(now, failed=False)

    def failure(self, now: float, error: GatewayError) -> None:
        self.probing = False
        self.consecutive += 1
        self.last_error = error
        self._record(now, failed=True)
        policy = self._policy
        if not policy.enabled:
            return
        if (
            self.state is BreakerState.HALF_OPEN
            or self.consecutive >= policy.failures
            or (self._rate_exceeded(now))
        ):
            self._open(now)

    def retry_in(self, now: float) -> float:
        return max(0.0, self.open_until - now)

    def _open(self, now: float) -> None:
        if self.state is not BreakerState.OPEN:
            log.warning(
                "circuit %s opened for %.1fs after %d failure(s) in a row",
                self.name,
                self._policy.open_s,
                self.consecutive,
            )
            self.opened += 1
            self.state = BreakerState.OPEN
            self._notify("open")
        self.open_until = now + self._policy.open_s

    def _notify(self, state: str) -> None:
        if self.listener is not None:
            try:
                self.listener(self.name, state)
            except Exception:
                log.exception("circuit listener failed")

    def _record(self, now: float, *, failed: bool) -> None:
        tick = int(now / (self._policy.window_s / _BUCKETS))
        slot = tick % _BUCKETS
        if self._stamps[slot] != tick:
            self._stamps[slot] = tick
            self._calls[slot] = 0
            self._failures[slot] = 0
        self._calls[slot] += 1
        self._failures[slot] += failed

    def _rate_exceeded(self, now: float) -> bool:
        oldest = int(now / (self._policy.window_s / _BUCKETS)) - _BUCKETS + 1
        calls = failures = 0
        for slot in range(_BUCKETS):
            if self._stamps[slot] >= oldest:
                calls += self._calls[slot]
                failures += self._failures[slot]
        return calls >= self._policy.min_calls and failures >= self._policy.error_rate * calls

    def _clear(self) -> None:
        self._stamps = [-1] * _BUCKETS

"""What the gateway has observed of one (model, target) pair, in this process.

Strategies read it (in-flight count, latency averages, cool-down); the dispatcher
writes it after each attempt. Plain attributes on a slotted object: a routing decision
reads a few of them per target, so it must not pay for locks or dict lookups (the
event loop is single-threaded).
"""

from __future__ import annotations

from gateway.routing.breaker import CircuitBreaker
from gateway.routing.config import Breaker

_ALPHA = 0.3  # EWMA weight of the newest sample: reacts within a handful of calls


class TargetState:
    __slots__ = ("breaker", "cooldown_until", "in_flight", "label", "total_s", "ttfb_s")

    def __init__(self, label: str, breaker: Breaker) -> None:
        self.label = label
        self.breaker = CircuitBreaker(label, breaker)
        self.in_flight = 0
        # EWMA seconds to the first byte (streams) and to the whole answer; None until
        # the first sample, which strategies read as "worth trying".
        self.ttfb_s: float | None = None
        self.total_s: float | None = None
        # A 429's retry-after: until then the target goes after every other one.
        self.cooldown_until = 0.0

    def observe_ttfb(self, seconds: float) -> None:
        previous = self.ttfb_s
        self.ttfb_s = seconds if previous is None else previous + _ALPHA * (seconds - previous)

    def observe_total(self, seconds: float) -> None:
        previous = self.total_s
        self.total_s = seconds if previous is None else previous + _ALPHA * (seconds - previous)

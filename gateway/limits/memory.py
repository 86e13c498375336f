"""The in-process engine: the embedded default, and the per-replica fallback when the
shared store is unreachable (``on_store_error: open``).

Atomic without locks: ``admit`` and ``settle`` never await, so on one event loop no
other request can run between a check and its commit. It keeps the same one-second
buckets as the Redis script, on the monotonic clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from gateway.limits.engine import (
    BUCKET_MS,
    BUCKETS,
    RETRY_NEVER,
    RETRY_UNKNOWN,
    Verdict,
    scaled,
)
from gateway.limits.rules import Kind, Rule

_SWEEP_EVERY_S = 120.0


class _Window:
    """Per-bucket counts of one rule; ``oldest`` is the oldest bucket that may hold any."""

    __slots__ = ("buckets", "oldest", "total")

    def __init__(self, bucket: int) -> None:
        self.buckets: dict[int, int] = {}
        self.total = 0
        self.oldest = bucket

    def trim(self, first: int) -> int:
        if self.oldest < first:
            if first - self.oldest >= BUCKETS:
                self.buckets.clear()
                self.total = 0
            else:
                for stale in range(self.oldest, first):
                    self.total -= self.buckets.pop(stale, 0)
            self.oldest = first
        return self.total

    def retry_ms(self, need: int, first: int, now_ms: int) -> int:
        """Until enough of the window's oldest buckets have left it to free ``need``."""
        freed = 0
        for bucket in sorted(self.buckets):
            if bucket < first:
                continue
            freed += self.buckets[bucket]
            if freed >= need:
                return (bucket + BUCKETS) * BUCKET_MS - now_ms
        return RETRY_NEVER


class MemoryEngine:
    def __init__(self, *, divisor: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        self.divisor = divisor
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._slots: dict[str, int] = {}
        self._next_sweep_ms = (clock() + _SWEEP_EVERY_S) * 1000

    async def admit(self, rules: Sequence[Rule], tokens: int, lease: str) -> Verdict:
        now_ms = int(self._clock() * 1000)
        current = now_ms // BUCKET_MS
        first = current - BUCKETS + 1
        reset_ms = (current + BUCKETS) * BUCKET_MS - now_ms
        divisor = self.divisor
        windows = self._windows
        used: list[int] = []
        found: list[_Window | None] = []
        for index, rule in enumerate(rules):
            limit = rule.limit if divisor == 1 else scaled(rule.limit, divisor)
            if rule.kind is Kind.CONCURRENCY:
                count = self._slots.get(rule.key, 0)
                used.append(count)
                if count + 1 > limit:
                    return Verdict(False, current, used, reset_ms, index, RETRY_UNKNOWN)
                found.append(None)
                continue
            window = windows.get(rule.key)
            if window is None:
                window = windows[rule.key] = _Window(current)
            count = window.trim(first) if window.oldest < first else window.total
            used.append(count)
            amount = 1 if rule.kind is Kind.REQUESTS else tokens
            if count + amount > limit:
                retry = RETRY_NEVER
                if amount <= limit:
                    retry = window.retry_ms(count + amount - limit, first, now_ms)
                return Verdict(False, current, used, reset_ms, index, retry)
            found.append(window)
        for index, rule in enumerate(rules):
            window = found[index]
            if window is None:
                self._slots[rule.key] = used[index] = used[index] + 1
                continue
            amount = 1 if rule.kind is Kind.REQUESTS else tokens
            buckets = window.buckets
            buckets[current] = buckets.get(current, 0) + amount
            window.total += amount
            used[index] += amount
        if now_ms >= self._next_sweep_ms:
            self._sweep(first)
        return Verdict(True, current, used, reset_ms)

    async def settle(self, rules: Sequence[Rule], bucket: int, delta: int, lease: str) -> None:
        first = int(self._clock() * 1000) // BUCKET_MS - BUCKETS + 1
        for rule in rules:
            if rule.kind is Kind.CONCURRENCY:
                left = self._slots.get(rule.key, 0) - 1
                if left > 0:
                    self._slots[rule.key] = left
                else:
                    self._slots.pop(rule.key, None)
            elif rule.kind is Kind.TOKENS and delta and bucket >= first:
                window = self._windows.get(rule.key)
                if window is None or bucket not in window.buckets:
                    continue
                held = window.buckets[bucket]
                change = max(delta, -held)
                window.buckets[bucket] = held + change
                window.total += change

    def _sweep(self, first: int) -> None:
        """Forget the windows of keys that have been idle for a whole window."""
        self._next_sweep_ms = (self._clock() + _SWEEP_EVERY_S) * 1000
        idle = [key for key, window in self._windows.items() if window.trim(first) == 0]
        for key in idle:
            del self._windows[key]

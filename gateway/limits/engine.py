"""The seam between the limiter and where usage is counted.

Both engines implement the same two calls, each atomic over every rule of a plan:

- ``admit``: check all rules and, only if every one passes, count the request in all of
  them (one request, its reserved tokens, one concurrency slot). All or nothing, so a
  request refused by its team's limit never uses up its key's.
- ``settle``: correct the token reservation by the real usage, in the window bucket
  where it was reserved (so the refund or the overrun lands where the tokens were
  spent), and give back the concurrency slot.

Windows are one minute, counted in one-second buckets: a request counts against its
limits for 59 to 60 seconds after admission. That is exact where it matters (nothing
above the limit is ever admitted within a minute) at a fixed cost of at most 61 counters
per rule, however high the limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.limits.rules import Rule

WINDOW_MS = 60_000
BUCKET_MS = 1_000
BUCKETS = WINDOW_MS // BUCKET_MS

# ``Verdict.retry_ms`` when no wait is known (a concurrency slot frees when a request
# ends) and when no wait would help (the request alone exceeds the limit).
RETRY_UNKNOWN = -1
RETRY_NEVER = -2


@dataclass(slots=True)
class Verdict:
    admitted: bool
    # The window bucket the reservation was counted in (settlement goes there).
    bucket: int
    # Per rule of the plan: usage after this admission, or at the refusal.
    used: Sequence[int]
    # Until every request now in the window has left it.
    reset_ms: int
    refused: int = -1
    retry_ms: int = RETRY_UNKNOWN


class Engine(Protocol):
    # Each limit is enforced at ``limit // divisor``: 1 when shared, the number of
    # processes when each enforces its own share.
    divisor: int

    async def admit(self, rules: Sequence[Rule], tokens: int, lease: str) -> Verdict: ...

    async def settle(self, rules: Sequence[Rule], bucket: int, delta: int, lease: str) -> None:
        """Add ``delta`` tokens to the token rules at ``bucket`` (if still in the window)
        and release ``lease`` from the concurrency rules."""
        ...


def scaled(limit: int, divisor: int) -> int:
    """One replica's share of a limit: never more than its share, never zero."""
    return limit if divisor == 1 else max(1, limit // divisor)

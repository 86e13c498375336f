"""What a failed attempt means for the rest of the request, and how long to wait.

    error                                   other target   same target again   breaker
    upstream 4xx passed through (400, 404)  no             no                  success
    gateway client error (unsupported ...)  no             no                  success
    429 rate limited                        yes            yes (retry-after)   cool-down
    429 insufficient_quota                  yes            no                  cool-down
    upstream rejected our credentials       yes            no                  failure
    unreachable, reset, 5xx, 503, timeout   yes            yes                 failure

Nothing here runs once the first byte of a response reached the client:
``providers.exchange`` returns a stream only after its first chunk, so every failure
the dispatcher sees is still "before".
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.errors import (
    GatewayError,
    RateLimitError,
    UpstreamError,
    UpstreamStatusError,
)
from gateway.routing.config import Retry

_NOT_AGAIN = frozenset({"upstream_auth_error", "insufficient_quota"})


@dataclass(frozen=True, slots=True)
class Verdict:
    elsewhere: bool  # another target may do better
    again: bool  # this target may do better later in this request
    breaker_failure: bool  # counts against the target's circuit breaker


_CLIENT_FAULT = Verdict(elsewhere=False, again=False, breaker_failure=False)


def classify(error: GatewayError) -> Verdict:
    if isinstance(error, UpstreamStatusError):
        return _CLIENT_FAULT
    if isinstance(error, RateLimitError):
        return Verdict(elsewhere=True, again=error.code not in _NOT_AGAIN, breaker_failure=False)
    if isinstance(error, UpstreamError):
        return Verdict(elsewhere=True, again=error.code not in _NOT_AGAIN, breaker_failure=True)
    return _CLIENT_FAULT


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """``retry-after-ms`` (OpenAI, Azure), else ``retry-after`` in seconds or as an
    HTTP date (RFC 9110 §10.2.3)."""
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff_s(round_: int, policy: Retry, rng: random.Random) -> float:
    """Exponential with "equal jitter": half the step is fixed, half random, so
    retries never bunch up and never come back instantly."""
    step: float = min(policy.max_backoff_s, policy.backoff_s * 2.0 ** (round_ - 1))
    return step / 2 + rng.random() * step / 2


class CircuitOpenError(UpstreamError):
    """Every target of a model has an open breaker: answered at once, with the status
    and code of the failure that opened it (what the client would have waited for)."""

    def __init__(self, model: str, last: GatewayError | None, retry_in_s: int) -> None:
        reason = f" Last error: {last.message}" if last is not None else ""
        super().__init__(
            f"`{model}` is failing; the gateway pauses calls to it for {retry_in_s}s.{reason}",
            code=last.code if last is not None else "circuit_open",
            headers={"retry-after": str(retry_in_s)},
        )
        self._status = last.status_code if last is not None else 503
        self._type = last.type if last is not None else "service_unavailable"

    @property
    def status_code(self) -> int:
        return self._status

    def body(self) -> dict[str, Any]:
        body = super().body()
        body["error"]["type"] = self._type
        return body

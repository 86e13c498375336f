"""OpenAI's rate-limit headers and 429 answers, from an engine's verdict.

Headers report the tightest rule of each kind (the one with the least left), as
OpenAI reports one limit per kind. A 429 names the rule that refused, carries
``retry-after`` (whole seconds, rounded up) and ``retry-after-ms``, which the OpenAI
SDKs honour before their own backoff, and ``x-should-retry: false`` when no wait can
help (the request alone is larger than the limit).
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.errors import RateLimitError
from gateway.limits.engine import RETRY_NEVER, Verdict, scaled
from gateway.limits.rules import Kind, Plan, Rule

# A concurrency slot frees when some request ends; no engine knows when.
CONCURRENCY_RETRY_MS = 1_000


class TokenRateLimitError(RateLimitError):
    """OpenAI types a token-limit refusal ``tokens`` and a request-limit one ``requests``."""

    type = "tokens"


def go_duration(ms: int) -> str:
    """OpenAI's reset format: ``120ms``, ``1.5s``, ``6m0s``."""
    ms = max(0, ms)
    if ms < 1_000:
        return f"{ms}ms"
    minutes, rest = divmod(ms, 60_000)
    seconds = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    if minutes == 0:
        return f"{seconds}s"
    hours, minutes = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + f"{minutes}m{seconds}s"


_NAMES = (
    ("x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"),
    ("x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"),
)


def rate_headers(plan: Plan, verdict: Verdict, divisor: int) -> dict[str, str]:
    """``divisor`` > 1 while limits are enforced per replica: the share is what counts."""
    headers: dict[str, str] = {}
    reset = ""
    for indices, (limit_name, remaining_name, reset_name) in zip(
        (plan.request_rules, plan.token_rules), _NAMES, strict=True
    ):
        if not indices:
            continue
        best: tuple[int, int] | None = None
        for i in indices:
            limit = scaled(plan.rules[i].limit, divisor)
            left = (limit - _used(verdict.used, i), limit)
            if best is None or left < best:
                best = left
        assert best is not None
        reset = reset or go_duration(verdict.reset_ms)
        headers[limit_name] = str(best[1])
        headers[remaining_name] = str(max(0, best[0]))
        headers[reset_name] = reset
    return headers


def _used(used: Sequence[int], index: int) -> int:
    # A refusal reports usage only up to the rule that refused; later rules were unread.
    return used[index] if index < len(used) else 0


def refusal(
    plan: Plan, verdict: Verdict, tokens: int, headers: dict[str, str], divisor: int
) -> RateLimitError:
    rule = plan.rules[verdict.refused]
    limit = scaled(rule.limit, divisor)
    used = verdict.used[verdict.refused]
    answer = dict(headers)
    if rule.kind is Kind.CONCURRENCY:
        wait_ms = CONCURRENCY_RETRY_MS
        message = (
            f"Too many concurrent requests for {rule.scope}: Limit {limit}. "
            "Please retry when one of your requests has finished."
        )
    elif verdict.retry_ms == RETRY_NEVER:
        answer["x-should-retry"] = "false"
        return TokenRateLimitError(
            f"Request too large for {rule.scope} on tokens per min (TPM): Limit {limit}, "
            f"Requested {tokens}. The input or output tokens must be reduced in order to "
            "run successfully.",
            headers=answer,
        )
    else:
        wait_ms = max(1, verdict.retry_ms)
        message = _window_message(rule, limit, used, tokens, wait_ms)
    answer["retry-after"] = str(-(-wait_ms // 1000))
    answer["retry-after-ms"] = str(wait_ms)
    error_type = TokenRateLimitError if rule.kind is Kind.TOKENS else RateLimitError
    return error_type(message, headers=answer)


def _window_message(rule: Rule, limit: int, used: int, tokens: int, wait_ms: int) -> str:
    what, short, requested = (
        ("tokens", "TPM", tokens) if rule.kind is Kind.TOKENS else ("requests", "RPM", 1)
    )
    usage = f"Used {used}, " if rule.own else ""
    return (
        f"Rate limit reached for {rule.scope} on {what} per min ({short}): Limit {limit}, "
        f"{usage}Requested {requested}. Please try again in {go_duration(wait_ms)}."
    )

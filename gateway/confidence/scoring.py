"""An answer's confidence from its token log-probabilities (no I/O, no state).

``mean`` is the mean token probability (exp of each logprob), ``min`` the least likely
token's. An answer whose provider sent no log-probabilities has no confidence: the
verdict is ``unknown``, never a made-up number.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from gateway.confidence.config import GatePolicy

Verdict = Literal["ok", "low", "unknown"]


@dataclass(frozen=True, slots=True)
class Confidence:
    verdict: Verdict
    mean: float | None = None
    min: float | None = None
    tokens: int = 0

    def describe(self, action: str) -> dict[str, Any]:
        out: dict[str, Any] = {"verdict": self.verdict}
        if self.mean is not None:
            out |= {"mean": round(self.mean, 4), "min": round(self.min or 0.0, 4)}
        if action:
            out["action"] = action
        return out

    def header(self, action: str) -> str:
        parts: list[str] = [self.verdict]
        if self.mean is not None and self.min is not None:
            parts += [f"mean={self.mean:.4f}", f"min={self.min:.4f}"]
        if action:
            parts.append(f"action={action}")
        return "; ".join(parts)


def judge(logprobs: Iterable[float], policy: GatePolicy) -> Confidence:
    total, count, least = 0.0, 0, 1.0
    for value in logprobs:
        p = math.exp(value) if value > -745 else 0.0
        total += p
        count += 1
        least = min(least, p)
    if count == 0:
        return Confidence("unknown")
    mean = total / count
    low = mean < policy.min_mean or (policy.min_token > 0 and least < policy.min_token)
    return Confidence("low" if low else "ok", mean, least, count)


def choice_logprobs(choice: Any) -> list[float] | None:
    """The content tokens' logprobs of a chat choice (or stream delta's choice); None
    when the provider sent none."""
    if not isinstance(choice, dict):
        return None
    block = choice.get("logprobs")
    if not isinstance(block, dict):
        return None
    content = block.get("content")
    if not isinstance(content, list):
        return None
    return [
        float(t["logprob"])
        for t in content
        if isinstance(t, dict) and isinstance(t.get("logprob"), int | float)
    ]

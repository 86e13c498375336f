"""Parameter caps: a policy's ceiling on temperature, output tokens and choices.

``clamp`` lowers a value over the cap; ``refuse`` answers 400 naming the parameter.
A clamp is reported like any other guard action (``input:params.<name>:clamp``).
When the client sent no token limit at all, ``max_tokens`` is set to the cap (the
provider's default may be far above it) without reporting anything: nothing the
client asked for was changed.
"""

from __future__ import annotations

from typing import Any

from gateway.errors import InvalidRequestError
from gateway.guard.config import ParamCaps
from gateway.wire.types import Endpoint


def apply_caps(caps: ParamCaps, endpoint: Endpoint, body: dict[str, Any]) -> list[str]:
    """Enforce ``caps`` on ``body`` in place; returns the names of clamped parameters."""
    if endpoint is Endpoint.EMBEDDINGS:
        return []
    clamped: list[str] = []
    if caps.max_temperature is not None:
        _cap(body, "temperature", caps.max_temperature, caps.action, clamped)
    if caps.max_n is not None:
        _cap(body, "n", caps.max_n, caps.action, clamped)
    if caps.max_tokens is not None:
        limits = [k for k in ("max_completion_tokens", "max_tokens") if body.get(k) is not None]
        for key in limits:
            _cap(body, key, caps.max_tokens, caps.action, clamped)
        if not limits:
            # No limit sent: the provider's default could be far above the cap.
            # ``max_tokens`` is the field every OpenAI-wire server reads.
            body["max_tokens"] = caps.max_tokens
    return clamped


def _cap(body: dict[str, Any], key: str, cap: float, action: str, clamped: list[str]) -> None:
    value = body.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= cap:
        return
    if action == "refuse":
        raise InvalidRequestError(
            f"'{key}' is {value}, above this team's limit of {cap}.",
            param=key,
            code="parameter_limit_exceeded",
        )
    body[key] = type(value)(cap) if isinstance(value, int) and float(cap).is_integer() else cap
    clamped.append(key)

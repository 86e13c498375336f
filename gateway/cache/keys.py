"""What a request is cached under: the team's effective policy, the exact key, and the
semantic namespace plus query text.

Exact key: SHA-256 of the canonical JSON (sorted keys) of team, endpoint, model and the
whole body except fields that never change the answer (``stream``, ``stream_options``,
``user``, ``metadata``, ``store``). Every other parameter (temperature, seed, tools,
response_format, n, max_tokens...) is in the key, so a hit can only ever replay the
answer to the same request, streamed or not.

Semantic namespace: the same, minus the last user turn, plus the embedder's name. Two
requests share a namespace only when team, model, every generation parameter and the
whole preceding conversation (system prompt included) are identical; within it, the
last user turns are compared by similarity and the guard.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from gateway.cache.config import CacheConfig, TeamCache
from gateway.wire.types import Endpoint

if TYPE_CHECKING:
    from gateway.config.schema import Team

_IGNORED = frozenset({"stream", "stream_options", "user", "metadata", "store"})
_encode_sorted = msgspec.json.Encoder(order="sorted").encode
DEFAULT_TEMPERATURE = 1.0  # OpenAI's, when a request leaves it out


@dataclass(frozen=True, slots=True)
class Policy:
    """One team's effective cache policy, resolved once per team settings."""

    ttl_s: float
    max_temperature: float
    semantic: bool
    threshold: float
    semantic_max_temperature: float
    guard: bool
    max_chars: int


def resolve_policy(config: CacheConfig, override: TeamCache | None) -> Policy | None:
    """A team's effective policy: its overrides over the gateway's defaults (None: the
    cache is off for it)."""
    o = override or TeamCache()
    if not (o.enabled if o.enabled is not None else config.enabled):
        return None
    semantic = config.semantic
    use_semantic = semantic is not None and semantic.enabled
    if o.semantic is not None:
        use_semantic = o.semantic and semantic is not None
    return Policy(
        ttl_s=o.ttl_s or config.ttl_s,
        max_temperature=_first(o.max_temperature, config.max_temperature),
        semantic=use_semantic,
        threshold=o.threshold or (semantic.effective_threshold if semantic else 1.0),
        semantic_max_temperature=_first(
            o.semantic_max_temperature, semantic.max_temperature if semantic else 0.0
        ),
        guard=semantic.guard if semantic else True,
        max_chars=semantic.max_chars if semantic else 0,
    )


def _first(value: float | None, default: float) -> float:
    return default if value is None else value


@dataclass(frozen=True, slots=True)
class Plan:
    """How one request is looked up and stored."""

    team: str
    exact_key: str
    namespace: str | None  # None: no semantic lookup for this request
    query: str
    policy: Policy


def plan(
    team: str,
    endpoint: Endpoint,
    model: str,
    body: dict[str, Any],
    policy: Policy,
    embedder_name: str,
) -> Plan | None:
    """None when the request is not cacheable (too random, or an unsupported shape)."""
    temperature = body.get("temperature")
    temperature = DEFAULT_TEMPERATURE if temperature is None else float(temperature)
    if endpoint is not Endpoint.EMBEDDINGS and temperature > policy.max_temperature:
        return None
    params = {k: v for k, v in body.items() if k not in _IGNORED}
    exact = _digest(["exact", team, endpoint.value, model, params])
    namespace: str | None = None
    query = ""
    if (
        policy.semantic
        and endpoint is not Endpoint.EMBEDDINGS
        and temperature <= policy.semantic_max_temperature
        and body.get("n") in (None, 1)
    ):
        split = _split_query(endpoint, params)
        if split is not None and 0 < len(split[1]) <= policy.max_chars:
            context, query = split
            namespace = _digest(["semantic", team, endpoint.value, model, embedder_name, context])
    return Plan(team, exact, namespace, query, policy)


def _split_query(endpoint: Endpoint, params: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    """(everything but the last user turn, the last user turn's text), or None."""
    if endpoint is Endpoint.COMPLETIONS:
        prompt = params.get("prompt")
        if not isinstance(prompt, str):
            return None
        return {k: v for k, v in params.items() if k != "prompt"}, prompt.strip()
    messages = params.get("messages")
    if not isinstance(messages, list) or not messages:
        return None
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "user":
        return None
    text = _text(last.get("content"))
    if text is None:
        return None
    context = dict(params)
    context["messages"] = [*messages[:-1], {k: v for k, v in last.items() if k != "content"}]
    return context, text.strip()


def _text(content: object) -> str | None:
    """Plain text of a user turn; None when it carries anything but text (images...)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text":
                return None
            parts.append(str(part.get("text", "")))
        return "\n".join(parts)
    return None


def _digest(value: object) -> str:
    return hashlib.sha256(_encode_sorted(value)).hexdigest()


def uses_semantic(config: CacheConfig, teams: Mapping[str, Team]) -> bool:
    """Whether any team of the config (or the default) has semantic lookups on: only
    then is an embedder loaded."""
    listed = [resolve_policy(config, team.cache) for team in teams.values()]
    return any(p is not None and p.semantic for p in [resolve_policy(config, None), *listed])

"""The one object every pipeline stage reads and fills in for a single request."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.auth.keys import Principal
    from gateway.errors import GatewayError
    from gateway.routing.models import ModelRoute, RouteTarget


class Endpoint(StrEnum):
    """An OpenAI endpoint, valued by its path under ``/v1``."""

    CHAT = "chat/completions"
    COMPLETIONS = "completions"
    EMBEDDINGS = "embeddings"


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    # True when counted by the gateway rather than reported by the upstream.
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(slots=True, eq=False)
class RequestContext:
    endpoint: Endpoint
    request_id: str
    raw_body: bytes = b""
    # Filled by the parse stage: the decoded JSON object (forwarded upstream with its
    # unknown fields) and the parameters the gateway itself acts on.
    body: dict[str, Any] = field(default_factory=dict)
    model: str = ""
    stream: bool = False
    # The client asked for the stream's usage chunk; the gateway asks upstream regardless.
    include_usage: bool = False
    client_headers: Mapping[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    principal: Principal | None = None
    route: ModelRoute | None = None
    target: RouteTarget | None = None
    attempts: int = 0
    usage: Usage | None = None
    finish_reasons: list[str] = field(default_factory=list)
    upstream_seconds: float = 0.0
    first_byte_at: float | None = None
    status: int = 200
    error: GatewayError | None = None
    response_headers: dict[str, str] = field(default_factory=dict)

    def overhead_ms(self) -> float:
        """Time spent in the gateway itself, up to now, not counting upstream waits."""
        return max(0.0, (time.perf_counter() - self.started - self.upstream_seconds) * 1000)

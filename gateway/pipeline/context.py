"""The one object every pipeline stage reads and fills in for a single request."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gateway.wire.types import Endpoint, Usage

if TYPE_CHECKING:
    from gateway.accounting.state import AccountingState
    from gateway.auth.keys import Principal
    from gateway.cache.stage import CacheState
    from gateway.errors import GatewayError
    from gateway.gate.stage import GateState
    from gateway.guard.state import GuardState
    from gateway.limits.limiter import Admission
    from gateway.pipeline.reply import Reply
    from gateway.routing.models import ModelRoute, RouteTarget
    from gateway.state.records import PipelineNote
    from gateway.telemetry.state import RequestTelemetry


class AttemptObserver:
    """Told of each upstream attempt by the dispatcher (telemetry's client spans and
    attempt metrics). The default does nothing; the telemetry stage installs its own."""

    __slots__ = ()

    def started(self, ctx: RequestContext, target: RouteTarget) -> None:
        return None

    def failed(self, ctx: RequestContext, error: GatewayError) -> None:
        return None

    def answered(self, ctx: RequestContext, reply: Reply) -> None:
        """The attempt answered: a whole body, or a stream whose first chunk is in."""
        return None


NO_OBSERVER = AttemptObserver()


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
    # Rate limits: what admission reserved, settled when the request finishes.
    admission: Admission | None = None
    # Accounting: prompt tokens counted by the gateway (once, shared by budgets and rate
    # limits; see accounting.tokens.prompt_tokens), the request's cost once settled, and
    # the accounting stages' own per-request state (budget hold, delivered-text tally).
    counted_prompt_tokens: int | None = None
    cost_usd: float | None = None
    accounting: AccountingState | None = None
    # Decisions reported to telemetry through gateway.telemetry.events (cache result,
    # "direction:rule:action" guard actions, "reason:scope" of a limit refusal) and the
    # answer's AI-content label id (GB 45438 ProduceID), for metrics, spans and logs.
    cache: str | None = None
    guard_actions: list[str] = field(default_factory=list)
    refusal: str | None = None
    label_id: str | None = None
    # Telemetry: per-request span state, the W3C trace headers each upstream attempt
    # carries (traceparent/tracestate), and the observer the dispatcher reports to.
    telemetry: RequestTelemetry | None = None
    trace_headers: dict[str, str] = field(default_factory=dict)
    observer: AttemptObserver = NO_OBSERVER
    # Guardrails: the team's policy and this request's placeholders (gateway.guard).
    guard: GuardState | None = None
    # Response cache: this request's lookup plan and what it stores (gateway.cache); the
    # result itself is ``cache`` above, and ``x-gateway-cache`` in response_headers.
    cache_state: CacheState | None = None
    # The LLM-application pipeline's decisions (intent router, experiment variant,
    # confidence gate), written to the ledger by Settle; made on first use by ``note``.
    pipeline: PipelineNote | None = None
    # Confidence gate: the team's policy and whether the client asked for logprobs.
    gate: GateState | None = None

    def note(self) -> PipelineNote:
        if self.pipeline is None:
            from gateway.state.records import PipelineNote

            self.pipeline = PipelineNote()
        return self.pipeline

    def overhead_ms(self) -> float:
        """Time spent in the gateway itself, up to now, not counting upstream waits."""
        return max(0.0, (time.perf_counter() - self.started - self.upstream_seconds) * 1000)

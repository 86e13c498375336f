"""The per-request telemetry state, kept in the ``TELEMETRY`` slot of the context.

One small object per request (slots, no dicts unless tracing records), so the stages
keep nothing per request on ``self`` and the hot path allocates once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gateway.pipeline.context import Slot

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from gateway.routing.models import RouteTarget


class RequestTelemetry:
    __slots__ = (
        "attempt",
        "attempt_started",
        "attempt_target",
        "capture",
        "finish_reasons",
        "output",
        "request_attributes",
        "response_id",
        "response_model",
        "server",
    )

    def __init__(self) -> None:
        self.server: Span | None = None
        # The upstream attempt in progress (a stream's stays open until it ends).
        self.attempt: Span | None = None
        self.attempt_started: float | None = None
        self.attempt_target: RouteTarget | None = None
        self.request_attributes: dict[str, Any] | None = None
        self.capture = False
        # What the answer said about itself (recorded only when its span records).
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.finish_reasons: dict[int, str] | None = None
        self.output: dict[int, list[str]] | None = None

    def note_chunk(self, chunk: dict[str, Any]) -> None:
        if self.response_id is None:
            self.response_id = chunk.get("id")
            self.response_model = chunk.get("model")
        for choice in chunk.get("choices") or ():
            index = choice.get("index", 0)
            reason = choice.get("finish_reason")
            if reason is not None:
                if self.finish_reasons is None:
                    self.finish_reasons = {}
                self.finish_reasons[index] = reason
            if self.capture:
                delta = choice.get("delta")
                text = delta.get("content") if isinstance(delta, dict) else choice.get("text")
                if text:
                    if self.output is None:
                        self.output = {}
                    self.output.setdefault(index, []).append(text)


TELEMETRY: Slot[RequestTelemetry] = Slot("telemetry")

"""The gateway's own spans: recorded in plain Python, handed to the SDK's processors
as finished ``ReadableSpan`` objects.

Why not ``Tracer.start_span``: the OpenTelemetry SDK (1.45) spends ~50 µs of CPU on
the development machine to start and end one span without attributes (sampler, locks,
``BoundedAttributes`` re-validating every value, self-metrics hooks), and each request
has two; with every span recorded, tracing cost 34% of a non-streaming request's CPU
in the full pipeline (``bench_ab.py`` with tracing off: 2.34 -> 1.55 CPU-ms). Our
spans are few and their attributes are ours (strings, numbers, booleans and lists of
strings), so they are kept in a dict and validated by nobody.

What stays exactly as the SDK does it, so exporters, tests and the client's trace see
no difference: ``ParentBased(TraceIdRatioBased(sample_ratio))`` sampling (a remote or
local parent's decision is followed; a root is sampled when the low 64 bits of its
random trace id are under ``ratio * 2**64``), random 128/64-bit ids, W3C trace flags
(sampled, and random-trace-id as the SDK sets it), the provider's resource and the
tracer's instrumentation scope, and span processors receiving each finished span in
``on_end`` (processors added to the provider later, e.g. by tests, are seen too).
Not supported, being unused here: ``on_start`` callbacks (the batch and simple
processors ignore it), links, span limits.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import (
    INVALID_SPAN_ID,
    INVALID_TRACE_ID,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.util.types import AttributeValue

_LOW_64_BITS = (1 << 64) - 1
_UNSET = Status(StatusCode.UNSET)
_SAMPLED = TraceFlags.SAMPLED
_RANDOM = 0x02  # W3C trace-context level 2 "random trace id", set by the SDK too


class SpanRecorder:
    """Starts the gateway's spans for one tracer provider."""

    def __init__(self, provider: TracerProvider, scope: Any, sample_ratio: float) -> None:
        self._resource = provider.resource
        self._scope = scope
        # The provider's multi-processor: ``add_span_processor`` adds to this object.
        self._processor: SpanProcessor = provider._active_span_processor
        self._bound = round(sample_ratio * (1 << 64))  # as TraceIdRatioBased

    def start(
        self,
        name: str,
        kind: SpanKind,
        parent: SpanContext | None,
        attributes: dict[str, Any],
        start_time: int | None = None,
    ) -> Span:
        if parent is not None and parent.is_valid:
            trace_id = parent.trace_id
            sampled = parent.trace_flags.sampled
            flags = int(parent.trace_flags) & (_SAMPLED | _RANDOM)
            trace_state = parent.trace_state
        else:
            parent = None
            trace_id = _new_id(128, INVALID_TRACE_ID)
            sampled = (trace_id & _LOW_64_BITS) < self._bound
            flags = _RANDOM | (_SAMPLED if sampled else 0)
            trace_state = None
        context = SpanContext(
            trace_id,
            _new_id(64, INVALID_SPAN_ID),
            is_remote=False,
            trace_flags=TraceFlags(flags),
            trace_state=trace_state,
        )
        if not sampled:
            return NonRecordingSpan(context)
        return RecordedSpan(self, name, kind, context, parent, attributes, start_time)

    def finished(self, span: ReadableSpan) -> None:
        self._processor.on_end(span)


class RecordedSpan(Span):
    """A recording span: attributes in a dict, handed over as a ``ReadableSpan`` at end."""

    def __init__(
        self,
        recorder: SpanRecorder,
        name: str,
        kind: SpanKind,
        context: SpanContext,
        parent: SpanContext | None,
        attributes: dict[str, Any],
        start_time: int | None,
    ) -> None:
        self._recorder = recorder
        self._name = name
        self._kind = kind
        self._context = context
        self._parent = parent
        self._attributes = dict(attributes)
        self._events: list[Event] = []
        self._status = _UNSET
        self._start_time = start_time if start_time is not None else time.time_ns()
        self._ended = False

    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return not self._ended

    def set_attributes(self, attributes: Mapping[str, AttributeValue]) -> None:
        if not self._ended:
            self._attributes.update(attributes)

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        if not self._ended:
            self._attributes[key] = value

    def add_event(
        self,
        name: str,
        attributes: Mapping[str, AttributeValue] | None = None,
        timestamp: int | None = None,
    ) -> None:
        if not self._ended:
            event_attributes = _exportable(attributes) if attributes else None
            self._events.append(Event(name, event_attributes, timestamp or time.time_ns()))

    def add_link(self, context: SpanContext, attributes: Any = None) -> None:
        return None  # the gateway links nothing

    def update_name(self, name: str) -> None:
        self._name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        # As the SDK: OK is final, UNSET never overrides.
        if self._ended or self._status.status_code is StatusCode.OK:
            return
        if not isinstance(status, Status):
            status = Status(status, description)
        if status.status_code is not StatusCode.UNSET:
            self._status = status

    def record_exception(
        self,
        exception: BaseException,
        attributes: Any = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        self.add_event(
            "exception",
            {"exception.type": type(exception).__name__, "exception.message": str(exception)},
            timestamp,
        )

    def end(self, end_time: int | None = None) -> None:
        if self._ended:
            return
        self._ended = True
        recorder = self._recorder
        recorder.finished(
            ReadableSpan(
                name=self._name,
                context=self._context,
                parent=self._parent,
                resource=recorder._resource,
                attributes=_exportable(self._attributes),
                events=tuple(self._events),
                kind=self._kind,
                status=self._status,
                start_time=self._start_time,
                end_time=end_time if end_time is not None else time.time_ns(),
                instrumentation_scope=recorder._scope,
            )
        )


def _exportable(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Lists as tuples (the SDK's form for sequence values); nothing else to clean."""
    out = dict(attributes)
    for key, value in out.items():
        if isinstance(value, list):
            out[key] = tuple(value)
    return out


def _new_id(bits: int, invalid: int) -> int:
    value = random.getrandbits(bits)
    while value == invalid:
        value = random.getrandbits(bits)
    return value

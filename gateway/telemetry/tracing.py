"""OpenTelemetry tracing: the provider, its exporter, and the spans of one request.

Span tree of a request (names and attributes per GenAI semconv v1.41.0, see ``semconv``):

    SERVER  POST /v1/chat/completions          one per request, continues the client's
     │                                         W3C trace context (traceparent/tracestate)
     ├─ CLIENT  chat gpt-4o-mini               one per upstream attempt; its context is
     └─ CLIENT  chat gpt-4o-mini               sent upstream as ``traceparent``
    events on the server span: gateway.cache.lookup, gateway.guard.action,
    gateway.limit.refused (see ``telemetry.events``)

Cost control: spans are recorded by ``spans.SpanRecorder`` (plain dicts, not the SDK's
span machinery) and exported by a ``BatchSpanProcessor`` (a background thread, never
the event loop); ``sample_ratio`` drops whole traces at the root; an unsampled request
gets non-recording spans, which cost little. The SDK is imported only when tracing is
enabled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gateway import __version__
from gateway.telemetry import semconv as sc
from gateway.telemetry.config import Telemetry, Tracing

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, SpanContext, Tracer

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
_MAX_TRACESTATE = 512


def client_trace_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The client's W3C trace context, passed upstream as-is when the gateway does not
    trace itself (so the client's trace still reaches the model server). Anything
    malformed is dropped, never forwarded."""
    parent = headers.get("traceparent")
    if not parent or not _TRACEPARENT.match(parent):
        return {}
    forwarded = {"traceparent": parent}
    state = headers.get("tracestate")
    if state and len(state) <= _MAX_TRACESTATE and state.isascii() and state.isprintable():
        forwarded["tracestate"] = state
    return forwarded


def trace_id_of(headers: Mapping[str, str]) -> str | None:
    parent = headers.get("traceparent")
    if parent and _TRACEPARENT.match(parent):
        return parent[3:35]
    return None


class TracingProvider:
    """The tracer provider for this process (never installed as the global one)."""

    def __init__(self, config: Telemetry, exporter: SpanExporter | None = None) -> None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        from gateway.telemetry.spans import SpanRecorder

        settings = config.tracing
        resource = Resource.create(
            {"service.name": config.service_name, "service.version": __version__}
        )
        self.provider: TracerProvider = TracerProvider(
            resource=resource, sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio))
        )
        exporter = exporter or _exporter(settings)
        if exporter is not None:
            self.provider.add_span_processor(
                BatchSpanProcessor(
                    exporter,
                    max_queue_size=settings.max_queue_size,
                    max_export_batch_size=min(
                        settings.max_export_batch_size, settings.max_queue_size
                    ),
                    schedule_delay_millis=settings.schedule_delay_ms,
                    export_timeout_millis=int(settings.timeout_s * 1000),
                )
            )
        self.tracer: Tracer = self.provider.get_tracer(
            "gateway", __version__, schema_url=sc.SCHEMA_URL
        )
        self.propagator = TraceContextTextMapPropagator()
        self.capture_content = settings.capture_content
        # The request's spans are started here, not by ``tracer`` (see ``spans``).
        self.spans = SpanRecorder(
            self.provider,
            self.tracer._instrumentation_scope,  # type: ignore[attr-defined]
            settings.sample_ratio,
        )

    def parent_context(self, headers: Mapping[str, str]) -> Any:
        if "traceparent" not in headers:
            return None
        return self.propagator.extract(headers)

    def parent_span(self, headers: Mapping[str, str]) -> SpanContext | None:
        """The client's span context from ``traceparent``/``tracestate``, if valid."""
        if "traceparent" not in headers:
            return None
        from opentelemetry.trace import get_current_span

        context = get_current_span(self.propagator.extract(headers)).get_span_context()
        return context if context.is_valid else None

    def shutdown(self) -> None:
        """Flush what is queued (bounded by the exporter timeout) and stop the thread."""
        self.provider.shutdown()


def upstream_headers(span: Span) -> dict[str, str]:
    """``traceparent`` (and ``tracestate``) naming the attempt's span as the parent."""
    context = span.get_span_context()
    headers = {
        "traceparent": f"00-{context.trace_id:032x}-{context.span_id:016x}-"
        f"{int(context.trace_flags):02x}"
    }
    if context.trace_state:
        headers["tracestate"] = context.trace_state.to_header()
    return headers


def _exporter(settings: Tracing) -> SpanExporter | None:
    headers = dict(settings.headers) or None
    if settings.exporter == "otlp-http":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter as HTTPExporter,
        )

        return HTTPExporter(
            endpoint=settings.endpoint or None, headers=headers, timeout=settings.timeout_s
        )
    if settings.exporter == "otlp-grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GRPCExporter,
        )

        return GRPCExporter(
            endpoint=settings.endpoint or None,
            headers=headers,
            timeout=settings.timeout_s,
            insecure=settings.insecure,
        )
    return None

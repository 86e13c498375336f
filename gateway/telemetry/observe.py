"""The telemetry stage: spans, metrics and the access log line of every request.

First in the stage list, so its ``enter`` sees every request, its ``leave`` wraps the
stream outermost, and its ``finish`` runs last (finishes unwind in reverse): the spans,
metrics and log line are written once every other stage has finished (final status,
usage, cost), pipeline metrics (intent, confidence, experiments) just before them.
Upstream attempts are observed through the ``OBSERVER`` slot (``routing.observer``), which the
dispatcher calls as each attempt starts, fails or answers.

Nothing here raises into the request: telemetry failing must never fail an answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gateway.auth.keys import PRINCIPAL
from gateway.auth.per_team import PerTeam
from gateway.config.schema import Config, Team
from gateway.errors import GatewayError
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import ChunkStream, Completion, Reply, StreamItem
from gateway.pipeline.stages import Stage
from gateway.providers.registry import telemetry_name
from gateway.routing.models import TARGET
from gateway.routing.observer import OBSERVER, AttemptObserver
from gateway.telemetry import semconv as sc
from gateway.telemetry.access_log import AccessLogger
from gateway.telemetry.attributes import (
    OPERATIONS,
    body_output_texts,
    input_messages,
    output_messages,
    request_attributes,
    response_attributes,
)
from gateway.telemetry.events import decisions
from gateway.telemetry.metrics import GatewayMetrics
from gateway.telemetry.pipeline_metrics import PipelineMetrics
from gateway.telemetry.recording import record_request
from gateway.telemetry.state import TELEMETRY, RequestTelemetry
from gateway.telemetry.tracing import TracingProvider, client_trace_headers, upstream_headers

if TYPE_CHECKING:
    from gateway.routing.models import RouteTarget

log = logging.getLogger("gateway.telemetry")
_perf = time.perf_counter


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    """What a client span says about an upstream, worked out once from the config."""

    system: str  # gen_ai.provider.name
    address: str
    port: int

    @classmethod
    def from_url(cls, kind: str, base_url: str) -> ProviderInfo:
        parts = urlsplit(base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(telemetry_name(kind), parts.hostname or "", port)


class Observe(Stage):
    def __init__(
        self,
        config: Config,
        *,
        tracing: TracingProvider | None,
        metrics: GatewayMetrics | None,
        pipeline_metrics: PipelineMetrics | None = None,
    ) -> None:
        self._tracing = tracing
        self._metrics = metrics
        self._pipeline_metrics = pipeline_metrics
        self._access_log = AccessLogger() if config.telemetry.access_log.enabled else None
        self._providers = {
            name: ProviderInfo.from_url(spec.kind, spec.base_url)
            for name, spec in config.providers.items()
        }
        default_capture = config.telemetry.tracing.capture_content

        def capture(team: Team) -> bool:
            own = team.telemetry.capture_content if team.telemetry is not None else None
            return default_capture if own is None else own

        self._capture = PerTeam(capture, default_capture, config.teams)
        self._observer = _Attempts(self)
        if tracing is not None:
            from opentelemetry.trace import SpanKind, Status, StatusCode

            self._server_kind = SpanKind.SERVER
            self._client_kind = SpanKind.CLIENT
            self._error_status = Status(StatusCode.ERROR)

    # --- the stage hooks ---------------------------------------------------------------------

    async def enter(self, ctx: RequestContext) -> Reply | None:
        state = TELEMETRY.set(ctx, RequestTelemetry())
        OBSERVER.set(ctx, self._observer)
        if self._metrics is not None:
            self._metrics.serving += 1
        tracing = self._tracing
        if tracing is None:
            if "traceparent" in ctx.client_headers:
                ctx.trace_headers.update(client_trace_headers(ctx.client_headers))
            return None
        route = "/v1/" + (ctx.surface or ctx.endpoint.value)
        started_ns = time.time_ns() - int((_perf() - ctx.started) * 1e9)
        state.server = tracing.spans.start(
            "POST " + route,
            self._server_kind,
            tracing.parent_span(ctx.client_headers),
            {
                sc.HTTP_REQUEST_METHOD: "POST",
                sc.HTTP_ROUTE: route,
                sc.URL_PATH: route,
                sc.OPERATION_NAME: OPERATIONS[ctx.endpoint],
                "gateway.request_id": ctx.request_id,
            },
            start_time=started_ns,
        )
        if not state.server.is_recording():
            # Unsampled: no attempt spans; upstream calls continue this (unsampled) trace.
            ctx.trace_headers.update(upstream_headers(state.server))
        return None

    async def leave(self, ctx: RequestContext, reply: Reply) -> Reply:
        # Only a recorded span needs to see the chunks (response id, finish reasons);
        # the time to first token is taken when the attempt answers, without a wrapper.
        state = TELEMETRY.get(ctx)
        if (
            isinstance(reply, ChunkStream)
            and state is not None
            and state.attempt is not None
            and state.attempt.is_recording()
        ):
            return ChunkStream(self._watch(state, reply.chunks))
        return reply

    async def _watch(
        self, state: RequestTelemetry, chunks: AsyncIterator[StreamItem]
    ) -> AsyncIterator[StreamItem]:
        try:
            async for item in chunks:
                if isinstance(item, dict):
                    state.note_chunk(item)
                yield item
        finally:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()

    async def finish(self, ctx: RequestContext) -> None:
        self.conclude(ctx)

    def conclude(self, ctx: RequestContext) -> None:
        """Record the metrics, end the spans, write the log line."""
        try:
            if self._pipeline_metrics is not None:
                self._pipeline_metrics.record(ctx, _perf() - ctx.started)
            self._conclude(ctx)
        except Exception:  # telemetry must never fail a request
            log.exception("telemetry failed for request %s", ctx.request_id)

    def _conclude(self, ctx: RequestContext) -> None:
        now = _perf()
        state = TELEMETRY.get(ctx)
        if state is None:
            return
        if self._metrics is not None:
            self._metrics.serving -= 1
        error_type = _error_type(ctx)
        if state.attempt_started is not None:
            self._close_stream_attempt(ctx, state, now, error_type)
        latency = now - ctx.started
        ttft = None
        if ctx.stream and ctx.first_byte_at is not None and ctx.status == 200:
            ttft = ctx.first_byte_at - ctx.started
        if self._metrics is not None:
            record_request(self._metrics, ctx, latency, ttft, error_type)
        trace_id = None
        if state.server is not None:
            trace_id = self._end_server(ctx, state, error_type)
        elif "traceparent" in ctx.trace_headers:
            trace_id = ctx.trace_headers["traceparent"][3:35]
        if self._access_log is not None:
            self._access_log.write(ctx, latency, ttft, trace_id)

    # --- upstream attempts -------------------------------------------------------------------

    def attempt_started(self, ctx: RequestContext, target: RouteTarget) -> None:
        state = TELEMETRY.get(ctx)
        if state is None:
            return
        state.attempt_started = _perf()
        state.attempt_target = target
        server = state.server
        if server is None or not server.is_recording():
            return
        assert self._tracing is not None
        info = self._providers.get(target.provider) or ProviderInfo("_OTHER", "", 0)
        if state.request_attributes is None:
            state.request_attributes = request_attributes(ctx.endpoint, ctx.body)
            state.capture = self._capture(PRINCIPAL.get(ctx))
        operation = OPERATIONS[ctx.endpoint]
        attributes: dict[str, Any] = {
            sc.OPERATION_NAME: operation,
            sc.PROVIDER_NAME: info.system,
            sc.REQUEST_MODEL: target.model,
            sc.SERVER_ADDRESS: info.address,
            sc.SERVER_PORT: info.port,
            "gateway.target": target.label,
            "gateway.attempt": ctx.attempts,
            **state.request_attributes,
        }
        if ctx.stream:
            attributes[sc.REQUEST_STREAM] = True
        span = self._tracing.spans.start(
            f"{operation} {target.model}", self._client_kind, server.get_span_context(), attributes
        )
        if state.capture:
            span.set_attribute(sc.INPUT_MESSAGES, input_messages(ctx.endpoint, ctx.body))
        state.attempt = span
        ctx.trace_headers.clear()
        ctx.trace_headers.update(upstream_headers(span))

    def attempt_failed(self, ctx: RequestContext, error: GatewayError) -> None:
        state = TELEMETRY.get(ctx)
        if state is None or state.attempt_started is None:
            return
        error_type = error.code or type(error).__name__
        self._attempt_metrics(ctx, state, _perf() - state.attempt_started, error_type)
        span = state.attempt
        if span is not None:
            span.set_attribute(sc.ERROR_TYPE, error_type)
            span.set_status(self._error_status)
            span.end()
        _reset_attempt(state)

    def attempt_answered(self, ctx: RequestContext, reply: Reply) -> None:
        state = TELEMETRY.get(ctx)
        if state is None or state.attempt_started is None:
            return
        elapsed = _perf() - state.attempt_started
        span = state.attempt
        if not isinstance(reply, Completion):
            # A stream: its first chunk is in (the exchange reads it before answering),
            # so this is the first token's time; the attempt ends with the stream.
            if ctx.first_byte_at is None:
                ctx.first_byte_at = _perf()
            if self._metrics is not None and state.attempt_target is not None:
                self._metrics.c_client_ttfc(*self._client_key(ctx, state)).observe(elapsed)
            if span is not None:
                span.set_attribute(sc.RESPONSE_TIME_TO_FIRST_CHUNK, elapsed)
            return
        self._attempt_metrics(ctx, state, elapsed, "")
        if span is not None:
            attributes = response_attributes(ctx.endpoint, reply.body)
            _add_usage(attributes, ctx)
            if state.capture and ctx.endpoint.value != "embeddings":
                texts = body_output_texts(reply.body)
                attributes[sc.OUTPUT_MESSAGES] = output_messages(texts, None)
            span.set_attributes(attributes)
            span.end()
        _reset_attempt(state)

    def _close_stream_attempt(
        self, ctx: RequestContext, state: RequestTelemetry, now: float, error_type: str
    ) -> None:
        assert state.attempt_started is not None
        failed = ctx.status >= 400
        self._attempt_metrics(ctx, state, now - state.attempt_started, error_type if failed else "")
        span = state.attempt
        if span is not None:
            attributes: dict[str, Any] = {}
            if state.response_id is not None:
                attributes[sc.RESPONSE_ID] = state.response_id
            if state.response_model is not None:
                attributes[sc.RESPONSE_MODEL] = state.response_model
            if state.finish_reasons:
                reasons = state.finish_reasons
                attributes[sc.RESPONSE_FINISH_REASONS] = [reasons[i] for i in sorted(reasons)]
            if state.capture and state.output:
                texts = {index: "".join(parts) for index, parts in state.output.items()}
                attributes[sc.OUTPUT_MESSAGES] = output_messages(texts, state.finish_reasons)
            _add_usage(attributes, ctx)
            if failed:
                attributes[sc.ERROR_TYPE] = error_type
                span.set_status(self._error_status)
            span.set_attributes(attributes)
            span.end()
        _reset_attempt(state)

    def _client_key(self, ctx: RequestContext, state: RequestTelemetry) -> tuple[str, ...]:
        target = state.attempt_target
        assert target is not None and self._metrics is not None
        info = self._providers.get(target.provider) or ProviderInfo("_OTHER", "", 0)
        model = self._metrics.target_values(target.model)
        return (OPERATIONS[ctx.endpoint], info.system, model, info.address, str(info.port))

    def _attempt_metrics(
        self, ctx: RequestContext, state: RequestTelemetry, seconds: float, error_type: str
    ) -> None:
        metrics = self._metrics
        if metrics is None or state.attempt_target is None:
            return
        key = self._client_key(ctx, state)
        metrics.c_client_duration(*key, error_type).observe(seconds)
        usage = ctx.usage
        if not error_type and usage is not None:
            metrics.c_client_tokens(*key, "input").observe(usage.prompt_tokens)
            if ctx.endpoint.value != "embeddings":
                metrics.c_client_tokens(*key, "output").observe(usage.completion_tokens)

    # --- the request as a whole --------------------------------------------------------------

    def _end_server(self, ctx: RequestContext, state: RequestTelemetry, error_type: str) -> str:
        span = state.server
        assert span is not None
        if span.is_recording():
            attributes: dict[str, Any] = {
                sc.HTTP_RESPONSE_STATUS_CODE: ctx.status,
                "gateway.attempts": ctx.attempts,
            }
            if ctx.model:
                attributes[sc.REQUEST_MODEL] = ctx.model
            principal = PRINCIPAL.get(ctx)
            if principal is not None:
                attributes["gateway.team"] = principal.team
                attributes["gateway.key_id"] = principal.key_id
            target = TARGET.get(ctx)
            if target is not None:
                attributes["gateway.target"] = target.label
            decided = decisions(ctx)
            if decided.cache is not None:
                attributes["gateway.cache.result"] = decided.cache
            if decided.label_id is not None:
                attributes["gateway.label.produce_id"] = decided.label_id
            if error_type:
                attributes[sc.ERROR_TYPE] = error_type
            span.set_attributes(attributes)
            if ctx.status >= 500:
                span.set_status(self._error_status)
        span.end()
        return f"{span.get_span_context().trace_id:032x}"


class _Attempts(AttemptObserver):
    """The dispatcher's view of the stage: three calls per upstream attempt."""

    __slots__ = ("_stage",)

    def __init__(self, stage: Observe) -> None:
        self._stage = stage

    def started(self, ctx: RequestContext, target: RouteTarget) -> None:
        try:
            self._stage.attempt_started(ctx, target)
        except Exception:
            log.exception("telemetry failed at an attempt start")

    def failed(self, ctx: RequestContext, error: GatewayError) -> None:
        try:
            self._stage.attempt_failed(ctx, error)
        except Exception:
            log.exception("telemetry failed at an attempt failure")

    def answered(self, ctx: RequestContext, reply: Reply) -> None:
        try:
            self._stage.attempt_answered(ctx, reply)
        except Exception:
            log.exception("telemetry failed at an attempt answer")


def _reset_attempt(state: RequestTelemetry) -> None:
    state.attempt = None
    state.attempt_started = None


def _add_usage(attributes: dict[str, Any], ctx: RequestContext) -> None:
    usage = ctx.usage
    if usage is None:
        return
    attributes[sc.USAGE_INPUT_TOKENS] = usage.prompt_tokens
    if ctx.endpoint.value != "embeddings":
        attributes[sc.USAGE_OUTPUT_TOKENS] = usage.completion_tokens
    if usage.cached_tokens:
        attributes[sc.USAGE_CACHE_READ_INPUT_TOKENS] = usage.cached_tokens


def _error_type(ctx: RequestContext) -> str:
    if ctx.error is not None:
        return ctx.error.code or type(ctx.error).__name__
    if ctx.status == 499:
        return "client_closed"
    if ctx.status >= 500:
        return "internal_error"
    return ""

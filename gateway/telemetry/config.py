"""Telemetry config: tracing (off by default), metrics and access logs (on).

Prompt and answer text never reach spans unless ``capture_content`` is set, globally or
for one team whose policy allows it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct, field


class Tracing(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = False
    # ``none`` traces without exporting (for measuring, or a processor added in code).
    exporter: Literal["otlp-http", "otlp-grpc", "none"] = "otlp-http"
    # Empty: the OTLP default for the exporter (http://localhost:4318/v1/traces for
    # otlp-http, http://localhost:4317 for otlp-grpc).
    endpoint: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    # Share of new traces recorded; a request whose client sampled its trace is always
    # recorded, and one whose client did not sample is never.
    sample_ratio: Annotated[float, Meta(ge=0, le=1)] = 1.0
    capture_content: bool = False
    timeout_s: Annotated[float, Meta(gt=0)] = 10.0
    # Batch span processor: export happens off the request path, in a background thread.
    max_queue_size: Annotated[int, Meta(ge=1)] = 2048
    max_export_batch_size: Annotated[int, Meta(ge=1)] = 512
    schedule_delay_ms: Annotated[int, Meta(ge=1)] = 2000
    # grpc only: plain-text connection (a collector on localhost or in the same pod).
    insecure: bool = True


class Metrics(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = True
    # Who may read GET /metrics: its series name every team, model and cost. The master
    # key always may; ``token`` is a scrape token for Prometheus (``Bearer <token>``, no
    # admin rights); ``public: true`` lets anyone on the port read it. A team's key never.
    token: str = ""
    public: bool = False
    # Distinct values kept per label (model, target) before further ones are folded into
    # ``_other``: clients choose model names under prefix routes, series must stay bounded.
    max_label_values: Annotated[int, Meta(ge=1)] = 500


class AccessLog(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = True


class Telemetry(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    service_name: str = "llm-gateway"
    tracing: Tracing = field(default_factory=Tracing)
    metrics: Metrics = field(default_factory=Metrics)
    access_log: AccessLog = field(default_factory=AccessLog)


class TeamTelemetry(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    # Record this team's prompts and answers on spans (gen_ai.input/output.messages).
    capture_content: bool | None = None

"""Everything telemetry builds at start-up (the ``/metrics`` route is in ``api.metrics``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gateway.config.schema import Config
from gateway.telemetry.metrics import GatewayMetrics
from gateway.telemetry.observe import Observe
from gateway.telemetry.pipeline_metrics import PipelineMetrics
from gateway.telemetry.tracing import TracingProvider


@dataclass(slots=True)
class Telemetry:
    tracing: TracingProvider | None
    metrics: GatewayMetrics | None
    # The LLM-application pipeline's series (None when metrics are off).
    pipeline_metrics: PipelineMetrics | None
    # ``stage`` goes first in the pipeline (None when all is off).
    stage: Observe | None

    def shutdown(self) -> None:
        if self.tracing is not None:
            self.tracing.shutdown()


def build_telemetry(
    config: Config, health: Callable[[], Mapping[str, bool]] | None = None
) -> Telemetry:
    settings = config.telemetry
    tracing = TracingProvider(settings) if settings.tracing.enabled else None
    metrics = GatewayMetrics(settings.metrics, health) if settings.metrics.enabled else None
    pipeline_metrics = PipelineMetrics(metrics.registry) if metrics is not None else None
    if tracing is None and metrics is None and not settings.access_log.enabled:
        return Telemetry(tracing, metrics, pipeline_metrics, None)
    stage = Observe(config, tracing=tracing, metrics=metrics, pipeline_metrics=pipeline_metrics)
    return Telemetry(tracing, metrics, pipeline_metrics, stage)

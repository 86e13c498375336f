"""``GET /metrics``: the Prometheus exposition of the gateway's registry."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from gateway.api.services import services
from gateway.telemetry.metrics import CONTENT_TYPE


@get("/metrics")
async def metrics_route(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus text format. Unauthenticated, like /health: series carry team and model
    names but never keys, prompts or request ids; keep the port off the public internet."""
    metrics = services(request).telemetry.metrics
    if metrics is None:
        return Response(b"metrics are disabled\n", status_code=404, media_type="text/plain")
    return Response(metrics.exposition(), media_type=CONTENT_TYPE)


ROUTES = [metrics_route]

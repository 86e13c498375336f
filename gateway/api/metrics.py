"""``GET /metrics``: the Prometheus exposition of the gateway's registry.

Its series name every team, model and what each spent, so it is not for a team's key
nor for anonymous callers: the master key or the scrape token
(``telemetry.metrics.token``) reads it, or anyone when ``telemetry.metrics.public``.
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request, Response, get

from gateway.api.errors import error_response
from gateway.api.responses import request_id
from gateway.api.services import services
from gateway.errors import AuthenticationError, PermissionDeniedError
from gateway.telemetry.metrics import CONTENT_TYPE


@get("/metrics")
async def metrics_route(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus text format; never keys, prompts or request ids."""
    gateway = services(request)
    metrics = gateway.telemetry.metrics
    if metrics is None:
        return Response(b"metrics are disabled\n", status_code=404, media_type="text/plain")
    settings = gateway.config.telemetry.metrics
    if not settings.public:
        given = _bearer(request.headers.get("authorization", ""))
        allowed = [t for t in (settings.token, gateway.config.admin.master_key) if t]
        if not any(hmac.compare_digest(given.encode(), t.encode()) for t in allowed):
            error = (
                PermissionDeniedError(
                    "GET /metrics needs the master key or the metrics scrape token.",
                    code="insufficient_permissions",
                )
                if given
                else AuthenticationError(
                    "GET /metrics needs the master key or the metrics scrape token "
                    "(Authorization: Bearer ...).",
                    code="missing_api_key",
                )
            )
            return error_response(error, request_id(request.headers))
    return Response(metrics.exposition(), media_type=CONTENT_TYPE)


def _bearer(header: str) -> str:
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


ROUTES = [metrics_route]

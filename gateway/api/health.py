"""Liveness and readiness for orchestrators. Unauthenticated; they reveal no secrets."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get

from gateway.api.services import services

AnyRequest = Request[Any, Any, Any]


@get("/health/live")
async def live() -> Response[bytes]:
    return Response(b'{"status":"ok"}', media_type="application/json")


@get("/health/ready")
async def ready(request: AnyRequest) -> Response[bytes]:
    """Ready when the config is loaded and every model that counts has a reachable target."""
    unready = services(request).unready_models()
    body = {"status": "not_ready" if unready else "ready", "unready_models": unready}
    return Response(
        msgspec.json.encode(body),
        media_type="application/json",
        status_code=503 if unready else 200,
    )


ROUTES = [live, ready]

"""Liveness and readiness for orchestrators. Unauthenticated; they reveal no secrets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Request, Response, get

AnyRequest = Request[Any, Any, Any]

if TYPE_CHECKING:
    from gateway.app import Gateway


@get("/health/live")
async def live() -> Response[bytes]:
    return Response(b'{"status":"ok"}', media_type="application/json")


@get("/health/ready")
async def ready(request: AnyRequest) -> Response[bytes]:
    """Ready when the config is loaded and every model that counts has a reachable target."""
    gateway: Gateway = request.app.state.gateway
    unready = gateway.unready_models()
    body = {"status": "not_ready" if unready else "ready", "unready_models": unready}
    return Response(
        msgspec.json.encode(body),
        media_type="application/json",
        status_code=503 if unready else 200,
    )


ROUTES = [live, ready]

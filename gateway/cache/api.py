"""``DELETE /admin/cache?team=NAME``: drop every cached answer of one team (master key).

Exact and semantic entries go together; with Redis, every replica's index drops the
team too (through the shared log). Answers 200 ``{"team", "purged"}`` (``purged``
counts stored bodies removed), 401/403 without the master key, 400 without ``team``,
404 when the cache is off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Request, Response, delete

from gateway.api.responses import error_response, request_id
from gateway.errors import (
    AuthenticationError,
    GatewayError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)

if TYPE_CHECKING:
    from gateway.app import Gateway

AnyRequest = Request[Any, Any, Any]


@delete("/admin/cache", status_code=200)
async def purge_cache(request: AnyRequest) -> Response[bytes]:
    gateway: Gateway = request.app.state.gateway
    rid = request_id(request.headers)
    if not gateway.keys.is_master(request.headers):
        error = (
            PermissionDeniedError(
                "This endpoint needs the gateway's master key.", code="insufficient_permissions"
            )
            if request.headers.get("authorization") or request.headers.get("api-key")
            else AuthenticationError("This endpoint needs the gateway's master key.")
        )
        return error_response(error, rid)
    team = request.query_params.get("team", "").strip()
    if not team:
        return error_response(
            InvalidRequestError("Name the team to purge: ?team=NAME.", param="team"), rid
        )
    cache = gateway.cache
    if cache is None:
        return error_response(
            NotFoundError("The response cache is not enabled.", code="cache_disabled"), rid
        )
    try:
        purged = await cache.purge(team)
    except Exception:
        return error_response(
            GatewayError("The cache store is unavailable.", code="cache_unavailable"), rid
        )
    return Response(
        msgspec.json.encode({"team": team, "purged": purged}),
        media_type="application/json",
        headers={"x-request-id": rid},
    )


ROUTES = [purge_cache]

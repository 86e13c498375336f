"""``DELETE /admin/cache?team=NAME``: drop every cached answer of one team (master key).

Exact and semantic entries go together; with Redis, every replica's index drops the
team too (through the shared log). Answers 200 ``{"team", "purged"}`` (``purged``
counts stored bodies removed), 401/403 without the master key, 400 without ``team``,
404 when the cache is off.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, delete

from gateway.api.errors import error_response
from gateway.api.master import require_master
from gateway.api.responses import request_id
from gateway.api.services import services
from gateway.errors import GatewayError, InvalidRequestError, NotFoundError
from gateway.state.base import StateError

AnyRequest = Request[Any, Any, Any]


@delete("/admin/cache", status_code=200)
async def purge_cache(request: AnyRequest) -> Response[bytes]:
    gateway = services(request)
    rid = request_id(request.headers)
    try:
        # As every /admin route: a missing or unknown key is 401, a team's key 403.
        await require_master(request)
    except StateError:
        error = GatewayError("The gateway's state store is unavailable.", code="state_unavailable")
        return error_response(error, rid)
    except GatewayError as exc:
        return error_response(exc, rid)
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

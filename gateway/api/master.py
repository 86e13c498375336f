"""What every /admin route shares: who is calling, the master-key check, reading a
JSON body within the server's limits, and rendering results and errors.

Public so that each admin surface (``api.admin``, ``api.feedback``, ``api.cache``)
checks keys and renders errors the same way; a state-store outage is a 500 with
``code: state_unavailable`` everywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Request, Response

from gateway.accounting.service import Accounting
from gateway.api.errors import error_response
from gateway.api.responses import request_id
from gateway.api.services import services
from gateway.auth.keys import Principal
from gateway.errors import GatewayError, PermissionDeniedError, RequestTimeoutError
from gateway.state.base import StateError
from gateway.wire.requests import decode_object

AnyRequest = Request[Any, Any, Any]
Handler = Callable[[], Awaitable[Response[bytes]]]
_encode = msgspec.json.Encoder().encode


def json_ok(document: object, status: int = 200) -> Response[bytes]:
    return Response(_encode(document), media_type="application/json", status_code=status)


async def caller(request: AnyRequest) -> Principal:
    return await services(request).accounting.directory.authenticate(request.headers)


async def require_master(request: AnyRequest) -> Accounting:
    principal = await caller(request)
    if not principal.is_master:
        raise PermissionDeniedError(
            "This endpoint needs the gateway's master key.", code="insufficient_permissions"
        )
    return services(request).accounting


async def answer(request: AnyRequest, handler: Handler) -> Response[bytes]:
    try:
        return await handler()
    except StateError:
        error = GatewayError("The gateway's state store is unavailable.", code="state_unavailable")
        return error_response(error, request_id(request.headers))
    except GatewayError as exc:
        return error_response(exc, request_id(request.headers))


async def read_body(request: AnyRequest) -> dict[str, Any]:
    server = services(request).config.server
    try:
        async with asyncio.timeout(server.body_timeout_s):
            raw = await request.body()
    except TimeoutError:
        raise RequestTimeoutError("The request body did not arrive in time.") from None
    return decode_object(raw, server.max_json_depth) if raw else {}

"""The one error renderer: every error a client sees, in OpenAI's shape.

``GatewayError`` carries its status, type, code and headers; this module only turns it
into bytes and headers, for Litestar responses, the plain-ASGI /v1 handlers
(``api.asgi.send_error``) and framework errors (unknown route, wrong method, body too
large, a bug), so there is exactly one place that decides what an error looks like.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.types import ExceptionHandlersMap

from gateway.api.responses import request_id
from gateway.errors import GatewayError, InvalidRequestError, NotFoundError, RequestTooLargeError

log = logging.getLogger("gateway")
JSON = "application/json"


def error_headers(error: GatewayError, request_id: str | None) -> dict[str, str]:
    headers = dict(error.headers)
    if request_id:
        headers["x-request-id"] = request_id
    return headers


def error_response(error: GatewayError, request_id: str | None = None) -> Response[bytes]:
    return Response(
        error.to_json(),
        media_type=JSON,
        status_code=error.status_code,
        headers=error_headers(error, request_id),
    )


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    """Framework-level errors (unknown route, wrong method, oversized body) in OpenAI's shape."""
    rid = request_id(request.headers)
    error: GatewayError
    if exc.status_code == 404:
        error = NotFoundError(
            f"Invalid URL ({request.method} {request.url.path})", code="unknown_url"
        )
    elif exc.status_code == 405:
        error = InvalidRequestError(
            f"Method {request.method} is not allowed on {request.url.path}.",
            code="method_not_allowed",
        )
        response = error_response(error, rid)
        response.status_code = 405
        return response
    elif exc.status_code == 413:
        error = RequestTooLargeError("The request body is too large.")
    else:
        error = InvalidRequestError(str(exc.detail) or "Bad request.")
    return error_response(error, rid)


def unexpected(method: str, path: str, exc: Exception) -> GatewayError:
    """A bug's error for the client (a 500 that says nothing of it), logged with its
    traceback: one wording for Litestar's routes and the direct ones."""
    log.exception("unhandled error on %s %s", method, path, exc_info=exc)
    return GatewayError("The server had an error while processing your request.")


def _unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    error = unexpected(request.method, request.url.path, exc)
    return error_response(error, request_id(request.headers))


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    HTTPException: _http_error,
    Exception: _unexpected_error,
}

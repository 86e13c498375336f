"""Turning pipeline results and errors into HTTP responses, in OpenAI's format."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Mapping

import msgspec
from litestar import Response

from gateway.errors import GatewayError
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import StreamItem
from gateway.routing.models import TARGET
from gateway.wire.sse import DONE, encode_comment, encode_data

JSON = "application/json"
encode = msgspec.json.Encoder().encode
# A client's request id is echoed only if it is short and plainly printable: it goes
# into our headers and logs, so anything else is replaced rather than trusted.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")


def request_id(headers: Mapping[str, str]) -> str:
    given = headers.get("x-request-id")
    if given and _SAFE_REQUEST_ID.match(given):
        return given
    return "req_" + os.urandom(12).hex()


def reply_headers(ctx: RequestContext) -> dict[str, str]:
    headers = {"x-request-id": ctx.request_id, **ctx.response_headers}
    target = TARGET.get(ctx)
    if target is not None:
        headers["x-gateway-target"] = target.label
        headers["x-gateway-attempts"] = str(ctx.attempts)
    headers["x-gateway-overhead-ms"] = f"{ctx.overhead_ms():.3f}"
    return headers


def json_response(body: object, ctx: RequestContext) -> Response[bytes]:
    return Response(encode(body), media_type=JSON, status_code=200, headers=reply_headers(ctx))


def stream_headers(ctx: RequestContext) -> dict[str, str]:
    headers = reply_headers(ctx)
    headers["cache-control"] = "no-cache"
    headers["x-accel-buffering"] = "no"
    return headers


async def sse_body(items: AsyncIterator[StreamItem]) -> AsyncIterator[bytes]:
    """Pipeline items as SSE events, ``data: [DONE]`` last; an error after the headers
    went out becomes an ``error`` event (OpenAI's SDKs raise APIError on it)."""
    try:
        async for item in items:
            yield encode_data(item) if isinstance(item, dict) else encode_comment(item.text)
    except GatewayError as exc:
        yield encode_data(exc.body())
        return
    yield DONE

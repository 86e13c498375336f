"""The OpenAI surface under /v1. Handlers stay thin: build the context, run the
pipeline, render. Everything else is a pipeline stage."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from litestar import Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.response import Stream

from gateway.api.responses import error_response, json_response, request_id, stream_response
from gateway.errors import (
    GatewayError,
    InvalidRequestError,
    NotFoundError,
    RequestTimeoutError,
    RequestTooLargeError,
)
from gateway.pipeline.context import Endpoint, RequestContext
from gateway.pipeline.reply import Completion

AnyRequest = Request[Any, Any, Any]

if TYPE_CHECKING:
    from gateway.app import Gateway


def _gateway(request: AnyRequest) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


async def _serve(request: AnyRequest, endpoint: Endpoint) -> Response[bytes] | Stream:
    gateway = _gateway(request)
    ctx = RequestContext(endpoint, request_id(request.headers), client_headers=request.headers)
    try:
        # Bounded: a client trickling its body would otherwise hold this task forever.
        async with asyncio.timeout(gateway.config.server.body_timeout_s):
            ctx.raw_body = await request.body()
    except TimeoutError:
        return error_response(
            RequestTimeoutError("The request body did not arrive in time."), ctx.request_id
        )
    except HTTPException as exc:
        limit = gateway.config.server.max_body_bytes
        error: GatewayError = (
            RequestTooLargeError(f"The request body exceeds the limit of {limit} bytes.")
            if exc.status_code == 413
            else InvalidRequestError("The request body could not be read.")
        )
        return error_response(error, ctx.request_id)
    try:
        reply = await gateway.pipeline.run(ctx)
    except GatewayError as exc:
        return error_response(exc, ctx.request_id)
    if isinstance(reply, Completion):
        return json_response(reply.body, ctx)
    return stream_response(ctx, reply.chunks)


@post("/v1/chat/completions", status_code=200)
async def chat_completions(request: AnyRequest) -> Response[bytes] | Stream:
    return await _serve(request, Endpoint.CHAT)


@post("/v1/completions", status_code=200)
async def completions(request: AnyRequest) -> Response[bytes] | Stream:
    return await _serve(request, Endpoint.COMPLETIONS)


@post("/v1/embeddings", status_code=200)
async def embeddings(request: AnyRequest) -> Response[bytes] | Stream:
    return await _serve(request, Endpoint.EMBEDDINGS)


@get("/v1/models")
async def list_models(request: AnyRequest) -> Response[bytes]:
    gateway = _gateway(request)
    rid = request_id(request.headers)
    try:
        principal = gateway.keys.authenticate(request.headers)
    except GatewayError as exc:
        return error_response(exc, rid)
    data = [gateway.model_card(name) for name in gateway.models.names() if principal.may_use(name)]
    ctx = RequestContext(Endpoint.CHAT, rid)
    return json_response({"object": "list", "data": data}, ctx)


@get("/v1/models/{model_id:path}")
async def retrieve_model(request: AnyRequest, model_id: FromPath[str]) -> Response[bytes]:
    gateway = _gateway(request)
    rid = request_id(request.headers)
    name = model_id.lstrip("/")
    try:
        principal = gateway.keys.authenticate(request.headers)
        if gateway.models.resolve(name) is None or not principal.may_use(name):
            raise NotFoundError(
                f"The model '{name}' does not exist or you do not have access to it.",
                param="model",
            )
    except GatewayError as exc:
        return error_response(exc, rid)
    return json_response(gateway.model_card(name), RequestContext(Endpoint.CHAT, rid))


ROUTES = [chat_completions, completions, embeddings, list_models, retrieve_model]

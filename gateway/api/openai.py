"""The OpenAI surface under /v1. Handlers stay thin: build the context, run the
pipeline, render. Everything else is a pipeline stage."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, asgi, get
from litestar.params import FromPath

from gateway.api.asgi import (
    Receive,
    Scope,
    Send,
    post_only,
    read_body,
    request_headers,
    send_error,
    send_json,
    send_stream,
)
from gateway.api.errors import error_response
from gateway.api.responses import (
    encode,
    json_response,
    reply_headers,
    request_id,
    sse_body,
    stream_headers,
)
from gateway.api.services import GatewayServices, services
from gateway.errors import GatewayError, NotFoundError
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import Completion
from gateway.wire.types import Endpoint

AnyRequest = Request[Any, Any, Any]


async def _serve(scope: Scope, receive: Receive, send: Send, endpoint: Endpoint) -> None:
    gateway: GatewayServices = scope["app"].state.gateway
    headers = request_headers(scope)
    ctx = RequestContext(endpoint, request_id(headers), client_headers=headers)
    if not await post_only(
        scope, send, lambda error, status: send_error(send, error, ctx.request_id, status=status)
    ):
        return
    try:
        server = gateway.config.server
        ctx.raw_body = await read_body(
            receive, headers, server.max_body_bytes, server.body_timeout_s
        )
        reply = await gateway.pipeline.run(ctx)
    except GatewayError as exc:
        await send_error(send, exc, ctx.request_id)
        return
    if isinstance(reply, Completion):
        await send_json(send, 200, encode(reply.body), reply_headers(ctx))
    else:
        await send_stream(send, receive, stream_headers(ctx), sse_body(reply.chunks))


# ``@asgi`` rather than ``@post``: see gateway.api.asgi for the cost this saves.
@asgi("/v1/chat/completions", copy_scope=False)
async def chat_completions(scope: Scope, receive: Receive, send: Send) -> None:
    await _serve(scope, receive, send, Endpoint.CHAT)


@asgi("/v1/completions", copy_scope=False)
async def completions(scope: Scope, receive: Receive, send: Send) -> None:
    await _serve(scope, receive, send, Endpoint.COMPLETIONS)


@asgi("/v1/embeddings", copy_scope=False)
async def embeddings(scope: Scope, receive: Receive, send: Send) -> None:
    await _serve(scope, receive, send, Endpoint.EMBEDDINGS)


@get("/v1/models")
async def list_models(request: AnyRequest) -> Response[bytes]:
    gateway = services(request)
    rid = request_id(request.headers)
    try:
        principal = gateway.keys.authenticate(request.headers)
    except GatewayError as exc:
        return error_response(exc, rid)
    data = [gateway.model_card(name) for name in gateway.listed_models() if principal.may_use(name)]
    ctx = RequestContext(Endpoint.CHAT, rid)
    return json_response({"object": "list", "data": data}, ctx)


@get("/v1/models/{model_id:path}")
async def retrieve_model(request: AnyRequest, model_id: FromPath[str]) -> Response[bytes]:
    gateway = services(request)
    rid = request_id(request.headers)
    name = model_id.lstrip("/")
    try:
        principal = gateway.keys.authenticate(request.headers)
        known = gateway.models.resolve(name) is not None or name in gateway.listed_models()
        if not known or not principal.may_use(name):
            raise NotFoundError(
                f"The model '{name}' does not exist or you do not have access to it.",
                param="model",
            )
    except GatewayError as exc:
        return error_response(exc, rid)
    return json_response(gateway.model_card(name), RequestContext(Endpoint.CHAT, rid))


ROUTES = [chat_completions, completions, embeddings, list_models, retrieve_model]

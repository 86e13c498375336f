"""Anthropic's Messages API at /v1/messages (+ /count_tokens), on every provider.

Clients send Anthropic's wire format with Anthropic's auth (``x-api-key``, or a Bearer
token as Claude Code's gateway mode does; ``anthropic-version`` accepted). The body is
translated into the neutral chat request (``providers.messages_chat``) and run through
the one pipeline, so every stage applies; the answer is rendered in Anthropic's format
and every error in Anthropic's shape ``{"type": "error", "error": {"type", "message"}}``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import asgi

from gateway.accounting import encodings
from gateway.accounting.tokens import count_request_tokens
from gateway.api.asgi import (
    Receive,
    Scope,
    Send,
    post_only,
    read_body,
    request_headers,
    send_json,
    send_stream,
)
from gateway.api.errors import error_headers
from gateway.api.responses import encode, reply_headers, request_id, stream_headers
from gateway.api.services import GatewayServices
from gateway.api.surface_stream import surface_events
from gateway.auth.directory import KeyDirectory
from gateway.auth.keys import Principal
from gateway.errors import AuthenticationError, GatewayError, InvalidRequestError, NotFoundError
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import Completion, StreamItem
from gateway.providers import messages_chat as mc
from gateway.providers import native_answer
from gateway.providers.base import Native
from gateway.routing.models import NATIVE
from gateway.wire.requests import decode_body
from gateway.wire.types import Endpoint


def _headers(scope: Scope) -> dict[str, str]:
    """Anthropic's ``x-api-key`` is the gateway key, as a Bearer token would be."""
    headers = request_headers(scope)
    key = headers.get("x-api-key")
    if key and "authorization" not in headers:
        headers["authorization"] = f"Bearer {key}"
    return headers


async def _send_error(send: Send, error: GatewayError, rid: str, status: int = 0) -> None:
    status = status or error.status_code
    body = encode(mc.error_body(status, error.message))
    await send_json(send, status, body, error_headers(error, rid))


async def _method(scope: Scope, send: Send, rid: str) -> bool:
    """Answer OPTIONS and wrong methods (in Anthropic's shape); True for a POST."""
    return await post_only(
        scope, send, lambda error, status: _send_error(send, error, rid, status=status)
    )


async def _body(
    gateway: GatewayServices, receive: Receive, headers: dict[str, str]
) -> dict[str, Any]:
    server = gateway.config.server
    raw = await read_body(receive, headers, server.max_body_bytes, server.body_timeout_s)
    body = decode_body(raw, server.max_json_depth)
    messages = body.get("messages")
    if isinstance(messages, list) and len(messages) > server.max_messages:
        raise InvalidRequestError(
            f"messages: at most {server.max_messages} messages are accepted, got {len(messages)}.",
            param="messages",
        )
    return body


@asgi("/v1/messages", copy_scope=False)
async def create_message(scope: Scope, receive: Receive, send: Send) -> None:
    gateway: GatewayServices = scope["app"].state.gateway
    headers = _headers(scope)
    ctx = RequestContext(Endpoint.CHAT, request_id(headers), client_headers=headers)
    ctx.surface = "messages"
    if not await _method(scope, send, ctx.request_id):
        return
    try:
        body = await _body(gateway, receive, headers)
        if isinstance(body.get("model"), str):
            ctx.model = body["model"]
        ctx.body = mc.request_to_chat(body)
        beta = {k: v for k, v in headers.items() if k == "anthropic-beta"}
        native = NATIVE.set(ctx, Native("messages", body, beta))
        reply = await gateway.pipeline.run(ctx)
    except GatewayError as exc:
        await _send_error(send, exc, ctx.request_id)
        return
    model = str(body["model"])
    if isinstance(reply, Completion):
        message = (
            native_answer.message_body(native.response, reply.body)
            if native.response is not None
            else mc.chat_to_message(reply.body, model)
        )
        await send_json(send, 200, encode(message), reply_headers(ctx))
    else:
        stream: mc.MessageStreamTranslator | native_answer.MessageEvents = (
            native_answer.MessageEvents(native.events)
            if native.events is not None
            else mc.MessageStreamTranslator(model)
        )
        await send_stream(send, receive, stream_headers(ctx), _events(reply.chunks, stream, ctx))


def _events(
    chunks: AsyncIterator[StreamItem],
    stream: mc.MessageStreamTranslator | native_answer.MessageEvents,
    ctx: RequestContext,
) -> AsyncIterator[bytes]:
    """The chat stream as Messages events; an error is Anthropic's ``error`` event."""
    return surface_events(
        chunks, stream, ctx, lambda exc: [mc.error_body(exc.status_code, exc.message)]
    )


@asgi("/v1/messages/count_tokens", copy_scope=False)
async def count_tokens(scope: Scope, receive: Receive, send: Send) -> None:
    """Prompt tokens of a Messages body, counted by the gateway (as for budgets): the
    caller's key and its access to the model are checked, nothing goes upstream."""
    gateway: GatewayServices = scope["app"].state.gateway
    headers = _headers(scope)
    rid = request_id(headers)
    if not await _method(scope, send, rid):
        return
    try:
        principal = await authenticate(gateway, headers)
        body = await _body(gateway, receive, headers)
        body.setdefault("max_tokens", 1)
        chat = mc.request_to_chat(body)
        model = chat["model"]
        if not principal.may_use(model) or gateway.models.resolve(model) is None:
            raise NotFoundError(f"model: {model}", param="model")
        await encodings.ensure(model)
        tokens = count_request_tokens(Endpoint.CHAT, chat, model)
    except GatewayError as exc:
        await _send_error(send, exc, rid)
        return
    await send_json(send, 200, encode({"input_tokens": tokens}), {"x-request-id": rid})


async def authenticate(gateway: GatewayServices, headers: dict[str, str]) -> Principal:
    try:
        return gateway.keys.authenticate(headers)
    except AuthenticationError as exc:
        directory: KeyDirectory = gateway.accounting.directory
        if exc.code != "invalid_api_key":
            raise
        return await directory.authenticate(headers)


ROUTES = [create_message, count_tokens]

"""OpenAI's Responses API under /v1/responses, on every provider.

The seam: the Responses body is translated into the neutral chat request
(``providers.responses_chat``) and run through the one pipeline, so every stage (auth,
model access, limits, budgets, cache, guardrails, labels, tracing, ledger) applies by
construction; the chat answer or stream is rendered back as a ``Response`` or as the
``ResponseStreamEvent`` sequence. With ``store`` (the default, as on OpenAI) the
response is kept per team (``conversations.store``) for ``previous_response_id``,
``GET``/``DELETE /v1/responses/{id}`` and ``/input_items``; another team's id answers
404 exactly like an unknown one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from litestar import Request, Response, asgi, delete, get, post
from litestar.params import FromPath

from gateway.accounting import encodings
from gateway.accounting.tokens import count_request_tokens
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
from gateway.api.responses import encode, json_response, reply_headers, request_id, stream_headers
from gateway.api.services import GatewayServices
from gateway.api.surface_stream import surface_events
from gateway.auth.keys import PRINCIPAL, Principal
from gateway.conversations.store import DEFAULT_RETENTION_DAYS, ResponseStore
from gateway.errors import AuthenticationError, GatewayError, InvalidRequestError, NotFoundError
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import Completion, StreamItem
from gateway.providers import native_answer
from gateway.providers import responses_chat as rc
from gateway.providers.base import Native
from gateway.routing.models import NATIVE
from gateway.state.base import StateError
from gateway.wire.requests import decode_body
from gateway.wire.types import Endpoint

AnyRequest = Request[Any, Any, Any]
log = logging.getLogger("gateway")


async def _principal(gateway: GatewayServices, headers: Mapping[str, str]) -> Principal:
    """Who is calling, for the stored-response routes (the pipeline authenticates the
    generation itself): the same lookup as the Authenticate stage."""
    try:
        return gateway.keys.authenticate(headers)
    except AuthenticationError as exc:
        if exc.code != "invalid_api_key":
            raise
        return await gateway.accounting.directory.authenticate(headers)


def _not_found(response_id: str) -> NotFoundError:
    return NotFoundError(
        f"No response found with id '{response_id}'.", param="response_id", code=None
    )


def _retention_s(principal: Principal | None) -> float:
    days = DEFAULT_RETENTION_DAYS
    settings = principal.team_settings if principal is not None else None
    if settings is not None and settings.feedback is not None:
        days = settings.feedback.retention_days
    return days * 86400.0


def _input_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """This turn's input as items with ids, as ``/input_items`` lists them."""
    raw = body.get("input")
    items: list[dict[str, Any]] = (
        [{"type": "message", "role": "user", "content": raw}]
        if isinstance(raw, str)
        else list(raw or ())
    )
    listed: list[dict[str, Any]] = []
    for item in items:
        item = dict(item)
        if item.get("type", "message") == "message":
            item["type"] = "message"
            content = item.get("content")
            if isinstance(content, str):
                kind = "output_text" if item.get("role") == "assistant" else "input_text"
                item["content"] = [{"type": kind, "text": content}]
            item.setdefault("id", rc.new_id("msg"))
            item.setdefault("status", "completed")
        elif item.get("type") == "function_call_output":
            item.setdefault("id", rc.new_id("fco"))
            item.setdefault("status", "completed")
        elif item.get("type") == "function_call":
            item.setdefault("id", rc.new_id("fc"))
            item.setdefault("status", "completed")
        listed.append(item)
    return listed


def _as_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    raw = body.get("input")
    if isinstance(raw, str):
        return [{"role": "user", "content": raw}]
    return [item for item in raw or () if isinstance(item, dict)]


class _Turn:
    """One create call: the request, the ids it answers with, what to store."""

    __slots__ = ("body", "created_at", "history", "response_id", "store")

    def __init__(self, body: dict[str, Any], store: ResponseStore | None) -> None:
        self.body = body
        self.response_id = rc.new_id("resp")
        self.created_at = int(time.time())
        self.history: list[dict[str, Any]] = []
        self.store = store if body.get("store", True) is not False else None

    @property
    def own(self) -> dict[str, Any]:
        """What the gateway, not a native upstream, says of this response."""
        return {
            "id": self.response_id,
            "previous_response_id": self.body.get("previous_response_id"),
        }

    async def save(self, ctx: RequestContext, response: dict[str, Any]) -> None:
        principal = PRINCIPAL.get(ctx)
        if self.store is None or principal is None:
            return
        items = _input_items(self.body)
        record = {
            "response": response,
            "input_items": items,
            # The conversation so far, the next turn's history: what came before, this
            # turn's input, this turn's output (instructions are not carried over).
            "context": [
                *self.history,
                *_as_items(self.body),
                *rc.output_to_input(response["output"]),
            ],
        }
        try:
            await self.store.put(principal.team, self.response_id, record, _retention_s(principal))
        except StateError:
            # The client has its answer; a store failure must not turn it into an error.
            log.warning("could not store response %s", self.response_id, exc_info=True)


async def _prepare(gateway: GatewayServices, ctx: RequestContext, raw: bytes) -> _Turn:
    server = gateway.config.server
    body = decode_body(raw, server.max_json_depth)
    items = body.get("input")
    if isinstance(items, list) and len(items) > server.max_messages:
        raise InvalidRequestError(
            f"'input' has {len(items)} items; this gateway accepts at most {server.max_messages}.",
            param="input",
            code="array_above_max_length",
        )
    if isinstance(body.get("model"), str):
        ctx.model = body["model"]
    turn = _Turn(body, gateway.responses_store)
    previous = body.get("previous_response_id")
    if previous is not None:
        if not isinstance(previous, str) or gateway.responses_store is None:
            raise _not_found(str(previous))
        principal = await _principal(gateway, ctx.client_headers)
        record = await gateway.responses_store.get(principal.team, previous)
        if record is None:
            raise _not_found(previous)
        turn.history = list(record.get("context") or ())
    ctx.body = rc.request_to_chat(body, turn.history)
    # For an upstream that serves Responses itself: the same request, the stored
    # conversation inlined (the upstream knows none of the gateway's response ids).
    native = {k: v for k, v in body.items() if k != "previous_response_id"}
    if turn.history:
        native["input"] = [*turn.history, *_as_items(body)]
    NATIVE.set(ctx, Native("responses", native))
    return turn


@asgi("/v1/responses", copy_scope=False)
async def create_response(scope: Scope, receive: Receive, send: Send) -> None:
    gateway: GatewayServices = scope["app"].state.gateway
    headers = request_headers(scope)
    ctx = RequestContext(Endpoint.CHAT, request_id(headers), client_headers=headers)
    ctx.surface = "responses"
    if not await post_only(
        scope, send, lambda error, status: send_error(send, error, ctx.request_id, status=status)
    ):
        return
    try:
        server = gateway.config.server
        raw = await read_body(receive, headers, server.max_body_bytes, server.body_timeout_s)
        turn = await _prepare(gateway, ctx, raw)
        reply = await gateway.pipeline.run(ctx)
        native = NATIVE.get(ctx)
        if isinstance(reply, Completion):
            if native is not None and native.response is not None:
                response = native_answer.response_body(native.response, reply.body, turn.own)
            else:
                response = rc.chat_to_response(
                    reply.body, turn.body, turn.response_id, turn.created_at
                )
            await turn.save(ctx, response)
    except GatewayError as exc:
        await send_error(send, exc, ctx.request_id)
        return
    if isinstance(reply, Completion):
        await send_json(send, 200, encode(response), reply_headers(ctx))
    else:
        upstream = native.events if native is not None else None
        stream: rc.ResponseStreamTranslator | native_answer.ResponseEvents = (
            native_answer.ResponseEvents(upstream, turn.own)
            if upstream is not None
            else rc.ResponseStreamTranslator(turn.body, turn.response_id, turn.created_at)
        )
        events = _events(reply.chunks, stream, turn, ctx)
        await send_stream(send, receive, stream_headers(ctx), events)


async def _events(
    chunks: AsyncIterator[StreamItem],
    stream: rc.ResponseStreamTranslator | native_answer.ResponseEvents,
    turn: _Turn,
    ctx: RequestContext,
) -> AsyncIterator[bytes]:
    """The chat stream as Response events (or the upstream's own, passed through);
    stored once it completed (not after an error)."""
    failed: list[GatewayError] = []

    def on_error(exc: GatewayError) -> list[dict[str, Any]]:
        failed.append(exc)
        return stream.error(exc.body())

    async for data in surface_events(chunks, stream, ctx, on_error):
        yield data
    if not failed and stream.response is not None:
        await turn.save(ctx, stream.response)


# --- stored responses ------------------------------------------------------------------------


async def _stored(
    request: AnyRequest, response_id: str
) -> tuple[GatewayServices, Principal, dict[str, Any]]:
    gateway: GatewayServices = request.app.state.gateway
    principal = await _principal(gateway, request.headers)
    store = gateway.responses_store
    record = await store.get(principal.team, response_id) if store is not None else None
    if record is None:
        raise _not_found(response_id)
    return gateway, principal, record


@get("/v1/responses/{response_id:str}")
async def retrieve_response(request: AnyRequest, response_id: FromPath[str]) -> Response[bytes]:
    rid = request_id(request.headers)
    try:
        _, _, record = await _stored(request, response_id)
    except GatewayError as exc:
        return error_response(exc, rid)
    return json_response(record["response"], RequestContext(Endpoint.CHAT, rid))


@delete("/v1/responses/{response_id:str}", status_code=200)
async def delete_response(request: AnyRequest, response_id: FromPath[str]) -> Response[bytes]:
    rid = request_id(request.headers)
    try:
        gateway, principal, _ = await _stored(request, response_id)
        assert gateway.responses_store is not None
        if not await gateway.responses_store.delete(principal.team, response_id):
            raise _not_found(response_id)
    except GatewayError as exc:
        return error_response(exc, rid)
    body = {"id": response_id, "object": "response.deleted", "deleted": True}
    return json_response(body, RequestContext(Endpoint.CHAT, rid))


@get("/v1/responses/{response_id:str}/input_items")
async def list_input_items(request: AnyRequest, response_id: FromPath[str]) -> Response[bytes]:
    rid = request_id(request.headers)
    try:
        _, _, record = await _stored(request, response_id)
        order = request.query_params.get("order", "desc")
        if order not in ("asc", "desc"):
            raise InvalidRequestError("'order' must be 'asc' or 'desc'.", param="order")
        limit_text = request.query_params.get("limit", "20")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 100:
            raise InvalidRequestError("'limit' must be between 1 and 100.", param="limit")
    except GatewayError as exc:
        return error_response(exc, rid)
    items: list[dict[str, Any]] = list(record.get("input_items") or ())
    if order == "desc":
        items.reverse()
    after = request.query_params.get("after")
    if after:
        ids = [item.get("id") for item in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    page = items[: int(limit_text)]
    body = {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(items) > len(page),
    }
    return json_response(body, RequestContext(Endpoint.CHAT, rid))


@post("/v1/responses/{response_id:str}/cancel", status_code=200)
async def cancel_response(request: AnyRequest, response_id: FromPath[str]) -> Response[bytes]:
    """Only background responses can be cancelled; this gateway runs none."""
    rid = request_id(request.headers)
    try:
        await _stored(request, response_id)
        raise InvalidRequestError(
            "Only responses created with 'background' can be cancelled.",
            param="response_id",
        )
    except GatewayError as exc:
        return error_response(exc, rid)


@post("/v1/responses/input_tokens", status_code=200)
async def count_input_tokens(request: AnyRequest) -> Response[bytes]:
    """Input tokens of a Responses body, counted by the gateway (as for budgets) after
    the same translation a create would do; nothing goes upstream."""
    gateway: GatewayServices = request.app.state.gateway
    rid = request_id(request.headers)
    try:
        principal = await _principal(gateway, request.headers)
        server = gateway.config.server
        body = decode_body(await request.body(), server.max_json_depth)
        history: list[dict[str, Any]] = []
        previous = body.get("previous_response_id")
        if previous is not None:
            store = gateway.responses_store
            record = await store.get(principal.team, str(previous)) if store else None
            if record is None:
                raise _not_found(str(previous))
            history = list(record.get("context") or ())
        chat = rc.request_to_chat(body, history)
        model = chat["model"]
        if not principal.may_use(model) or gateway.models.resolve(model) is None:
            raise NotFoundError(
                f"The model '{model}' does not exist or you do not have access to it.",
                param="model",
            )
        await encodings.ensure(model)
        tokens = count_request_tokens(Endpoint.CHAT, chat, model)
    except GatewayError as exc:
        return error_response(exc, rid)
    body = {"object": "response.input_tokens", "input_tokens": tokens}
    return json_response(body, RequestContext(Endpoint.CHAT, rid))


ROUTES = [
    create_response,
    count_input_tokens,
    retrieve_response,
    delete_response,
    list_input_items,
    cancel_response,
]

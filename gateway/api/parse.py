"""The parse stage: decode and validate the client's body once (an HTTP concern, so it
lives in api/); later stages read the typed fields. The shapes are in wire/."""

from __future__ import annotations

from gateway.config.schema import Server
from gateway.errors import InvalidRequestError
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import Reply
from gateway.pipeline.stages import Stage
from gateway.wire.requests import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    decode_body,
    validate,
)
from gateway.wire.types import Endpoint


class ParseRequest(Stage):
    """Fails closed: a body over the server's shape limits (``max_json_depth``,
    ``max_messages``) is a 400 before any later stage walks it."""

    def __init__(self, server: Server | None = None) -> None:
        server = server or Server()
        self._max_depth = server.max_json_depth
        self._max_messages = server.max_messages

    async def enter(self, ctx: RequestContext) -> Reply | None:
        # Another client surface (Responses, Messages) hands over the chat body it
        # translated to; it is validated here exactly like a client's own.
        translated = not ctx.raw_body and bool(ctx.body)
        data = ctx.body if translated else decode_body(ctx.raw_body, self._max_depth)
        messages = data.get("messages")
        if isinstance(messages, list) and len(messages) > self._max_messages:
            raise InvalidRequestError(
                f"'messages' has {len(messages)} items; this gateway accepts at most "
                f"{self._max_messages}.",
                param="messages",
                code="array_above_max_length",
            )
        model = data.get("model")
        if isinstance(model, str):  # for the access log, should validation fail
            ctx.model = model
        if ctx.endpoint is Endpoint.EMBEDDINGS:
            ctx.model = validate(data, EmbeddingRequest).model
        else:
            request: ChatCompletionRequest | CompletionRequest = (
                validate(data, ChatCompletionRequest)
                if ctx.endpoint is Endpoint.CHAT
                else validate(data, CompletionRequest)
            )
            ctx.model = request.model
            ctx.stream = bool(request.stream)
            ctx.include_usage = bool(
                request.stream_options and request.stream_options.include_usage
            )
        ctx.body = data
        ctx.raw_body = b""
        return None

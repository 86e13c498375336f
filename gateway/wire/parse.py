"""Decode and validate the client's body once; later stages read the typed fields."""

from __future__ import annotations

from gateway.pipeline.context import Endpoint, RequestContext
from gateway.pipeline.reply import Reply
from gateway.pipeline.stages import Stage
from gateway.wire.requests import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    decode_body,
    validate,
)


class ParseRequest(Stage):
    async def enter(self, ctx: RequestContext) -> Reply | None:
        data = decode_body(ctx.raw_body)
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

"""Anthropic's Messages API passed through natively (https://docs.anthropic.com/en/api/messages).

A ``/v1/messages`` request routed to a ``kind: anthropic`` target goes upstream as the
client sent it: ``cache_control`` breakpoints, ``thinking``, server tools, citations
and every other field the upstream serves, with the stages' edits applied
(``providers.native``; when those cannot be shown to be in the body, the chat view is
translated as for any request) and the client's ``anthropic-beta`` header forwarded.

The answer is read by the chat translator this one extends, for the stages' chat view
and the usage (cache reads and writes included); the upstream's own message, or each of
its stream events in order, is kept beside it for the route.
"""

from __future__ import annotations

from gateway.config.schema import Provider
from gateway.providers import messages_chat
from gateway.providers.anthropic import AnthropicTranslator, _decode_object
from gateway.providers.base import (
    Parsed,
    StreamDone,
    StreamStep,
    TranslatorInput,
    UpstreamRequest,
)
from gateway.providers.native import native_body
from gateway.wire.sse import Event


class NativeMessagesTranslator(AnthropicTranslator):
    def __init__(self, provider: Provider, request: TranslatorInput) -> None:
        super().__init__(provider, request)
        self._native = False

    def build_request(self) -> UpstreamRequest:
        to_chat = messages_chat.request_to_chat
        body = native_body(self.request, "messages", to_chat, "max_tokens")
        if body is None:
            return super().build_request()
        self._native = True
        beta = self.request.native.headers.get("anthropic-beta") if self.request.native else None
        return self.messages_request(body, beta)

    def parse_response(self, content: bytes) -> Parsed:
        parsed = super().parse_response(content)
        if self._native:
            parsed.native = _decode_object(content)
        return parsed

    def parse_stream_event(self, event: Event) -> StreamStep:
        if not self._native:
            return super().parse_stream_event(event)
        data = _decode_object(event.data)
        try:
            step = super().parse_stream_event(event)
        except StreamDone:
            raise StreamDone(StreamStep([], None, [data])) from None
        return StreamStep(step.chunks, step.usage, [data])

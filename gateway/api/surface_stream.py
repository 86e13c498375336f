"""A chat stream rendered as another client schema's named SSE events (the Responses
and Messages surfaces): one loop for both, the schema's own translator doing the rest.

Label-binding comments pass through untouched; an error raised mid-stream becomes the
schema's own error events and ends the stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from gateway.errors import GatewayError
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import StreamItem
from gateway.wire.sse import encode_comment, encode_data

Event = dict[str, Any]


class EventTranslator(Protocol):
    """A chat stream → one schema's events (``ResponseStreamTranslator``,
    ``MessageStreamTranslator``)."""

    def start(self) -> list[Event]: ...

    def feed(self, chunk: dict[str, Any]) -> list[Event]: ...

    def finish(self, fallback_usage: dict[str, Any] | None = None) -> list[Event]: ...


def named_event(event: Event) -> bytes:
    """``event: <type>`` then the data line, as both schemas stream them."""
    kind: str = event["type"]
    return b"event: " + kind.encode() + b"\n" + encode_data(event)


def counted_usage(ctx: RequestContext) -> dict[str, Any] | None:
    """The usage accounting settled on, for a stream the upstream reported none for."""
    usage = ctx.usage
    if usage is None:
        return None
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens}


async def surface_events(
    chunks: AsyncIterator[StreamItem],
    stream: EventTranslator,
    ctx: RequestContext,
    on_error: Callable[[GatewayError], list[Event]],
) -> AsyncIterator[bytes]:
    """The whole rendered stream; after an error (``on_error``'s events) nothing more."""
    for event in stream.start():
        yield named_event(event)
    try:
        async for item in chunks:
            if isinstance(item, dict):
                for event in stream.feed(item):
                    yield named_event(event)
            else:
                yield encode_comment(item.text)
    except GatewayError as exc:
        for event in on_error(exc):
            yield named_event(event)
        return
    for event in stream.finish(counted_usage(ctx)):
        yield named_event(event)

"""One attempt against one upstream: send, check the status, read a body or a stream.

Everything here is per attempt; choosing targets and retrying lives in ``routing``.
A stream's first chunk is read before the stream is handed back, so a failure before
the client saw any byte can still be retried elsewhere or answered with a proper
HTTP error instead of a broken stream.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncGenerator, Iterator
from typing import Any, Protocol

import anyio

from gateway.errors import UpstreamError, UpstreamTimeoutError
from gateway.providers.base import NOTHING, Parsed, StreamDone, StreamStep, Translator
from gateway.providers.transport import ProviderClient, upstream_errors
from gateway.transport import Response
from gateway.wire.sse import SSEDecoder
from gateway.wire.types import Usage

ChunkIterator = AsyncGenerator[dict[str, Any], None]


class UpstreamClock(Protocol):
    """Where an attempt adds the time spent waiting on the upstream (the request
    context does), so the gateway's own overhead can be told apart."""

    upstream_seconds: float


class UpstreamStream:
    """An open stream: its chunks, the latest usage the upstream reported in it and,
    from a native translator, the upstream's own events not yet rendered (kept here, by
    the exchange, as the translator returns them event by event)."""

    __slots__ = ("chunks", "native", "usage")

    def __init__(self) -> None:
        self.chunks: ChunkIterator
        self.usage: Usage | None = None
        self.native: deque[dict[str, Any]] | None = None

    def take(self, step: StreamStep) -> Iterator[dict[str, Any]]:
        """Keep what ``step`` learned; its chunks for the client."""
        if step.usage is not None:
            self.usage = step.usage
        if step.native is not None:
            if self.native is None:
                self.native = deque()
            self.native.extend(step.native)
        return iter(step.chunks)


async def complete(client: ProviderClient, translator: Translator, ctx: UpstreamClock) -> Parsed:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(client.config.timeouts.total):
            response = await client.send(translator.build_request())
            try:
                with upstream_errors():
                    content = await response.aread()
            finally:
                await response.aclose()
    except TimeoutError:
        raise UpstreamTimeoutError("The upstream did not finish in time.") from None
    finally:
        ctx.upstream_seconds += time.perf_counter() - started
    if response.status_code >= 400:
        raise translator.parse_error(response.status_code, content, response.headers)
    return translator.parse_response(content)


async def open_stream(
    client: ProviderClient, translator: Translator, ctx: UpstreamClock
) -> UpstreamStream:
    """Return the stream once its first chunk has arrived.

    The total timeout bounds this wait as a whole: the read timeout alone is re-armed by
    every byte, so an upstream trickling its headers (slow loris) would hold it forever.
    """
    started = time.perf_counter()
    total = client.config.timeouts.total
    try:
        async with asyncio.timeout(total):
            response = await client.send(translator.build_request())
            try:
                if response.status_code >= 400:
                    with upstream_errors():
                        content = await response.aread()
                    raise translator.parse_error(response.status_code, content, response.headers)
                stream = UpstreamStream()
                chunks = _chunks(response, translator, started + total, stream)
                first = await anext(chunks, None)
            except BaseException:
                await response.aclose()
                raise
    except TimeoutError:
        raise UpstreamTimeoutError("The upstream did not finish in time.") from None
    finally:
        ctx.upstream_seconds += time.perf_counter() - started
    stream.chunks = _prepend(first, chunks)
    return stream


async def _prepend(first: dict[str, Any] | None, rest: ChunkIterator) -> ChunkIterator:
    try:
        if first is not None:
            yield first
            async for chunk in rest:
                yield chunk
    finally:
        await rest.aclose()


async def _chunks(
    response: Response, translator: Translator, deadline: float, stream: UpstreamStream
) -> ChunkIterator:
    """Upstream SSE → OpenAI chunks. Idle gaps are bounded by the transport's read timeout; an
    endless but lively stream is cut once the total deadline has passed."""
    decoder = SSEDecoder()
    try:
        with upstream_errors():
            async for raw in response.aiter_raw():
                for event in decoder.feed(raw):
                    try:
                        step = translator.parse_stream_event(event)
                    except StreamDone as done:
                        for chunk in stream.take(done.last or NOTHING):
                            yield chunk
                        return
                    for chunk in stream.take(step):
                        yield chunk
                if time.perf_counter() > deadline:
                    raise UpstreamTimeoutError("The upstream stream exceeded its total timeout.")
        for event in decoder.close():
            try:
                step = translator.parse_stream_event(event)
            except StreamDone as done:
                for chunk in stream.take(done.last or NOTHING):
                    yield chunk
                return
            for chunk in stream.take(step):
                yield chunk
        raise UpstreamError(
            "The upstream stream ended before it was complete.", code="upstream_truncated"
        )
    finally:
        # Closing mid-body drops the connection, which is how the upstream learns that
        # the client went away; shield it from the cancellation that brought us here.
        with anyio.CancelScope(shield=True):
            await response.aclose()

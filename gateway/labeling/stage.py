"""The labeling stage: every generated answer leaves with a signed AI-content label.

Runs on the way out (``leave``), after output guards and the cache, so it labels the
exact text the client gets, cached answers included, and the cache stores unlabelled
answers (each delivery gets its own ProduceID). Embeddings are vectors, not content for
people, and are not labelled.

- Whole bodies: optional visible notice, then the headers with the signature.
- Streams: the headers go out first with an empty ``ReservedCode1`` (and the model
  named by the first chunk); the chunks pass
  through one by one while their text is accumulated; after the last chunk one SSE
  comment line carries the complete ``AIGC`` object with the signature, just before
  ``data: [DONE]``. A stream that fails midway gets no binding: nothing to vouch for.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from gateway.auth.keys import PRINCIPAL
from gateway.auth.per_team import PerTeam
from gateway.labeling.content import StreamText, body_text
from gateway.labeling.label import Labeler
from gateway.labeling.visible import StreamDecorator, VisibleNotice, prompt_text
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import ChunkStream, Comment, Completion, Reply, StreamItem
from gateway.pipeline.stages import Stage
from gateway.telemetry.events import labeled
from gateway.wire.types import Endpoint

_JSON_FORMATS = ("json_object", "json_schema")


class LabelAnswers(Stage):
    def __init__(self, labeler: Labeler, visible: PerTeam[VisibleNotice]) -> None:
        """``visible``: each team's visible notice (its own, else the default)."""
        self._labeler = labeler
        self._visible = visible

    def _notice_for(self, ctx: RequestContext) -> VisibleNotice | None:
        notice = self._visible(PRINCIPAL.get(ctx))
        if not notice.enabled:
            return None
        # A notice would break an answer that must parse as JSON.
        response_format = ctx.body.get("response_format")
        if isinstance(response_format, dict) and response_format.get("type") in _JSON_FORMATS:
            return None
        return notice

    async def leave(self, ctx: RequestContext, reply: Reply) -> Reply:
        if ctx.endpoint is Endpoint.EMBEDDINGS:
            return reply
        labeler = self._labeler
        produce_id = labeler.new_id()
        labeled(ctx, produce_id)
        notice = self._notice_for(ctx)
        if isinstance(reply, Completion):
            body = reply.body if notice is None else notice.apply_to_body(reply.body)
            model = body.get("model")
            model = model if isinstance(model, str) else ctx.model
            binding = labeler.sign(produce_id, model, body_text(body))
            ctx.response_headers.update(labeler.headers(produce_id, model, binding))
            return reply if body is reply.body else Completion(body)
        # The headers name the model the chunks carry (an upstream's dated snapshot, as
        # the signed label does): the first chunk was read before the stream came back
        # (providers.exchange), so peeking at it waits for nothing.
        chunks = reply.chunks
        try:
            first = await anext(chunks, None)
        except BaseException:
            await _close(chunks)
            raise
        model = first.get("model") if isinstance(first, dict) else None
        model = model if isinstance(model, str) and model else ctx.model
        ctx.response_headers.update(labeler.headers(produce_id, model, ""))
        decorate = notice.stream_decorator(prompt_text(ctx.body)) if notice else None
        return ChunkStream(self._bind(ctx, first, chunks, produce_id, decorate))

    async def _bind(
        self,
        ctx: RequestContext,
        first: StreamItem | None,
        chunks: AsyncIterator[StreamItem],
        produce_id: str,
        decorate: StreamDecorator | None,
    ) -> AsyncIterator[StreamItem]:
        """The peeked ``first`` item, then the rest, each fed to the label's text (one
        generator layer per chunk, not two)."""
        text = StreamText()
        try:
            item = first
            while item is not None:  # None: the upstream's stream was empty
                if isinstance(item, dict):
                    if decorate is not None:
                        decorate(item, text)
                    text.feed(item)
                yield item
                item = await anext(chunks, None)
        finally:
            await _close(chunks)
        labeler = self._labeler
        binding = labeler.sign(produce_id, text.model or ctx.model, text.text())
        yield Comment(labeler.stream_comment(produce_id, binding))


async def _close(chunks: AsyncIterator[StreamItem]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()

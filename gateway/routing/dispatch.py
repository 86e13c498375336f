"""Pick targets for a request and try them until one answers.

Order: the model's own targets (healthy ones first, weighted random among them), then
its fallback models' targets. A failed attempt moves on only when another target could
do better: upstream 5xx, 429, timeouts and connection failures; never a client error,
and never once a stream's first byte has gone to the client (``providers.exchange``
reads that first chunk before returning, so everything here is still "before").
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping

from gateway.errors import GatewayError, NotFoundError, UpstreamError, UpstreamStatusError
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import ChunkStream, Completion, Reply
from gateway.providers import exchange
from gateway.providers.base import TranslatorInput
from gateway.providers.transport import ProviderClient
from gateway.routing.health import HealthMonitor
from gateway.routing.models import ModelRoute, ModelTable, RouteTarget

_MAX_FALLBACK_DEPTH = 3


class Dispatcher:
    def __init__(
        self,
        table: ModelTable,
        clients: Mapping[str, ProviderClient],
        health: HealthMonitor,
        rng: random.Random | None = None,
    ) -> None:
        self._table = table
        self._clients = clients
        self._health = health
        self._rng = rng or random.Random()  # noqa: S311 (load spreading, not secrets)

    async def __call__(self, ctx: RequestContext) -> Reply:
        route = ctx.route
        if route is None:
            raise NotFoundError(f"The model `{ctx.model}` does not exist.", param="model")
        last_error: GatewayError | None = None
        for target in self.candidates(route):
            ctx.attempts += 1
            ctx.target = target
            try:
                reply = await self._attempt(ctx, target)
            except GatewayError as exc:
                if not _worth_another_target(exc):
                    raise
                if exc.status_code in (502, 504) or exc.code == "upstream_unreachable":
                    self._health.mark(target.provider, False)
                last_error = exc
                continue
            self._health.mark(target.provider, True)
            return reply
        assert last_error is not None
        raise last_error

    def candidates(self, route: ModelRoute) -> Iterator[RouteTarget]:
        seen: set[str] = set()
        pending = [route]
        depth = 0
        while pending and depth <= _MAX_FALLBACK_DEPTH:
            next_routes: list[ModelRoute] = []
            for current in pending:
                if current.name in seen:
                    continue
                seen.add(current.name)
                yield from self._order(current.targets)
                next_routes.extend(
                    r for name in current.fallbacks if (r := self._table.resolve(name)) is not None
                )
            pending = next_routes
            depth += 1

    def _order(self, targets: tuple[RouteTarget, ...]) -> list[RouteTarget]:
        """Weighted random order, reachable providers first."""
        if len(targets) == 1:
            return list(targets)
        # Efraimidis-Spirakis: sort by u^(1/w), a weighted shuffle in one pass.
        keyed = sorted(
            targets,
            key=lambda t: (
                not self._health.is_up(t.provider),
                -(self._rng.random() ** (1.0 / t.weight)) if t.weight > 0 else 0.0,
            ),
        )
        return keyed

    async def _attempt(self, ctx: RequestContext, target: RouteTarget) -> Reply:
        client = self._clients[target.provider]
        translator = client.translator(
            TranslatorInput(
                endpoint=ctx.endpoint,
                body=ctx.body,
                upstream_model=target.model,
                reported_model=ctx.model,
                keep_model=target.model == ctx.model,
                stream=ctx.stream,
                include_usage=ctx.include_usage,
                request_id=ctx.request_id,
            )
        )
        if not ctx.stream:
            body = await exchange.complete(client, translator, ctx)
            ctx.usage = translator.usage
            return Completion(body)
        chunks = await exchange.open_stream(client, translator, ctx)

        async def tracked() -> exchange.ChunkIterator:
            try:
                async for chunk in chunks:
                    yield chunk
            finally:
                ctx.usage = translator.usage

        return ChunkStream(tracked())


def _worth_another_target(error: GatewayError) -> bool:
    if isinstance(error, UpstreamStatusError):
        return False
    return isinstance(error, UpstreamError) or error.status_code == 429

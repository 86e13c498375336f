"""Try a request's targets until one answers: retries, fallbacks, outcome bookkeeping.

For the model, then each fallback model (breadth first, at most 3 levels deep):

    plan = router.plan(model)                       # order, see routing.router
    round 1: each target of the plan once, no waiting in between
    round k ≤ retry.attempts: targets that failed in a way worth repeating, after
             max(backoff with jitter, their retry-after); a retry-after beyond
             max_retry_after_s drops the target instead of waiting

A failure moves on only when another attempt could do better (``routing.retry``):
never for a client error, and never once a stream's first byte reached the client
(``providers.exchange`` returns a stream only after its first chunk). All attempts
together are capped by ``retry.max_attempts``. When everything failed, the client
gets the last error (its status and code), or the reason nothing was tried; either
way with ``x-gateway-attempts``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import Any

from gateway.errors import GatewayError, NotFoundError, ServiceUnavailableError
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import ChunkStream, Completion, Reply
from gateway.providers import exchange
from gateway.providers.base import TranslatorInput
from gateway.providers.transport import ProviderClient
from gateway.routing.health import HealthMonitor
from gateway.routing.models import (
    CALLS,
    NATIVE,
    ROUTE,
    TARGET,
    ModelRoute,
    ModelTable,
    RouteTarget,
    UpstreamCall,
)
from gateway.routing.observer import observer_of
from gateway.routing.retry import backoff_s, classify, retry_after_s
from gateway.routing.router import Plan, Router
from gateway.wire.types import Usage

_MAX_FALLBACK_DEPTH = 3
# Called before each attempt with the target's label; raising RateLimitError (a
# provider quota kept by the gateway) skips that target without calling it.
AdmitTarget = Callable[[RequestContext, str], Awaitable[None]]


class Dispatcher:
    def __init__(
        self,
        table: ModelTable,
        clients: Mapping[str, ProviderClient],
        health: HealthMonitor,
        router: Router | None = None,
        rng: random.Random | None = None,
        admit_target: AdmitTarget | None = None,
    ) -> None:
        self._table = table
        self._admit_target = admit_target
        self._clients = clients
        self._health = health
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not secrets)
        self.router = router or Router(health.is_up, rng=self._rng)

    async def __call__(self, ctx: RequestContext) -> Reply:
        route = ROUTE.get(ctx)
        if route is None:
            raise NotFoundError(f"The model `{ctx.model}` does not exist.", param="model")
        return await self._dispatch(ctx, route, ctx.model)

    async def on_route(self, ctx: RequestContext, route: ModelRoute) -> Reply:
        """Go upstream again for ``ctx``, on another model (the confidence gate's retry):
        the answer reports ``route``'s name; the request's own model and route stay as
        they are, for the caller to change if it keeps this answer."""
        return await self._dispatch(ctx, route, route.name)

    async def _dispatch(self, ctx: RequestContext, route: ModelRoute, reported: str) -> Reply:
        failures = _Failures()
        try:
            for level in self.levels(route):
                reply = await self._serve(ctx, level, failures, reported)
                if reply is not None:
                    return reply
        except GatewayError as exc:
            _annotate(exc, ctx)
            raise
        error = failures.final(route.name)
        _annotate(error, ctx)
        raise error

    def levels(self, route: ModelRoute) -> Iterator[ModelRoute]:
        """The model, then its fallbacks breadth first, each once."""
        seen: set[str] = set()
        pending = [route]
        depth = 0
        while pending and depth <= _MAX_FALLBACK_DEPTH:
            next_routes: list[ModelRoute] = []
            for current in pending:
                if current.name in seen:
                    continue
                seen.add(current.name)
                yield current
                next_routes.extend(
                    r for name in current.fallbacks if (r := self._table.resolve(name)) is not None
                )
            pending = next_routes
            depth += 1

    async def _serve(
        self, ctx: RequestContext, route: ModelRoute, failures: _Failures, reported: str
    ) -> Reply | None:
        plan = self.router.plan(route, ctx)
        if plan.refusal is not None:
            failures.refusal = failures.refusal or plan.refusal
        policy = route.policy.retry
        pending = plan.targets
        again: list[tuple[RouteTarget, float]] = []
        for round_ in range(1, policy.attempts + 1):
            if round_ > 1:
                if not again:
                    return None
                pending = [target for target, _ in again]
                wait = max(backoff_s(round_ - 1, policy, self._rng), *(w for _, w in again))
                await asyncio.sleep(wait)
                ctx.upstream_seconds += wait  # waiting on the upstream, not gateway work
            again = []
            for target in pending:
                if ctx.attempts >= policy.max_attempts:
                    return None
                if not target.state.breaker.acquire(time.monotonic()):
                    continue  # opened meanwhile, or another request holds its probe
                if self._admit_target is not None:
                    try:
                        await self._admit_target(ctx, target.label)
                    except GatewayError as exc:
                        target.state.breaker.release()
                        failures.last = exc
                        continue
                ctx.attempts += 1
                TARGET.set(ctx, target)
                observer = observer_of(ctx)  # telemetry's per-attempt spans and metrics
                try:
                    observer.started(ctx, target)
                    reply = await self._attempt(ctx, target, plan, reported)
                except GatewayError as exc:
                    observer.failed(ctx, exc)
                    verdict = classify(exc)
                    self.router.failed(target, exc, verdict)
                    if exc.code == "upstream_unreachable":
                        self._health.mark(target.provider, False)
                    if not verdict.elsewhere:
                        raise
                    failures.last = exc
                    if verdict.again:
                        wait = retry_after_s(exc.headers) or 0.0
                        if wait <= policy.max_retry_after_s:
                            again.append((target, wait))
                    continue
                observer.answered(ctx, reply)
                return reply
        return None

    async def _attempt(
        self, ctx: RequestContext, target: RouteTarget, plan: Plan, reported: str
    ) -> Reply:
        client = self._clients[target.provider]
        native = NATIVE.get(ctx)
        translator = client.translator(
            TranslatorInput(
                endpoint=ctx.endpoint,
                body=ctx.body,
                upstream_model=target.model,
                reported_model=reported,
                keep_model=target.model == reported,
                stream=ctx.stream,
                include_usage=ctx.include_usage,
                request_id=ctx.request_id,
                session_id=ctx.client_headers.get("x-session-id"),
                trace_headers=ctx.trace_headers,
                native=native,
            )
        )
        state = target.state
        state.in_flight += 1
        started = time.perf_counter()
        handed_over = False
        try:
            if not ctx.stream:
                parsed = await exchange.complete(client, translator, ctx)
                if native is not None:
                    native.response = parsed.native
                ctx.usage = parsed.usage
                _called(ctx, target, parsed.usage)
                self._succeeded(target, plan, time.perf_counter() - started, stream=False)
                return Completion(parsed.body)
            stream = await exchange.open_stream(client, translator, ctx)
            if native is not None:
                native.events = stream.native
            _called(ctx, target, None)
            self._succeeded(target, plan, time.perf_counter() - started, stream=True)
            handed_over = True
            return ChunkStream(_TrackedStream(stream, ctx, target, self, started))
        except GatewayError:
            raise
        except BaseException:
            state.breaker.release()  # cancelled (the client left): no verdict
            raise
        finally:
            if not handed_over:
                state.in_flight -= 1

    def _succeeded(self, target: RouteTarget, plan: Plan, seconds: float, *, stream: bool) -> None:
        self.router.succeeded(target, plan, seconds, stream=stream)
        self._health.mark(target.provider, True)


class _Failures:
    __slots__ = ("last", "refusal")

    def __init__(self) -> None:
        self.last: GatewayError | None = None
        self.refusal: GatewayError | None = None

    def final(self, model: str) -> GatewayError:
        if self.last is not None:
            return self.last
        if self.refusal is not None:
            return self.refusal
        return ServiceUnavailableError(f"No target of `{model}` can be tried now.")


def _called(ctx: RequestContext, target: RouteTarget, usage: Usage | None) -> None:
    calls = CALLS.get(ctx)
    if calls is None:
        calls = CALLS.set(ctx, [])
    calls.append(UpstreamCall(target, usage))


def _annotate(error: GatewayError, ctx: RequestContext) -> None:
    error.headers["x-gateway-attempts"] = str(ctx.attempts)
    target = TARGET.get(ctx)
    if target is not None:
        error.headers["x-gateway-target"] = target.label


class _TrackedStream:
    """The upstream chunks, passed through one by one, with the attempt's bookkeeping
    done exactly once when the stream ends however it ends (last chunk, mid-stream
    failure, client gone, or never iterated at all)."""

    __slots__ = ("_chunks", "_ctx", "_dispatcher", "_done", "_started", "_stream", "_target")

    def __init__(
        self,
        stream: exchange.UpstreamStream,
        ctx: RequestContext,
        target: RouteTarget,
        dispatcher: Dispatcher,
        started: float,
    ) -> None:
        self._chunks = stream.chunks
        self._stream = stream
        self._ctx = ctx
        self._target = target
        self._dispatcher = dispatcher
        self._started = started
        self._done = False

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self

    async def __anext__(self) -> dict[str, Any]:
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            self._finish(None, complete=True)
            raise
        except GatewayError as exc:
            self._finish(exc, complete=False)
            raise
        except BaseException:
            self._finish(None, complete=False)
            raise

    async def aclose(self) -> None:
        self._finish(None, complete=False)
        await self._chunks.aclose()

    def _finish(self, error: GatewayError | None, *, complete: bool) -> None:
        if self._done:
            return
        self._done = True
        self._ctx.usage = self._stream.usage
        target = self._target
        target.state.in_flight -= 1
        if complete:
            target.state.observe_total(time.perf_counter() - self._started)
        elif error is not None:
            # The first chunk counted as a success; a break afterwards still tells the
            # breaker something is wrong.
            self._dispatcher.router.failed(target, error, classify(error))

    def __del__(self) -> None:
        self._finish(None, complete=False)

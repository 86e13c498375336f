"""The app factory: builds every component from the config once and wires the pipeline.

Start-up does all the work that can be done ahead of requests (key digests, model
table, translator lookups, connection pools); requests only look things up.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException

from gateway.accounting.books import Books, open_books
from gateway.accounting.budget import BudgetAdmission
from gateway.accounting.settle import Settle
from gateway.api import admin, flywheel, health, openai
from gateway.api.openapi import openapi_config
from gateway.api.responses import error_response, request_id
from gateway.auth.authenticate import Authenticate
from gateway.auth.authorize import ModelAccess
from gateway.auth.keys import KeyStore
from gateway.cache import api as cache_api
from gateway.cache.service import ResponseCache, build_cache, embeddings_through
from gateway.cache.service import team_check as cache_team_check
from gateway.cache.stage import CacheStage
from gateway.config import Config, load_config
from gateway.engines.load import LoadMonitor
from gateway.errors import (
    GatewayError,
    InvalidRequestError,
    NotFoundError,
    RequestTooLargeError,
)
from gateway.experiments.stage import AssignVariant
from gateway.extras import MissingExtraError
from gateway.feedback.capture import CaptureTranscript
from gateway.feedback.service import Flywheel, build_flywheel
from gateway.gate import build_gate
from gateway.guard import build_guard_stage
from gateway.guard import team_check as guard_team_check
from gateway.intent import build_intent_routing
from gateway.labeling import routes as label_routes
from gateway.labeling.service import Labels, build_labels
from gateway.limits.limiter import RateLimiter
from gateway.limits.stage import Admit, SettleLimits
from gateway.pipeline.stages import Pipeline, Stage
from gateway.providers.transport import ProviderClient
from gateway.routing.dispatch import Dispatcher
from gateway.routing.health import HealthMonitor
from gateway.routing.models import ModelTable
from gateway.routing.router import Router
from gateway.telemetry import service as telemetry_service
from gateway.telemetry.pipeline_metrics import PipelineMetrics, RecordPipeline
from gateway.telemetry.service import Telemetry, build_telemetry
from gateway.wire.parse import ParseRequest

if TYPE_CHECKING:  # numpy and the embedder load only when a router is configured
    from gateway.intent.stage import IntentRouting

log = logging.getLogger("gateway")


@dataclass(slots=True)
class Gateway:
    """Everything a request needs, built once per process."""

    config: Config
    keys: KeyStore
    models: ModelTable
    clients: dict[str, ProviderClient]
    health: HealthMonitor
    pipeline: Pipeline
    started_at: int
    # Rate limits; ``limiter.mode`` / ``limiter.store_errors`` are for metrics, and
    # ``limiter.acquire_target`` is routing's hook for per-target provider quotas.
    limiter: RateLimiter
    # Engine load polling (engine-aware routing) and the routing decisions' own state.
    loads: LoadMonitor
    router: Router
    # AI-content labels (signer, verifier, public keys) and tracing/metrics.
    labels: Labels
    telemetry: Telemetry
    # Keys and teams from the admin API, budgets, prices and the usage ledger.
    books: Books
    # Feedback store, experiment switches, export redaction (gateway.feedback).
    flywheel: Flywheel
    # The response cache (None when off for every team): stage state and admin purge.
    cache: ResponseCache | None = None
    # Intent routers (None when the config has none): their embedders close with us.
    intents: IntentRouting | None = None

    def model_card(self, name: str) -> dict[str, Any]:
        route = self.models.resolve(name)
        owned_by = "gateway"
        if route is not None:
            owned_by = route.spec.owned_by or route.targets[0].provider
        return {"id": name, "object": "model", "created": self.started_at, "owned_by": owned_by}

    def listed_models(self) -> list[str]:
        """Model names a client can list: the table's, intent routers' and experiments'."""
        routed = [*self.config.intents, *(e.model for e in self.config.experiments.values())]
        return [*self.models.names(), *routed]

    def unready_models(self) -> list[str]:
        return [
            route.name
            for route in self.models.routes()
            if route.spec.required_for_ready
            and not any(self.health.is_up(t.provider) for t in route.targets)
        ]

    async def aclose(self) -> None:
        await self.health.stop()
        await self.loads.stop()
        for client in self.clients.values():
            await client.aclose()
        await self.limiter.aclose()
        # Flushes queued spans (bounded by the exporter timeout) off the event loop.
        await anyio.to_thread.run_sync(self.telemetry.shutdown)
        if self.cache is not None:
            await self.cache.aclose()
        if self.intents is not None:
            await self.intents.aclose()
        await self.flywheel.aclose()
        # Last: writes every queued usage record before the state store closes.
        await self.books.aclose()


def build_gateway(config: Config) -> Gateway:
    keys = KeyStore(config)
    models = ModelTable(config)
    clients = {name: ProviderClient(name, spec) for name, spec in config.providers.items()}
    health_monitor = HealthMonitor(clients)
    limiter = RateLimiter(config)
    telemetry = build_telemetry(
        config, lambda: {name: health_monitor.is_up(name) for name in clients}
    )
    labels = build_labels(config)
    books = open_books(config, keys, models)
    # Guardrails (None when no team has a policy). Its JSON-schema repair call goes
    # straight to the dispatcher, built below (the lambda looks it up when called).
    guard = build_guard_stage(config, lambda ctx: dispatcher(ctx))
    # Response cache (None when off everywhere); a provider embedder embeds through the
    # dispatcher's own embeddings route.
    cache = build_cache(
        config.cache,
        config.teams,
        config.state.url,
        embeddings_through(lambda ctx: dispatcher(ctx), models.resolve),
    )
    books.admin.team_checks += [guard_team_check(config), cache_team_check(cache)]
    # The LLM-application pipeline: intent routers (classifiers built here), experiment
    # switches and the feedback store, the confidence gate (None without policies).
    intents = build_intent_routing(config)
    pipeline_metrics = PipelineMetrics(telemetry.metrics.registry) if telemetry.metrics else None
    flywheel_parts = build_flywheel(
        config,
        pipeline_metrics,
        (lambda name: guard.policy_for(name, books.directory.team(name)))
        if guard
        else (lambda name: None),
    )
    gate = build_gate(config, lambda ctx: dispatcher(ctx), models.resolve)
    stages: list[Stage] = [
        # First: sees every request, wraps streams outermost, finishes with the final word.
        *([telemetry.stage] if telemetry.stage else []),
        Authenticate(keys, books.directory),
        ParseRequest(config.server),
        # Router and experiment names become the model they choose, before access checks.
        *([intents] if intents else []),
        *(
            [AssignVariant(config.experiments, flywheel_parts.switches)]
            if config.experiments
            else []
        ),
        ModelAccess(models),
        # Before cache and guard stages, so its leave labels what they leave behind.
        *([labels.stage] if labels.stage else []),
        Admit(limiter),
        BudgetAdmission(books),
        # Input rules on admitted requests; its leave runs after Settle's, before labels.
        *([guard] if guard else []),
        # Keeps opted-in teams' prompts (as redacted) and answers (as the gate left them).
        CaptureTranscript(flywheel_parts.store),
        # Judges the answer before the cache's leave (the cache keeps the upstream's
        # answer, log-probabilities included, so a hit is judged the same way).
        *([gate] if gate else []),
        # Lookup after admission and input rules; stores in finish, once output rules ran.
        *([CacheStage(cache)] if cache else []),
        # Keep last: its leave must see the answer as the upstream produced it.
        Settle(books),
        # Only finish hooks (no leave), after Settle's: rate-limit reservations settle
        # on the counted usage; then pipeline metrics, spans and the log line.
        SettleLimits(limiter),
        *([RecordPipeline(pipeline_metrics)] if pipeline_metrics else []),
        *([telemetry.conclude] if telemetry.conclude else []),
    ]
    loads = LoadMonitor.for_config(config, clients)
    metrics = telemetry.metrics
    if metrics is not None:  # circuit states and engine loads as Prometheus gauges
        models.watch_breakers(metrics.set_circuit_state)
        loads.watch(
            lambda name, s: metrics.set_engine_load(
                name, waiting=s.waiting, running=s.running, kv_cache_utilization=s.kv
            )
        )
    router = Router(health_monitor.is_up, loads.fresh)
    dispatcher = Dispatcher(
        models, clients, health_monitor, router, admit_target=limiter.acquire_target
    )
    pipeline = Pipeline(stages, dispatcher)
    return Gateway(
        config=config,
        keys=keys,
        models=models,
        clients=clients,
        health=health_monitor,
        pipeline=pipeline,
        started_at=int(time.time()),
        limiter=limiter,
        loads=loads,
        router=router,
        labels=labels,
        telemetry=telemetry,
        books=books,
        flywheel=flywheel_parts,
        cache=cache,
        intents=intents,
    )


def create_app(config: Config) -> Litestar:
    gateway = build_gateway(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        gateway.health.start()
        await gateway.books.start()
        gateway.loads.start()
        if gateway.cache is not None:
            await gateway.cache.start()
        await gateway.flywheel.start()
        try:
            yield
        finally:
            await gateway.aclose()

    return Litestar(
        route_handlers=[
            *openai.ROUTES,
            *health.ROUTES,
            *admin.ROUTES,
            *label_routes.ROUTES,
            *telemetry_service.ROUTES,
            *cache_api.ROUTES,
            *flywheel.ROUTES,
        ],
        lifespan=[lifespan],
        exception_handlers={HTTPException: _http_error, Exception: _unexpected_error},
        request_max_body_size=config.server.max_body_bytes,
        openapi_config=openapi_config(),
        logging_config=None,
        state=_state(gateway),
    )


def create_app_from_env() -> Litestar:
    """Entry point for ``uvicorn --factory`` workers: config from ``$GATEWAY_CONFIG``.
    ``gateway serve`` checked the extras before starting workers; a worker started some
    other way still says in one line which extra is missing."""
    try:
        return create_app(load_config())
    except MissingExtraError as exc:
        log.error("cannot start: %s", exc)
        raise SystemExit(1) from None


def _state(gateway: Gateway) -> Any:
    from litestar.datastructures import State

    return State({"gateway": gateway})


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    """Framework-level errors (unknown route, wrong method, oversized body) in OpenAI's shape."""
    rid = request_id(request.headers)
    error: GatewayError
    if exc.status_code == 404:
        error = NotFoundError(
            f"Invalid URL ({request.method} {request.url.path})", code="unknown_url"
        )
    elif exc.status_code == 405:
        error = InvalidRequestError(
            f"Method {request.method} is not allowed on {request.url.path}.",
            code="method_not_allowed",
        )
        response = error_response(error, rid)
        response.status_code = 405
        return response
    elif exc.status_code == 413:
        error = RequestTooLargeError("The request body is too large.")
    else:
        error = InvalidRequestError(str(exc.detail) or "Bad request.")
    return error_response(error, rid)


def _unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(
        GatewayError("The server had an error while processing your request."),
        request_id(request.headers),
    )

"""The app factory: builds every component from the config once and wires the pipeline.

Start-up does all the work that can be done ahead of requests (key digests, model
table, translator lookups, connection pools); requests only look things up. Shared
services are built once, in dependency order: the state backend, then whoever needs it
(accounting), the dispatcher (the "call upstream" handle) before the stages that call it,
then the stages in pipeline order. ``Gateway.running`` pairs every start with its stop.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio
from litestar import Litestar

from gateway.accounting.budget import BudgetAdmission
from gateway.accounting.service import Accounting, open_accounting
from gateway.accounting.settle import Settle
from gateway.api.direct_routes import GatewayApp
from gateway.api.errors import EXCEPTION_HANDLERS
from gateway.api.openapi import openapi_config
from gateway.api.parse import ParseRequest
from gateway.api.routes import ROUTES
from gateway.api.services import GatewayServices
from gateway.auth.authenticate import Authenticate
from gateway.auth.authorize import ModelAccess
from gateway.auth.keys import KeyStore
from gateway.cache.service import ResponseCache, build_cache, embeddings_through
from gateway.cache.service import team_check as cache_team_check
from gateway.cache.stage import CacheStage
from gateway.confidence import build_gate
from gateway.config import Config, load_config
from gateway.conversations.store import ResponseStore, open_response_store
from gateway.embedding.service import Embedders
from gateway.engines.load import LoadMonitor
from gateway.experiments.stage import AssignVariant, Switches
from gateway.extras import MissingExtraError
from gateway.feedback.capture import CaptureTranscript
from gateway.feedback.service import Feedback, build_feedback
from gateway.feedback.store import open_feedback_store
from gateway.guard import build_guard_stage
from gateway.guard import team_check as guard_team_check
from gateway.guard.export_redaction import redaction_for as export_redaction
from gateway.intent import build_intent_routing
from gateway.labeling.service import Labels, build_labels
from gateway.limits.limiter import RateLimiter
from gateway.limits.stage import Admit
from gateway.pipeline.stages import Pipeline, Stage
from gateway.providers.transport import ProviderClient
from gateway.routing.dispatch import Dispatcher
from gateway.routing.health import HealthMonitor
from gateway.routing.models import ModelTable
from gateway.routing.router import Router
from gateway.state import StateBackend, open_state, state_path
from gateway.telemetry.service import Telemetry, build_telemetry

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
    # The one state backend (embedded or Redis): keys, teams, budgets, the ledger.
    state: StateBackend
    # Keys and teams from the admin API, budgets, prices and the usage ledger.
    accounting: Accounting
    # Feedback store, experiment switches, export redaction (gateway.feedback).
    feedback: Feedback
    # Experiment switches (on/off per experiment), kept in the feedback store.
    switches: Switches
    # The response cache (None when off for every team): stage state and admin purge.
    cache: ResponseCache | None = None
    # Text embedders shared by the semantic cache and the intent routers.
    embedders: Embedders = field(default_factory=Embedders)
    # Stored Responses API responses, per team (``previous_response_id``, GET/DELETE).
    responses_store: ResponseStore | None = None

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

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Start what runs in the background, each paired with its stop on one exit
        stack: stops run in reverse, and a failed start stops only what had started.

        The state backend opens first and closes last, after the accounting wrote every
        queued usage record; the health and load pollers start last and stop first.
        """
        async with contextlib.AsyncExitStack() as stack:
            await self.state.start()
            stack.push_async_callback(self.state.aclose)
            await self.accounting.start()
            stack.push_async_callback(self.accounting.aclose)
            await self.feedback.start()
            stack.push_async_callback(self.feedback.aclose)
            await self.switches.start()
            stack.push_async_callback(self.switches.stop)
            if self.responses_store is not None:
                await self.responses_store.start()
                stack.push_async_callback(self.responses_store.aclose)
            # Closed after the cache and the intent routers that embed with it.
            stack.push_async_callback(self.embedders.aclose)
            if self.cache is not None:
                await self.cache.start()
                stack.push_async_callback(self.cache.aclose)
            # Flushes queued spans (bounded by the exporter timeout) off the event loop.
            stack.push_async_callback(anyio.to_thread.run_sync, self.telemetry.shutdown)
            stack.push_async_callback(self.limiter.aclose)
            for client in self.clients.values():
                stack.push_async_callback(client.aclose)
            metrics = self.telemetry.metrics
            if metrics is not None:
                metrics.start()
                stack.push_async_callback(metrics.stop)
            self.loads.start()
            stack.push_async_callback(self.loads.stop)
            self.health.start()
            stack.push_async_callback(self.health.stop)
            # What start-up built lives as long as the worker: move it out of the
            # collector's reach, or every full collection walks it again (a pause of
            # 10 ms and more, which was the paced p99).
            gc.collect()
            gc.freeze()
            yield


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
    # One state backend, opened first (started first, closed last by ``running``), and
    # the feedback store beside it (a file next to the state file, or the same Redis).
    state = open_state(config)
    feedback_store = open_feedback_store(config.state.url, state_path(config))
    accounting = open_accounting(config, keys, models, state)
    # The "call upstream" handle, built before every stage that goes upstream again
    # (guard's JSON repair, the confidence gate's retry, the cache's embeddings).
    loads = LoadMonitor.for_config(config, clients)
    router = Router(health_monitor.is_up, loads.fresh)
    dispatcher = Dispatcher(
        models, clients, health_monitor, router, admit_target=limiter.acquire_target
    )
    # Guardrails (None when no team has a policy).
    guard = build_guard_stage(config, dispatcher)
    # Response cache (None when off everywhere); a provider embedder embeds through the
    # dispatcher's own embeddings route.
    # One embedder service: the semantic cache and the intent routers share its models
    # (in this process, or in the model host that ``gateway serve`` runs for its workers).
    embedders = Embedders.for_process()
    cache = build_cache(
        config.cache,
        config.teams,
        config.state.url,
        embeddings_through(dispatcher, models.resolve),
        embedders,
    )
    accounting.admin.team_checks += [guard_team_check(config), cache_team_check(cache)]
    # The LLM-application pipeline: intent routers (classifiers built here), experiment
    # switches and the feedback store, the confidence gate (None without policies).
    intents = build_intent_routing(config, embedders)
    pipeline_metrics = telemetry.pipeline_metrics
    feedback = build_feedback(
        config,
        feedback_store,
        pipeline_metrics,
        lambda name: export_redaction(
            guard.policy_for(name, accounting.directory.team(name)) if guard else None
        ),
    )
    switches = Switches(config.experiments, feedback.store)
    gate = build_gate(config, dispatcher.on_route, models.resolve)
    stages: list[Stage] = [
        # First: sees every request, wraps streams outermost, finishes last with the final
        # word (spans, metrics, log line); pipeline metrics are recorded there too.
        *([telemetry.stage] if telemetry.stage else []),
        Authenticate(keys, accounting.directory),
        ParseRequest(config.server),
        # Router and experiment names become the model they choose, before access checks.
        *([intents] if intents else []),
        *([AssignVariant(config.experiments, switches)] if config.experiments else []),
        ModelAccess(models),
        # Before cache and guard stages, so its leave labels what they leave behind.
        *([labels.stage] if labels.stage else []),
        # Finishes after Settle (inner): reservations settle on the counted usage.
        Admit(limiter),
        BudgetAdmission(accounting),
        # Input rules on admitted requests; its leave runs after Settle's, before labels.
        *([guard] if guard else []),
        # Keeps opted-in teams' prompts (as redacted) and answers (as the gate left them).
        CaptureTranscript(feedback.store),
        # Judges the answer before the cache's leave (the cache keeps the upstream's
        # answer, log-probabilities included, so a hit is judged the same way).
        *([gate] if gate else []),
        # Lookup after admission and input rules; stores in finish, once output rules ran.
        *([CacheStage(cache)] if cache else []),
        # Keep last: its leave must see the answer as the upstream produced it, and its
        # finish (the first to run) settles usage and cost for every stage outside it.
        Settle(accounting),
    ]
    metrics = telemetry.metrics
    if metrics is not None:  # circuit states and engine loads as Prometheus gauges
        models.watch_breakers(metrics.set_circuit_state)
        loads.watch(
            lambda name, s: metrics.set_engine_load(
                name, waiting=s.waiting, running=s.running, kv_cache_utilization=s.kv
            )
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
        state=state,
        accounting=accounting,
        feedback=feedback,
        switches=switches,
        cache=cache,
        embedders=embedders,
        responses_store=open_response_store(config.state.url, state_path(config)),
    )


def create_app(config: Config) -> Litestar:
    gateway = build_gateway(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with gateway.running():
            yield

    return GatewayApp(
        route_handlers=ROUTES,
        lifespan=[lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
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


def _state(gateway: GatewayServices) -> Any:
    """Routes reach the gateway through ``api.services`` (typed as this protocol)."""
    from litestar.datastructures import State

    return State({"gateway": gateway})

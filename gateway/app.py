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
from typing import Any

from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException

from gateway.api import health, openai
from gateway.api.responses import error_response, request_id
from gateway.auth.authenticate import Authenticate
from gateway.auth.authorize import ModelAccess
from gateway.auth.keys import KeyStore
from gateway.config import Config, load_config
from gateway.errors import (
    GatewayError,
    InvalidRequestError,
    NotFoundError,
    RequestTooLargeError,
)
from gateway.pipeline.stages import Pipeline, Stage
from gateway.providers.transport import ProviderClient
from gateway.routing.dispatch import Dispatcher
from gateway.routing.health import HealthMonitor
from gateway.routing.models import ModelTable
from gateway.telemetry.access_log import AccessLog
from gateway.wire.parse import ParseRequest

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

    def model_card(self, name: str) -> dict[str, Any]:
        route = self.models.resolve(name)
        owned_by = "gateway"
        if route is not None:
            owned_by = route.spec.owned_by or route.targets[0].provider
        return {"id": name, "object": "model", "created": self.started_at, "owned_by": owned_by}

    def unready_models(self) -> list[str]:
        return [
            route.name
            for route in self.models.routes()
            if route.spec.required_for_ready
            and not any(self.health.is_up(t.provider) for t in route.targets)
        ]

    async def aclose(self) -> None:
        await self.health.stop()
        for client in self.clients.values():
            await client.aclose()


def build_gateway(config: Config) -> Gateway:
    keys = KeyStore(config)
    models = ModelTable(config)
    clients = {name: ProviderClient(name, spec) for name, spec in config.providers.items()}
    health_monitor = HealthMonitor(clients)
    stages: list[Stage] = [
        AccessLog(),
        Authenticate(keys),
        ParseRequest(),
        ModelAccess(models),
    ]
    pipeline = Pipeline(stages, Dispatcher(models, clients, health_monitor))
    return Gateway(
        config=config,
        keys=keys,
        models=models,
        clients=clients,
        health=health_monitor,
        pipeline=pipeline,
        started_at=int(time.time()),
    )


def create_app(config: Config) -> Litestar:
    gateway = build_gateway(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        gateway.health.start()
        try:
            yield
        finally:
            await gateway.aclose()

    return Litestar(
        route_handlers=[*openai.ROUTES, *health.ROUTES],
        lifespan=[lifespan],
        exception_handlers={HTTPException: _http_error, Exception: _unexpected_error},
        request_max_body_size=config.server.max_body_bytes,
        openapi_config=None,
        logging_config=None,
        state=_state(gateway),
    )


def create_app_from_env() -> Litestar:
    """Entry point for ``uvicorn --factory`` workers: config from ``$GATEWAY_CONFIG``."""
    return create_app(load_config())


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

"""The model table: what a client's model name means, resolved once per request.

Exact names come first. A name ending in ``*`` (``openai/*``) is a prefix route: its
targets' ``*`` is replaced by the rest of the client's name, so one entry can expose a
provider's whole catalogue. Everything is built at start-up (targets, their price for
the cost strategy, their runtime state); a lookup is a dict hit.

The rest of a prefix route's name comes from the client and travels on: into upstream
URLs (Azure deployments), the ``x-gateway-target`` header, logs and metrics. Only model
names as providers spell them pass (``gpt-4o``, ``ft:gpt-4o-mini:org::id``,
``Qwen/Qwen2.5-7B-Instruct``, ``llama3:8b``); anything else (``..`` segments, ``?``,
``#``, spaces, control or non-ASCII characters) resolves to nothing, a 404.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gateway.config.schema import Config, Model, Price, Target
from gateway.pipeline.context import Slot
from gateway.providers.base import Native
from gateway.providers.capabilities import capabilities_for
from gateway.providers.registry import engine_load
from gateway.routing.breaker import BreakerListener
from gateway.routing.config import Breaker, RoutingPolicy
from gateway.routing.state import TargetState
from gateway.wire.types import Usage

_MAX_CACHED_PREFIX_ROUTES = 4096
# Segments separated by single slashes, each starting with a letter or digit.
_UPSTREAM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+-]*(?:/[A-Za-z0-9][A-Za-z0-9._:@+-]*)*")


@dataclass(frozen=True, slots=True)
class RouteTarget:
    provider: str
    model: str
    weight: float
    # The provider's kind, and whether it reports engine load (the engines of
    # engine-aware routing; declared by the provider, see providers.registry).
    kind: str = "openai"
    # Blended USD per million tokens (3 input : 1 output), None when unknown.
    cost: float | None = None
    engine_load: bool = False
    # What this process has seen of it; one per (model, target), made by the table.
    state: TargetState = field(
        default_factory=lambda: TargetState("", Breaker()), compare=False, repr=False
    )
    # The config's model entry this target belongs to (``models.<owner>``; a prefix
    # route's is its pattern, ``openai/*``): its price applies to the calls it makes.
    owner: str = ""
    # The most it may generate for a request that sets no output cap: the model's
    # ceiling (policies/capabilities.yaml), or the provider's ``max_tokens`` if larger.
    # Admission reserves it: that is what a translator lets the upstream produce.
    max_output: int = 0
    # "provider/model": names the target in headers, logs and metrics.
    label: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "label", f"{self.provider}/{self.model}")


@dataclass(frozen=True, slots=True)
class ModelRoute:
    name: str
    targets: tuple[RouteTarget, ...]
    fallbacks: tuple[str, ...]
    spec: Model

    @property
    def policy(self) -> RoutingPolicy:
        return self.spec.routing


# The model the request resolved to (model access) and the target that answered it
# (the dispatcher; None for a cache hit).
ROUTE: Slot[ModelRoute] = Slot("route")
TARGET: Slot[RouteTarget] = Slot("target")
# Set by a client surface's route (Responses, Messages): its own body, which a target
# serving that surface natively receives instead of the chat view (``providers.base``).
NATIVE: Slot[Native] = Slot("native")


@dataclass(frozen=True, slots=True)
class UpstreamCall:
    """One answer an upstream gave for this request, and its usage (None for a stream,
    whose usage is known only at its end): a request that calls upstream more than once
    (a confidence-gate retry on a stronger model, a guard's repair call) is priced per
    call, each at its own target's price."""

    target: RouteTarget
    usage: Usage | None


CALLS: Slot[list[UpstreamCall]] = Slot("calls")


class ModelTable:
    def __init__(self, config: Config) -> None:
        self._config = config
        self._breaker_listener: BreakerListener | None = None
        self._exact: dict[str, ModelRoute] = {}
        self._prefixes: list[tuple[str, Model]] = []
        self._resolved: dict[str, ModelRoute] = {}
        for name, spec in config.models.items():
            if name.endswith("*"):
                self._prefixes.append((name[:-1], spec))
            else:
                self._exact[name] = self._route(name, spec, "")
        # Longest prefix wins.
        self._prefixes.sort(key=lambda item: len(item[0]), reverse=True)

    def resolve(self, name: str) -> ModelRoute | None:
        route = self._exact.get(name) or self._resolved.get(name)
        if route is not None:
            return route
        for prefix, spec in self._prefixes:
            rest = name[len(prefix) :]
            if name.startswith(prefix) and rest and _UPSTREAM_NAME.fullmatch(rest):
                route = self._route(name, spec, rest)
                if len(self._resolved) < _MAX_CACHED_PREFIX_ROUTES:
                    self._resolved[name] = route
                return route
        return None

    def names(self) -> list[str]:
        """Names a client can list; prefix routes are not enumerable."""
        return list(self._exact)

    def routes(self) -> list[ModelRoute]:
        return list(self._exact.values())

    def resolved_routes(self) -> list[ModelRoute]:
        """Every route with runtime state: exact ones and prefix routes seen so far."""
        return [*self._exact.values(), *self._resolved.values()]

    def watch_breakers(self, listener: BreakerListener) -> None:
        """Report every breaker transition (names are ``model->provider/model``)."""
        self._breaker_listener = listener
        for route in self.resolved_routes():
            for target in route.targets:
                target.state.breaker.listener = listener

    def _route(self, name: str, spec: Model, rest: str) -> ModelRoute:
        targets = []
        for t in spec.targets:
            model = t.model.replace("*", rest) if rest else t.model
            provider = self._config.providers[t.provider]
            label = f"{t.provider}/{model}"
            targets.append(
                RouteTarget(
                    t.provider,
                    model,
                    t.weight,
                    provider.kind,
                    self._cost(t, model, spec),
                    engine_load(provider.kind),
                    TargetState(f"{name}->{label}", spec.routing.breaker),
                    owner=f"{name[: len(name) - len(rest)]}*" if rest else name,
                    max_output=max(
                        provider.max_tokens or 0,
                        capabilities_for(
                            provider.kind, model, provider.capabilities
                        ).max_output_tokens,
                    ),
                )
            )
        if self._breaker_listener is not None:
            for target in targets:
                target.state.breaker.listener = self._breaker_listener
        return ModelRoute(name, tuple(targets), tuple(spec.fallbacks), spec)

    def _cost(self, target: Target, model: str, spec: Model) -> float | None:
        """The target's own price, else the price of a configured model named like the
        target's upstream model, else the model's. (The shared price table will take
        over this lookup once it exists.)"""
        upstream = self._config.models.get(model)
        price: Price | None = target.price or (upstream.price if upstream else None) or spec.price
        if price is None:
            return None
        return (3 * price.input + price.output) / 4

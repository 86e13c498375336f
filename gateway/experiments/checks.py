"""Cross-reference checks of the ``experiments:`` section against the whole config.

Apart from the section's types (``config.py``, which the schema imports) so that the
loader can call them without an import circle; ``ConfigError`` is imported when a
check runs, since importing ``gateway.config`` runs the loader, which imports this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.config.schema import Config


def check_experiments(config: Config) -> None:
    """Variants name models; an experiment's model name is its own (no model, router or
    other experiment has it); variant names are unique."""
    from gateway.config.errors import ConfigError

    owners: dict[str, str] = {}
    for name, experiment in config.experiments.items():
        path = f"experiments.{name}"
        taken = experiment.model in config.models or experiment.model in config.intents
        if taken or experiment.model in owners:
            raise ConfigError(f"{path}.model", f"{experiment.model!r} is already a model name")
        owners[experiment.model] = name
        seen: set[str] = set()
        for i, variant in enumerate(experiment.variants):
            if variant.name in seen:
                raise ConfigError(f"{path}.variants[{i}].name", "duplicate variant name")
            seen.add(variant.name)
            if variant.model not in config.models:
                raise ConfigError(f"{path}.variants[{i}].model", f"unknown model {variant.model!r}")

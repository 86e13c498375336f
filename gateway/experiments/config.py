"""The ``experiments:`` section: a model name split between variants by weight.

Assignment is sticky per end user: the ``user`` (or ``safety_identifier``) field of the
request, else the ``user_header``; a request with neither is assigned at random and
counted as such. ``active: false`` starts the experiment stopped (every request goes to
the first variant, the control); the admin API starts and stops it at run time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from msgspec import Meta, Struct

if TYPE_CHECKING:
    from gateway.config.schema import Config


class _Base(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class Variant(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: str
    # A model name in ``models``.
    model: str
    weight: Annotated[float, Meta(gt=0)] = 1.0


class Experiment(_Base, frozen=True, forbid_unknown_fields=True, kw_only=True):
    # The model name clients send; must not also be a name in ``models``.
    model: str
    variants: Annotated[list[Variant], Meta(min_length=2)]
    active: bool = True
    user_header: str = "x-gateway-user"
    # Changing the salt reshuffles every user (a new experiment on the same name).
    salt: str = ""


def check_experiments(config: Config) -> None:
    """Variants name models; an experiment's model name is its own (no model, router or
    other experiment has it); variant names are unique."""
    from gateway.config.loader import ConfigError

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

"""The ``experiments:`` section: a model name split between variants by weight.

Assignment is sticky per end user: the ``user`` (or ``safety_identifier``) field of the
request, else the ``user_header``; a request with neither is assigned at random and
counted as such. ``active: false`` starts the experiment stopped (every request goes to
the first variant, the control); the admin API starts and stops it at run time.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct


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

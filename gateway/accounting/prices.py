"""What a request costs: the price table, resolved per target, and cost arithmetic.

Money is counted in integer nano-dollars (1e-9 USD) everywhere it is summed (budgets,
spend counters, the ledger), so totals never drift the way float sums do, and Redis
can add them with HINCRBY. A price of $0.15 per million tokens is 150 nano-dollars per
token.

A target's price, first match wins: the config's ``targets[].price``; the price
table's ``targets["provider/model"]``; the config's ``models.<name>.price`` of the model
that owns the target (each model entry its own, even when two entries name the same
deployment); the table's ``models[<upstream model>]`` (a dated snapshot
``gpt-4o-2024-08-06`` falls back to ``gpt-4o``); the table's ``models[<client model>]``.
The table is ``policies/prices.yaml`` overlaid by ``accounting.prices``. A model with no
price is logged once; teams with a budget cannot use it (``budget``), others are
charged nothing for it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec
import yaml

from gateway.accounting.config import Accounting, ModelPrice, PriceTable
from gateway.config.schema import Config
from gateway.routing.models import ModelRoute, RouteTarget

log = logging.getLogger("gateway.accounting")

PRICES_FILE = "prices.yaml"
_DATED = re.compile(r"-\d{4}-\d{2}-\d{2}$|-\d{4}$")


@dataclass(frozen=True, slots=True)
class Rate:
    """Nano-dollars per token."""

    input: float
    cached_input: float
    output: float

    def cost(self, prompt: int, completion: int, cached: int = 0) -> int:
        cached = min(max(cached, 0), prompt)
        return round(
            (prompt - cached) * self.input + cached * self.cached_input + completion * self.output
        )


FREE = Rate(0.0, 0.0, 0.0)


def rate_of(price: ModelPrice | None) -> Rate | None:
    if price is None:
        return None
    cached = price.cached_input if price.cached_input is not None else price.input
    return Rate(price.input * 1000, cached * 1000, price.output * 1000)


def load_table(accounting: Accounting) -> PriceTable:
    """The price file (the shipped one unless ``prices_file`` names another), overlaid
    by the config's own ``accounting.prices``."""
    path = Path(accounting.prices_file) if accounting.prices_file else default_prices_path()
    base = PriceTable()
    if path is not None:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        base = msgspec.convert(raw, PriceTable, strict=False)
    extra = accounting.prices
    return PriceTable(
        models={**base.models, **extra.models}, targets={**base.targets, **extra.targets}
    )


def default_prices_path() -> Path | None:
    package_dir = Path(__file__).resolve().parent.parent
    for candidate in (package_dir.parent / "policies", package_dir / "policies"):
        if (candidate / PRICES_FILE).is_file():
            return candidate / PRICES_FILE
    return None


class Prices:
    """Per-target rates, resolved once per (owning model, target) and then looked up by
    dict. Two model names over one deployment keep their own prices: a target is priced
    by the model entry it belongs to, not by whichever entry names it first."""

    def __init__(self, config: Config, table: PriceTable) -> None:
        self._config = config
        self._table = table
        self._resolved: dict[tuple[str, str], Rate | None] = {}
        self._worst: dict[str, Rate] = {}
        self._unpriced: set[str] = set()

    def for_target(self, target: RouteTarget, client_model: str) -> Rate:
        """The target's rate; FREE (logged once) when no price is known."""
        return self.known(target, client_model) or FREE

    def known(self, target: RouteTarget, client_model: str) -> Rate | None:
        """The target's rate, or None when neither the config nor the table prices it."""
        key = (target.owner or client_model, target.label)
        if key in self._resolved:
            return self._resolved[key]
        rate = self._resolve(target, client_model)
        if len(self._resolved) < 8192:
            self._resolved[key] = rate
        return rate

    def worst_case(self, route: ModelRoute, candidates: Callable[[], list[RouteTarget]]) -> Rate:
        """The highest input and output rates among every target that may answer."""
        rate = self._worst.get(route.name)
        if rate is None:
            rates = [self.for_target(t, route.name) for t in candidates()] or [FREE]
            rate = Rate(
                max(r.input for r in rates),
                max(r.cached_input for r in rates),
                max(r.output for r in rates),
            )
            if len(self._worst) < 8192:
                self._worst[route.name] = rate
        return rate

    def unpriced(self, candidates: list[RouteTarget], client_model: str) -> list[str]:
        """Labels of the targets that may answer and have no known price."""
        return [t.label for t in candidates if self.known(t, client_model) is None]

    def _owned(self, target: RouteTarget, owner: str) -> tuple[Rate | None, Rate | None]:
        """The config's own prices for the target: its ``targets[].price`` and its
        model's ``price``, from the model entry that owns it."""
        spec = self._config.models.get(owner)
        if spec is None:
            return None, None
        own = None
        for entry in spec.targets:
            if entry.provider == target.provider and _matches(entry.model, target.model):
                own = rate_of(_as_price(getattr(entry, "price", None)))
                break
        return own, rate_of(_as_price(spec.price))

    def _resolve(self, target: RouteTarget, client_model: str) -> Rate | None:
        label = target.label
        target_rate, model_rate = self._owned(target, target.owner or client_model)
        found = (
            target_rate
            or rate_of(self._table.targets.get(label))
            or model_rate
            or self._model_rate(target.model)
            or self._model_rate(client_model)
            or rate_of(self._config.accounting.unpriced)
        )
        if found is None and label not in self._unpriced:
            self._unpriced.add(label)
            log.warning(
                "no price for %s (model %s): add it to policies/prices.yaml or "
                "accounting.prices (teams with a budget cannot use it until then)",
                label,
                client_model,
            )
        return found

    def _model_rate(self, model: str) -> Rate | None:
        models = self._table.models
        for name in (model, model.rsplit("/", 1)[-1]):
            price = models.get(name) or models.get(_DATED.sub("", name))
            if price is not None:
                return rate_of(price)
        return None


def _as_price(price: object) -> ModelPrice | None:
    """The config schema's ``Price`` has the same fields as ``ModelPrice``."""
    if price is None:
        return None
    return ModelPrice(
        input=getattr(price, "input", 0.0),
        output=getattr(price, "output", 0.0),
        cached_input=getattr(price, "cached_input", None),
    )


def _matches(pattern: str, model: str) -> bool:
    """A config target's model (``gpt-4o`` or a prefix route's ``*`` template) against
    the upstream model a route resolved it to."""
    if "*" not in pattern:
        return pattern == model
    before, _, after = pattern.partition("*")
    return (
        model.startswith(before) and model.endswith(after) and len(model) > len(before) + len(after)
    )

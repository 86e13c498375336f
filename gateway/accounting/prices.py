"""What a request costs: the price table, resolved per target, and cost arithmetic.

Money is counted in integer nano-dollars (1e-9 USD) everywhere it is summed (budgets,
spend counters, the ledger), so totals never drift the way float sums do, and Redis
can add them with HINCRBY. A price of $0.15 per million tokens is 150 nano-dollars per
token.

A target's price, first match wins: the config's ``targets[].price``; the price
table's ``targets["provider/model"]``; the config's ``models.<name>.price`` of the model
that owns the target; the table's ``models[<upstream model>]`` (a dated snapshot
``gpt-4o-2024-08-06`` falls back to ``gpt-4o``); the table's ``models[<client model>]``.
The table is ``policies/prices.yaml`` overlaid by ``accounting.prices``. A model with
no price costs nothing and is logged once, so a missing price is visible, not silent.
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
    """Per-target rates, resolved once and then looked up by dict."""

    def __init__(self, config: Config, table: PriceTable) -> None:
        self._table = table
        self._config_targets: dict[str, Rate] = {}
        self._config_models: dict[str, Rate] = {}
        # Prefix routes' targets (``provider/openai-*``): matched on the provider and the
        # text around the ``*``, since their labels carry the client's model name.
        self._wildcards: list[tuple[str, str, str, Rate]] = []
        for spec in config.models.values():
            model_rate = rate_of(_as_price(spec.price))
            for target in spec.targets:
                label = f"{target.provider}/{target.model}"
                target_rate = rate_of(_as_price(getattr(target, "price", None)))
                if "*" in target.model and (target_rate or model_rate) is not None:
                    before, _, after = target.model.partition("*")
                    rate = target_rate or model_rate
                    assert rate is not None
                    self._wildcards.append((target.provider, before, after, rate))
                    continue
                if target_rate is not None:
                    self._config_targets.setdefault(label, target_rate)
                if model_rate is not None:
                    self._config_models.setdefault(label, model_rate)
        self._resolved: dict[tuple[str, str], Rate] = {}
        self._worst: dict[str, Rate] = {}
        self._unpriced: set[str] = set()

    def for_target(self, target: RouteTarget, client_model: str) -> Rate:
        key = (target.label, client_model)
        rate = self._resolved.get(key)
        if rate is None:
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

    def _wildcard_rate(self, target: RouteTarget) -> Rate | None:
        for provider, before, after, rate in self._wildcards:
            model = target.model
            if (
                provider == target.provider
                and model.startswith(before)
                and model.endswith(after)
                and len(model) > len(before) + len(after)
            ):
                return rate
        return None

    def _resolve(self, target: RouteTarget, client_model: str) -> Rate:
        label = target.label
        found = (
            self._config_targets.get(label)
            or rate_of(self._table.targets.get(label))
            or self._config_models.get(label)
            or self._wildcard_rate(target)
            or self._model_rate(target.model)
            or self._model_rate(client_model)
        )
        if found is None:
            if label not in self._unpriced:
                self._unpriced.add(label)
                log.warning(
                    "no price for %s (model %s): its requests cost 0 in the ledger; "
                    "add it to policies/prices.yaml or accounting.prices",
                    label,
                    client_model,
                )
            return FREE
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

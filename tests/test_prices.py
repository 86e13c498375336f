"""Prices, periods and the accounting config: resolution order, integer arithmetic,
UTC period boundaries, and config errors that name the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.accounting.periods import periods_at
from gateway.accounting.prices import Prices, load_table
from gateway.accounting.settle import format_usd
from gateway.config import ConfigError, parse_config
from gateway.routing.models import ModelTable

CONFIG = """
providers:
  oa: {kind: openai, base_url: "https://api.openai.com/v1"}
  az: {kind: openai, base_url: "https://az.example/v1"}
  local: {kind: openai-compatible, base_url: "http://127.0.0.1:1/v1"}
accounting:
  prices:
    targets:
      "az/gpt-4o": {input: 3, output: 11}
models:
  gpt-4o:
    targets:
      - {provider: oa, model: gpt-4o}
      - {provider: az, model: gpt-4o}
      - {provider: oa, model: gpt-4o-2024-08-06, price: {input: 9, output: 9}}
    fallbacks: [cheap]
  cheap: {targets: [{provider: oa, model: gpt-4o-mini-2024-07-18}]}
  house:
    targets: [{provider: local, model: mystery}]
    price: {input: 0.5, output: 1}
  unknown: {targets: [{provider: local, model: nobody-prices-this}]}
"""


def _prices() -> tuple[Prices, ModelTable]:
    config = parse_config(CONFIG, env={})
    return Prices(config, load_table(config.accounting)), ModelTable(config)


@pytest.mark.parametrize(
    ("model", "index", "rate"),
    [
        ("gpt-4o", 0, (2500, 1250, 10000)),  # policies/prices.yaml: gpt-4o
        ("gpt-4o", 1, (3000, 3000, 11000)),  # accounting.prices.targets wins
        ("gpt-4o", 2, (9000, 9000, 9000)),  # the config's targets[].price wins over all
        ("cheap", 0, (150, 75, 600)),  # dated snapshot -> gpt-4o-mini
        ("house", 0, (500, 500, 1000)),  # the config's models.<name>.price
        ("unknown", 0, (0, 0, 0)),  # unpriced: free (and logged)
    ],
    ids=["table", "table-target", "config-target", "dated", "config-model", "unpriced"],
)
def test_price_resolution(model: str, index: int, rate: tuple[float, float, float]) -> None:
    prices, table = _prices()
    route = table.resolve(model)
    assert route is not None
    found = prices.for_target(route.targets[index], model)
    assert (found.input, found.cached_input, found.output) == pytest.approx(rate)


def test_worst_case_covers_every_target_and_fallback() -> None:
    prices, table = _prices()
    route = table.resolve("gpt-4o")
    assert route is not None
    cheap = table.resolve("cheap")
    assert cheap is not None
    worst = prices.worst_case(route, lambda: [*route.targets, *cheap.targets])
    assert (worst.input, worst.output) == (9000, 11000)


def test_costs_are_integer_nano_dollars() -> None:
    prices, table = _prices()
    route = table.resolve("cheap")
    assert route is not None
    rate = prices.for_target(route.targets[0], "cheap")
    # 1000 prompt tokens of which 400 cached, 500 completion tokens on gpt-4o-mini:
    # 600 x 0.15 + 400 x 0.075 + 500 x 0.60 = 420 micro-dollars.
    assert rate.cost(1000, 500, 400) == 420_000
    assert format_usd(420_000) == "0.00042" and format_usd(0) == "0"


@pytest.mark.parametrize(
    ("moment", "ids", "month_ends", "day_left"),
    [
        ("2025-06-14T23:59:59", ("d2025-06-14", "w2025-24", "m2025-06", "t"), "2025-07-01", 1),
        ("2025-12-31T12:00:00", ("d2025-12-31", "w2026-01", "m2025-12", "t"), "2026-01-01", 43200),
    ],
    ids=["mid-year", "iso-week-of-next-year"],
)
def test_periods_are_utc_calendar(
    moment: str, ids: tuple[str, ...], month_ends: str, day_left: int
) -> None:
    at = datetime.fromisoformat(moment).replace(tzinfo=UTC).timestamp()
    periods = periods_at(at)
    assert periods.ids == ids
    assert periods.ends[2] == datetime.fromisoformat(month_ends).replace(tzinfo=UTC).timestamp()
    assert periods.seconds_left("daily", at) == day_left
    assert periods.seconds_left("total", at) is None


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("accounting: {budget_period: yearly}", "accounting.budget_period"),
        ("accounting: {prices: {models: {x: {input: -1}}}}", "accounting.prices.models"),
        ("accounting: {colour: red}", "accounting.colour"),
        ('state: {url: "postgres://db/x"}', "state.url"),
        ("teams: {t: {budget_period: hourly}}", "teams.t.budget_period"),
    ],
    ids=["period", "negative-price", "unknown-field", "state-url", "team-period"],
)
def test_config_errors_name_the_field(text: str, path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, env={})
    assert caught.value.path.startswith(path), caught.value

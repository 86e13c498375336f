"""Prometheus metrics: the objects, cheap recording, and the ``/metrics`` exposition.

Hot path: label children are looked up in plain dicts keyed by the label tuple (one
dict hit instead of prometheus_client's validating ``labels()`` call), and every label
value comes from config (teams, model routes, targets) or a small fixed set (status,
error code, cache result). Names a client controls (models under a prefix route) pass
through ``BoundedValues`` so the series count stays bounded.

A request adds to plain Python numbers (``CounterSeries``, ``HistogramSeries``: an
addition, or a C bisect and two additions), and ``flush`` hands the sums to
prometheus_client's children: before every exposition, and once a second from a task
(``start``). prometheus_client's own ``inc``/``observe`` take a lock and validate on every
call and walk the buckets in Python: ~8 % of a plain request's CPU. Recording happens
on the event loop's thread only, as does the flush.

Per-request series are recorded once, when the request finishes, from what the request
context says. State that is not per request is read when scraped (target health) or
set by its owner when it changes (circuit state, engine load).

With several workers (``gateway serve --workers N``) each worker is its own process;
``PROMETHEUS_MULTIPROC_DIR`` (set by the CLI, see ``multiprocess_dir``) makes every
worker write its values to shared files and ``/metrics`` sum them.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.background import cancel_all
from gateway.telemetry import semconv as sc
from gateway.telemetry.config import Metrics

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
OTHER = "_other"
CIRCUIT_STATES = {"closed": 0.0, "half_open": 1.0, "half-open": 1.0, "open": 2.0}

_OP = "gen_ai_operation_name"
_MODEL = "gen_ai_request_model"
_CLIENT_LABELS = (_OP, "gen_ai_provider_name", _MODEL, "server_address", "server_port")


class BoundedValues:
    """Keeps the first ``limit`` distinct values of a label; later ones become ``_other``."""

    __slots__ = ("_limit", "_seen")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) < self._limit:
            self._seen.add(value)
            return value
        return OTHER


FLUSH_INTERVAL_S = 1.0


class CounterSeries:
    """One counter series' increments since the last flush."""

    __slots__ = ("_child", "_pending")

    def __init__(self, child: Any) -> None:
        self._child = child
        self._pending = 0.0

    def inc(self, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError("counters can only be incremented by non-negative amounts")
        self._pending += amount

    def flush(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, 0.0
            self._child.inc(pending)


class HistogramSeries:
    """One histogram series' bucket counts and sum since the last flush.

    The flush adds them to the child's bucket and sum values (``_buckets``, ``_sum``:
    what ``Histogram.observe`` itself increments, in-process or multiprocess alike),
    looked up once here so that a prometheus_client without them fails at start-up.
    """

    __slots__ = ("_bounds", "_buckets", "_counts", "_pending", "_sum")

    def __init__(self, child: Any) -> None:
        self._bounds: list[float] = list(child._upper_bounds)
        self._buckets: list[Any] = list(child._buckets)
        self._sum: Any = child._sum
        self._counts = [0] * len(self._bounds)
        self._pending = 0.0

    def observe(self, amount: float) -> None:
        # The first bucket whose upper bound is >= amount, as Histogram.observe picks it.
        self._counts[bisect_left(self._bounds, amount)] += 1
        self._pending += amount

    def flush(self) -> None:
        counts = self._counts
        if not any(counts):
            return
        for i, count in enumerate(counts):
            if count:
                counts[i] = 0
                self._buckets[i].inc(count)
        pending, self._pending = self._pending, 0.0
        self._sum.inc(pending)


class _Children:
    """label tuple -> series, so the hot path skips ``labels()``'s validation and lock."""

    __slots__ = ("_cache", "_metric", "_series")

    def __init__(self, metric: Any, series: type[CounterSeries] | type[HistogramSeries]) -> None:
        self._metric = metric
        self._series = series
        self._cache: dict[tuple[str, ...], Any] = {}

    def __call__(self, *key: str) -> Any:
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._series(self._metric.labels(*key))
        return found

    def flush(self) -> None:
        for series in self._cache.values():
            series.flush()


class _LiveState(Collector):
    """Read at scrape time: which providers are reachable right now."""

    def __init__(self, health: Callable[[], Mapping[str, bool]]) -> None:
        self._health = health

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily("gateway_target_up", _UP_HELP, labels=["provider"])]

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily("gateway_target_up", _UP_HELP, labels=["provider"])
        for provider, up in sorted(self._health().items()):
            family.add_metric([provider], 1.0 if up else 0.0)
        return [family]


_UP_HELP = "1 when the provider answers its health probe (or its last call), else 0."


class GatewayMetrics:
    def __init__(
        self,
        config: Metrics,
        health: Callable[[], Mapping[str, bool]] | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.model_values = BoundedValues(config.max_label_values)
        self.target_values = BoundedValues(config.max_label_values)
        self._live = _LiveState(health) if health is not None else None
        if self._live is not None:
            self.registry.register(self._live)
        r = self.registry
        # --- requests the gateway served ---------------------------------------------------
        self.requests = Counter(
            "gateway_requests",
            "Requests served, by endpoint, team, model, answering target and HTTP status.",
            ["endpoint", "team", "model", "target", "status"],
            registry=r,
        )
        self.server_duration = Histogram(
            "gen_ai_server_request_duration_seconds",
            "Time from request to the last byte of the answer (GenAI server semconv).",
            [_OP, _MODEL, "team", "error_type"],
            buckets=sc.DURATION_BUCKETS,
            registry=r,
        )
        self.server_ttft = Histogram(
            "gen_ai_server_time_to_first_token_seconds",
            "Time from request to the first streamed chunk, successful streams.",
            [_OP, _MODEL, "team"],
            buckets=sc.TTFT_BUCKETS,
            registry=r,
        )
        self.server_tpot = Histogram(
            "gen_ai_server_time_per_output_token_seconds",
            "(duration - time to first token) / (output tokens - 1), successful streams.",
            [_OP, _MODEL, "team"],
            buckets=sc.TPOT_BUCKETS,
            registry=r,
        )
        # --- upstream attempts ---------------------------------------------------------------
        self.client_duration = Histogram(
            "gen_ai_client_operation_duration_seconds",
            "One upstream attempt, from sending to the end of its answer (GenAI client semconv).",
            [*_CLIENT_LABELS, "error_type"],
            buckets=sc.DURATION_BUCKETS,
            registry=r,
        )
        self.client_ttfc = Histogram(
            "gen_ai_client_operation_time_to_first_chunk_seconds",
            "Upstream attempt start to its first stream chunk.",
            list(_CLIENT_LABELS),
            buckets=sc.DURATION_BUCKETS,
            registry=r,
        )
        self.client_tokens = Histogram(
            "gen_ai_client_token_usage",
            "Tokens per upstream call, by gen_ai_token_type (input, output).",
            [*_CLIENT_LABELS, "gen_ai_token_type"],
            buckets=sc.TOKEN_BUCKETS,
            registry=r,
        )
        # --- spend and features ----------------------------------------------------------------
        self.tokens = Counter(
            "gateway_tokens",
            "Tokens by team, model and type (input, output, cached_input).",
            ["team", "model", "type"],
            registry=r,
        )
        self.cost = Counter(
            "gateway_cost_usd", "Cost in USD by team and model.", ["team", "model"], registry=r
        )
        self.cache = Counter(
            "gateway_cache_lookups",
            "Cache lookups by result (hit, semantic, miss, bypass).",
            ["team", "model", "result"],
            registry=r,
        )
        self.refusals = Counter(
            "gateway_refusals",
            "Requests refused by the gateway's own limits (rate_limit, concurrency, budget...).",
            ["team", "reason", "scope"],
            registry=r,
        )
        self.guard_actions = Counter(
            "gateway_guard_actions",
            "Guardrail actions (block, redact, flag) by rule and direction.",
            ["team", "direction", "rule", "action"],
            registry=r,
        )
        self.in_flight = Gauge(
            "gateway_requests_in_flight",
            "Requests being served now.",
            registry=r,
            multiprocess_mode="livesum",
        )
        # --- state set by its owner when it changes ---------------------------------------------
        self.circuit_state = Gauge(
            "gateway_circuit_state",
            "Circuit breaker per target: 0 closed, 1 half-open, 2 open.",
            ["target"],
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.engine_waiting = Gauge(
            "gateway_engine_requests_waiting",
            "Requests queued in a local engine (e.g. trtllm_num_requests_waiting).",
            ["target"],
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.engine_running = Gauge(
            "gateway_engine_requests_running",
            "Requests running in a local engine.",
            ["target"],
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.engine_kv_cache = Gauge(
            "gateway_engine_kv_cache_utilization",
            "KV-cache utilisation of a local engine, 0..1.",
            ["target"],
            registry=r,
            multiprocess_mode="mostrecent",
        )
        self.c_requests = _Children(self.requests, CounterSeries)
        self.c_server_duration = _Children(self.server_duration, HistogramSeries)
        self.c_server_ttft = _Children(self.server_ttft, HistogramSeries)
        self.c_server_tpot = _Children(self.server_tpot, HistogramSeries)
        self.c_client_duration = _Children(self.client_duration, HistogramSeries)
        self.c_client_ttfc = _Children(self.client_ttfc, HistogramSeries)
        self.c_client_tokens = _Children(self.client_tokens, HistogramSeries)
        self.c_tokens = _Children(self.tokens, CounterSeries)
        self.c_cost = _Children(self.cost, CounterSeries)
        self.c_cache = _Children(self.cache, CounterSeries)
        self.c_refusals = _Children(self.refusals, CounterSeries)
        self.c_guard_actions = _Children(self.guard_actions, CounterSeries)
        self._children = [value for value in vars(self).values() if isinstance(value, _Children)]
        # Requests being served now: counted here, set on the gauge by each flush.
        self.serving = 0
        self._task: asyncio.Task[None] | None = None

    # --- for the features that own slow-changing state ------------------------------------------

    def set_circuit_state(self, target: str, state: str) -> None:
        """Routing: call on every breaker transition (``closed``, ``half_open``, ``open``)."""
        self.circuit_state.labels(self.target_values(target)).set(CIRCUIT_STATES[state])

    def set_engine_load(
        self, target: str, *, waiting: float, running: float, kv_cache_utilization: float
    ) -> None:
        """Engines/routing: call after each poll of an engine's load."""
        label = self.target_values(target)
        self.engine_waiting.labels(label).set(waiting)
        self.engine_running.labels(label).set(running)
        self.engine_kv_cache.labels(label).set(kv_cache_utilization)

    # --- flushing and exposition -------------------------------------------------------------

    def flush(self) -> None:
        """Hand what requests recorded since the last flush to prometheus_client."""
        for children in self._children:
            children.flush()
        self.in_flight.set(self.serving)

    def start(self) -> None:
        """Flush once a second: with several workers, a scrape that another worker
        answers reads this worker's values from the shared files."""
        self._task = asyncio.create_task(self._flush_loop(), name="gateway-metrics-flush")

    async def stop(self) -> None:
        """Stop flushing, after a last flush (what the last requests recorded)."""
        await cancel_all(self._task)
        self._task = None
        self.flush()

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            self.flush()

    def exposition(self) -> bytes:
        self.flush()
        directory = os.environ.get(MULTIPROC_ENV)
        if not directory:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        if self._live is not None:
            registry.register(self._live)
        return generate_latest(registry)


def multiprocess_dir() -> str:
    """A fresh directory for the workers' shared metric files (``gateway serve --workers``).

    Must be set before any worker imports prometheus_client; stale files from an earlier
    run would otherwise be summed into this one's counters.
    """
    directory = tempfile.mkdtemp(prefix="gateway-metrics-")
    os.environ[MULTIPROC_ENV] = directory
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return directory

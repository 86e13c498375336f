"""Poll each local engine's load, for engine-aware routing.

One task per polled engine provider (a kind that declares ``engine_load``: trtllm)
scrapes its metrics every ``interval_s`` (0.1 s) through the provider's own connection
pool. A sample carries the time it was taken;
``fresh()`` hands out only samples younger than ``stale_s`` (1 s), so an engine whose
metrics stopped arriving (wedged poller, engine gone, network trouble) stops steering
traffic instead of being judged on old numbers. Pair with the health probe: a wedged
engine keeps serving its last gauges.

``source: auto`` starts with ``/prometheus/metrics`` and switches to the JSON
``/metrics`` for good when the engine answers 404 (Prometheus is mounted only with
``return_perf_metrics``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import msgspec

from gateway.background import cancel_all
from gateway.config.schema import Config
from gateway.engines.metrics import LoadSample, parse_iteration_stats, parse_prometheus
from gateway.providers.registry import engine_load, engine_root
from gateway.providers.transport import ProviderClient
from gateway.transport import TransportError
from gateway.transport.pool import split_url

log = logging.getLogger("gateway.engines")
_decode = msgspec.json.Decoder().decode
# (provider name, sample) after each successful poll: e.g. telemetry's engine gauges.
LoadListener = Callable[[str, LoadSample], None]


@dataclass(slots=True)
class EngineLoad:
    sample: LoadSample
    at: float  # time.monotonic() of the scrape that confirmed it


class LoadMonitor:
    def __init__(self, clients: Mapping[str, ProviderClient]) -> None:
        """``clients``: the providers to poll (engines serving engine-aware models)."""
        self._clients = dict(clients)
        self._loads: dict[str, EngineLoad] = {}
        self._stale_s = {name: c.config.metrics.stale_s for name, c in self._clients.items()}
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: LoadListener | None = None

    def watch(self, listener: LoadListener) -> None:
        self._listener = listener

    @classmethod
    def for_config(cls, config: Config, clients: Mapping[str, ProviderClient]) -> LoadMonitor:
        polled = {
            target.provider
            for model in config.models.values()
            if model.routing.strategy == "engine-aware"
            for target in model.targets
        }
        return cls(
            {
                name: clients[name]
                for name in sorted(polled)
                if engine_load(clients[name].config.kind)
                and clients[name].config.metrics.source != "off"
            }
        )

    def fresh(self, provider: str, now: float) -> LoadSample | None:
        load = self._loads.get(provider)
        if load is None or now - load.at > self._stale_s[provider]:
            return None
        return load.sample

    def start(self) -> None:
        for name, client in self._clients.items():
            self._tasks.append(asyncio.create_task(self._poll(name, client)))

    async def stop(self) -> None:
        await cancel_all(*self._tasks)
        self._tasks.clear()

    async def _poll(self, name: str, client: ProviderClient) -> None:
        settings = client.config.metrics
        source = "prometheus" if settings.source == "auto" else settings.source
        root = engine_root(client.config.kind, client.config.base_url)
        while True:
            try:
                path = "/prometheus/metrics" if source == "prometheus" else "/metrics"
                status, body = await _get(client, root + path, settings.timeout_s)
                if status == 404 and source == "prometheus" and settings.source == "auto":
                    log.info("engine %s has no /prometheus/metrics; reading /metrics", name)
                    source = "json"
                    continue
                if status == 200:
                    self._take(name, source, body)
            except (TransportError, TimeoutError, OSError):
                pass  # the sample ages out; the health probe decides about the engine
            await asyncio.sleep(settings.interval_s)

    def _take(self, name: str, source: str, body: bytes) -> None:
        now = time.monotonic()
        sample: LoadSample | None
        if source == "prometheus":
            sample = parse_prometheus(body.decode("utf-8", "replace"))
        else:
            try:
                items = _decode(body)
            except msgspec.DecodeError:
                return
            sample = parse_iteration_stats(items)
            if sample is None and isinstance(items, list) and name in self._loads:
                # No iteration since the last call: the engine answered, its load is
                # what it was.
                self._loads[name].at = now
                return
        if sample is not None:
            self._loads[name] = EngineLoad(sample, now)
            if self._listener is not None:
                try:
                    self._listener(name, sample)
                except Exception:
                    log.exception("engine load listener failed")


async def _get(client: ProviderClient, url: str, limit_s: float) -> tuple[int, bytes]:
    _, target = split_url(url)
    headers = dict(client.config.headers)
    async with asyncio.timeout(limit_s):
        response = await client.pool.request("GET", target, headers, b"", read_timeout=limit_s)
        try:
            return response.status_code, await response.aread()
        finally:
            await response.aclose()

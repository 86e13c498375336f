"""Which providers are reachable: active probes plus what real calls observe.

A provider starts "down" until its first probe answers, so ``/health/ready`` never
claims readiness for an engine that is still loading. A provider without a probe
(``health: null``) counts as up until a call fails to connect. Any HTTP answer, even
401, proves reachability; only connection failures and 5xx mark a provider down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from gateway.background import cancel_all
from gateway.providers.transport import ProviderClient

log = logging.getLogger("gateway.health")


class HealthMonitor:
    def __init__(self, clients: Mapping[str, ProviderClient]) -> None:
        self._clients = clients
        self._up: dict[str, bool] = {
            name: client.config.health is None for name, client in clients.items()
        }
        self._tasks: list[asyncio.Task[None]] = []

    def is_up(self, provider: str) -> bool:
        return self._up.get(provider, False)

    def mark(self, provider: str, up: bool) -> None:
        if self._up.get(provider) != up:
            log.info("provider %s is %s", provider, "up" if up else "down")
            self._up[provider] = up

    def start(self) -> None:
        for name, client in self._clients.items():
            if client.config.health is not None:
                self._tasks.append(asyncio.create_task(self._probe_loop(name, client)))

    async def stop(self) -> None:
        await cancel_all(*self._tasks)
        self._tasks.clear()

    async def probe(self, name: str) -> bool:
        client = self._clients[name]
        up = await client.probe()
        self.mark(name, up)
        return up

    async def _probe_loop(self, name: str, client: ProviderClient) -> None:
        assert client.config.health is not None
        interval = client.config.health.interval_s
        while True:
            try:
                up = await self.probe(name)
            except OSError:
                up = False
                self.mark(name, False)
            # Probe a down provider more often, so a starting engine is picked up fast.
            await asyncio.sleep(interval if up else min(interval, 1.0))

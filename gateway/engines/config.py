"""How the gateway reads a local engine's load (``Provider.metrics``).

Only ``trtllm`` providers that serve an ``engine-aware`` model are polled. ``auto``
scrapes ``/prometheus/metrics`` and falls back to the JSON ``/metrics`` iteration stats
when the engine answers 404 there (it mounts the Prometheus route only with
``return_perf_metrics``). Prefer Prometheus with several gateway workers or replicas:
the JSON route drains on every read, so pollers steal each other's samples.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

_Positive = Annotated[float, Meta(gt=0)]


class EngineMetrics(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    source: Literal["auto", "prometheus", "json", "off"] = "auto"
    interval_s: _Positive = 0.1
    # Older samples do not steer traffic (the engine then scores as half loaded).
    stale_s: _Positive = 1.0
    timeout_s: _Positive = 0.5

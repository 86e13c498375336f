"""Reading an engine's load from what ``trtllm-serve`` exposes, without I/O.

Two sources (``docs/reference/trtllm-serve.md``):

- ``GET /prometheus/metrics`` (text format): the gauges ``trtllm_num_requests_waiting``,
  ``trtllm_num_requests_running``, ``trtllm_kv_cache_utilization`` (0..1) and
  ``trtllm_kv_cache_tokens_per_block``. Series are summed over labels: the pinned
  server sets ``model_name``/``engine_type`` to ``undefined``, so one scrape target is
  one engine whatever they say.
- ``GET /metrics``: a JSON array of per-iteration stats since the previous call. The
  newest item counts (``numQueuedRequests``, ``numActiveRequests``,
  ``kvCacheStats.usedNumBlocks / maxNumBlocks``); an empty array means no iteration ran
  and says nothing about the load, so the caller keeps its last sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_WAITING = "trtllm_num_requests_waiting"
_RUNNING = "trtllm_num_requests_running"
_KV = "trtllm_kv_cache_utilization"
_BLOCK = "trtllm_kv_cache_tokens_per_block"
_WANTED = frozenset({_WAITING, _RUNNING, _KV, _BLOCK})


@dataclass(frozen=True, slots=True)
class LoadSample:
    waiting: float
    running: float
    kv: float  # KV-cache blocks in use, 0..1
    tokens_per_block: int = 0


def parse_prometheus(text: str) -> LoadSample | None:
    """The load gauges from a Prometheus text exposition; None if none is present."""
    totals: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("trtllm_"):
            continue
        brace = line.find("{")
        space = line.find(" ")
        if brace < 0 or 0 <= space < brace:
            name, rest = line[:space], line[space:]
        else:
            name, rest = line[:brace], line[line.rfind("}") + 1 :]
        if name not in _WANTED:
            continue
        fields = rest.split()
        if not fields:
            continue
        try:
            value = float(fields[0])
        except ValueError:
            continue
        if value == value:  # NaN: the gauge was never set
            totals[name] = totals.get(name, 0.0) + value
    if not totals.keys() & {_WAITING, _RUNNING, _KV}:
        return None
    return LoadSample(
        waiting=totals.get(_WAITING, 0.0),
        running=totals.get(_RUNNING, 0.0),
        kv=min(max(totals.get(_KV, 0.0), 0.0), 1.0),
        tokens_per_block=int(totals.get(_BLOCK, 0)),
    )


def parse_iteration_stats(items: object) -> LoadSample | None:
    """The newest iteration's load from ``/metrics``; None for an empty or odd array."""
    if not isinstance(items, list) or not items or not isinstance(items[-1], dict):
        return None
    last: dict[str, Any] = items[-1]
    kv_stats = last.get("kvCacheStats") if isinstance(last.get("kvCacheStats"), dict) else {}
    assert isinstance(kv_stats, dict)
    used, total = _number(kv_stats.get("usedNumBlocks")), _number(kv_stats.get("maxNumBlocks"))
    return LoadSample(
        waiting=_number(last.get("numQueuedRequests")),
        running=_number(last.get("numActiveRequests")),
        kv=min(used / total, 1.0) if total > 0 else 0.0,
        tokens_per_block=int(_number(kv_stats.get("tokensPerBlock"))),
    )


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value)

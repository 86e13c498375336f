"""Orderings of a model's usable targets, one function per strategy. No I/O.

Each takes the targets that may be tried now and returns them best first; the router
puts cooling, down and saturated targets after them. Ties are broken at random so equal
targets share the load.

- ``weighted``: a weighted random order (Efraimidis-Spirakis: sort by u^(1/w)); weight
  0 makes a backup target, tried only after the others.
- ``latency``: lowest EWMA of time to first byte (streams) or to the whole answer;
  unmeasured targets first; ``explore`` of the requests go in weighted order so a
  target that was slow once gets measured again.
- ``least-busy``: fewest requests in flight from this process, per unit of weight.
- ``cost``: cheapest blended price (3 input : 1 output per million tokens) first;
  unpriced targets last.
- ``engine-aware``: see ``score_engines``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from gateway.engines.metrics import LoadSample
from gateway.routing.config import EngineScoring
from gateway.routing.models import RouteTarget

_INF = float("inf")
# An engine without fresh metrics scores as half loaded: neither avoided nor
# preferred on numbers that may no longer be true.
_UNKNOWN = 0.5


def weighted(targets: Sequence[RouteTarget], rng: random.Random) -> list[RouteTarget]:
    if len(targets) < 2:
        return list(targets)
    draw = rng.random
    return sorted(targets, key=lambda t: -(draw() ** (1.0 / t.weight)) if t.weight > 0 else 0.0)


def latency(
    targets: Sequence[RouteTarget], rng: random.Random, *, stream: bool, explore: float
) -> list[RouteTarget]:
    if len(targets) < 2 or rng.random() < explore:
        return weighted(targets, rng)
    draw = rng.random
    if stream:
        return sorted(targets, key=lambda t: (t.state.ttfb_s or 0.0, draw()))
    return sorted(targets, key=lambda t: (t.state.total_s or 0.0, draw()))


def least_busy(targets: Sequence[RouteTarget], rng: random.Random) -> list[RouteTarget]:
    if len(targets) < 2:
        return list(targets)
    draw = rng.random
    return sorted(
        targets,
        key=lambda t: (t.state.in_flight / t.weight if t.weight > 0 else _INF, draw()),
    )


def cheapest(targets: Sequence[RouteTarget], rng: random.Random) -> list[RouteTarget]:
    if len(targets) < 2:
        return list(targets)
    draw = rng.random
    return sorted(targets, key=lambda t: (_INF if t.cost is None else t.cost, draw()))


@dataclass(slots=True)
class EngineOrder:
    ready: list[RouteTarget]  # engines with room, best score first
    saturated: list[RouteTarget]  # engines over max_queue / max_kv, least loaded first


def score_engines(
    engines: Sequence[RouteTarget],
    loads: Callable[[str, float], LoadSample | None],
    now: float,
    scoring: EngineScoring,
    prefix: Mapping[str, int],
    blocks: int,
    rng: random.Random,
) -> EngineOrder:
    """Score = queue_weight x (1 - queue/max_queue) + kv_weight x (1 - kv use)
    + prefix_weight x (share of the prompt's blocks the engine holds); higher wins.

    The queue counts the engine's waiting requests plus requests this process sent that
    the engine's last sample cannot have counted yet (in flight beyond its waiting +
    running), so a burst between two scrapes does not all land on one engine.
    ``prefix`` maps target labels to the prompt blocks they hold (of ``blocks``).
    """
    ready: list[tuple[float, RouteTarget]] = []
    saturated: list[tuple[float, RouteTarget]] = []
    max_queue, max_kv = scoring.max_queue, scoring.max_kv
    queue_weight, kv_weight = scoring.queue_weight, scoring.kv_weight
    prefix_share = scoring.prefix_weight / blocks if prefix and blocks else 0.0
    unknown = (queue_weight + kv_weight) * _UNKNOWN
    draw = rng.random
    for target in engines:
        sample = loads(target.provider, now)
        full = False
        if sample is None:
            score = unknown
        else:
            unseen = target.state.in_flight - sample.running - sample.waiting
            queue = sample.waiting + unseen if unseen > 0 else sample.waiting
            full = queue > max_queue or sample.kv > max_kv
            if max_queue > 0:
                queue_score = 1.0 - queue / max_queue if queue < max_queue else 0.0
            else:
                queue_score = 1.0 if queue == 0 else 0.0
            score = queue_weight * queue_score + kv_weight * (1.0 - sample.kv)
        if prefix_share:
            score += prefix_share * prefix.get(target.label, 0)
        score += draw() * 1e-6
        (saturated if full else ready).append((score, target))
    ready.sort(key=_first, reverse=True)
    saturated.sort(key=_first, reverse=True)
    return EngineOrder([t for _, t in ready], [t for _, t in saturated])


def _first(item: tuple[float, RouteTarget]) -> float:
    return item[0]

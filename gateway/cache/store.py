"""Where cached answers live: in process (embedded default) or in Redis (replicas).

Both keep response bodies under ``(team, "e:<exact key>")`` with a TTL. A semantic
entry points at the body of the request that stored it (its id is that exact key) and
is announced as a ``SharedRecord`` (vector, query, namespace, expiry): the memory store
has nobody to tell, the Redis store appends it to a shared log that every replica
tails into its own vector index (see ``redis_store``).

Failures never fail a request: a store that cannot answer is a miss, a store that
cannot write drops the entry (callers log and move on).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SharedRecord:
    """What replicas share about one semantic entry (the body is stored apart)."""

    entry_id: str
    team: str
    namespace: str
    query: str
    expires_at: float
    vector: bytes  # float32, little-endian


OnRecord = Callable[[SharedRecord], None]
OnPurge = Callable[[str], None]


class CacheStore(Protocol):
    async def start(self, on_record: OnRecord, on_purge: OnPurge) -> None: ...

    async def get(self, team: str, key: str) -> bytes | None: ...

    async def put(self, team: str, key: str, value: bytes, ttl_s: float) -> None: ...

    async def share(self, record: SharedRecord) -> None: ...

    async def purge(self, team: str) -> int:
        """Drop every entry of ``team``; returns how many were dropped (where known)."""
        ...

    async def aclose(self) -> None: ...


class MemoryStore:
    """LRU bounded by entry count and total bytes; expiry checked on read."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0
        self._items: OrderedDict[tuple[str, str], tuple[float, bytes]] = OrderedDict()

    async def start(self, on_record: OnRecord, on_purge: OnPurge) -> None:
        return None

    async def get(self, team: str, key: str) -> bytes | None:
        slot = (team, key)
        item = self._items.get(slot)
        if item is None:
            return None
        if item[0] <= time.time():
            self._drop(slot)
            return None
        self._items.move_to_end(slot)
        return item[1]

    async def put(self, team: str, key: str, value: bytes, ttl_s: float) -> None:
        slot = (team, key)
        if slot in self._items:
            self._drop(slot)
        self._items[slot] = (time.time() + ttl_s, value)
        self._bytes += len(value)
        while self._items and (
            len(self._items) > self._max_entries or self._bytes > self._max_bytes
        ):
            self._drop(next(iter(self._items)))

    async def share(self, record: SharedRecord) -> None:
        return None

    async def purge(self, team: str) -> int:
        doomed = [slot for slot in self._items if slot[0] == team]
        for slot in doomed:
            self._drop(slot)
        return len(doomed)

    async def aclose(self) -> None:
        self._items.clear()
        self._bytes = 0

    def _drop(self, slot: tuple[str, str]) -> None:
        item = self._items.pop(slot, None)
        if item is not None:
            self._bytes -= len(item[1])

"""Each replica's in-process vector index: namespace → unit vectors, brute force.

A namespace holds the entries of one team + model + parameters + conversation
context, so searches scan only comparable questions; a matrix-vector product over a
few thousand 384-float rows takes well under a millisecond. Memory is bounded by
``max_entries`` across all namespaces (least recently used first out), and every entry
carries its expiry, checked on search. Not thread-safe: the event loop owns it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from gateway.cache import agreement
from gateway.embedding.embedder import Vector

_CANDIDATES = 8  # best-scoring rows checked against the guard per search


@dataclass(slots=True)
class IndexEntry:
    entry_id: str
    team: str
    namespace: str
    query: str
    expires_at: float
    features: agreement.Features


@dataclass(frozen=True, slots=True)
class Match:
    entry: IndexEntry
    similarity: float


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the closest candidate was not served: a guard rule ("direction", "number"...)
    or "below-threshold", with that candidate's similarity."""

    reason: str
    similarity: float


class _Bucket:
    __slots__ = ("count", "entries", "matrix", "rows")

    def __init__(self, dims: int) -> None:
        self.matrix = np.zeros((4, dims), dtype=np.float32)
        self.entries: list[IndexEntry] = []
        self.rows: dict[str, int] = {}
        self.count = 0

    def add(self, entry: IndexEntry, vector: Vector) -> None:
        if self.count == len(self.matrix):
            grown = np.zeros((len(self.matrix) * 2, self.matrix.shape[1]), dtype=np.float32)
            grown[: self.count] = self.matrix[: self.count]
            self.matrix = grown
        self.matrix[self.count] = vector
        self.entries.append(entry)
        self.rows[entry.entry_id] = self.count
        self.count += 1

    def remove(self, entry_id: str) -> None:
        row = self.rows.pop(entry_id, None)
        if row is None:
            return
        last = self.count - 1
        if row != last:  # swap-remove keeps rows dense
            self.matrix[row] = self.matrix[last]
            moved = self.entries[last]
            self.entries[row] = moved
            self.rows[moved.entry_id] = row
        self.entries.pop()
        self.count -= 1


class VectorIndex:
    def __init__(self, max_entries: int) -> None:
        self._max = max_entries
        self._buckets: dict[str, _Bucket] = {}
        self._order: OrderedDict[str, IndexEntry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, entry_id: str) -> bool:
        return entry_id in self._order

    def has_namespace(self, namespace: str) -> bool:
        return namespace in self._buckets

    def add(self, entry: IndexEntry, vector: Vector) -> None:
        if entry.entry_id in self._order:
            return  # replicas see their own writes again through the shared log
        bucket = self._buckets.get(entry.namespace)
        if bucket is None:
            bucket = self._buckets[entry.namespace] = _Bucket(len(vector))
        elif bucket.matrix.shape[1] != len(vector):
            return  # another embedder's vector: never comparable
        bucket.add(entry, vector)
        self._order[entry.entry_id] = entry
        while len(self._order) > self._max:
            self.remove(next(iter(self._order)))

    def remove(self, entry_id: str) -> None:
        entry = self._order.pop(entry_id, None)
        if entry is None:
            return
        bucket = self._buckets.get(entry.namespace)
        if bucket is not None:
            bucket.remove(entry_id)
            if not bucket.count:
                del self._buckets[entry.namespace]

    def purge(self, team: str) -> int:
        doomed = [e.entry_id for e in self._order.values() if e.team == team]
        for entry_id in doomed:
            self.remove(entry_id)
        return len(doomed)

    def search(
        self,
        namespace: str,
        vector: Vector,
        features: agreement.Features,
        threshold: float,
        use_guard: bool,
        cjk_overlap: bool = True,
    ) -> tuple[Match | None, Refusal | None]:
        """The most similar live entry that reaches ``threshold`` and passes the guard,
        and, when none does, why the closest candidate was refused."""
        bucket = self._buckets.get(namespace)
        if bucket is None or bucket.count == 0:
            return None, None
        scores = bucket.matrix[: bucket.count] @ vector
        if len(scores) > _CANDIDATES:
            top = np.argpartition(-scores, _CANDIDATES)[:_CANDIDATES]
            rows = top[np.argsort(-scores[top])]
        else:
            rows = np.argsort(-scores)
        now = time.time()
        expired: list[str] = []
        best: Match | None = None
        refusal: Refusal | None = None
        for row in rows:
            cosine = float(scores[row])
            if cosine < threshold:
                if refusal is None and best is None:
                    refusal = Refusal("below-threshold", cosine)
                break  # similarity never exceeds the cosine
            entry = bucket.entries[row]
            if entry.expires_at <= now:
                expired.append(entry.entry_id)
                continue
            similarity = agreement.similarity(cosine, features, entry.features, cjk_overlap)
            if similarity < threshold:
                closer = refusal is not None and refusal.reason == "below-threshold"
                if refusal is None or (closer and similarity > refusal.similarity):
                    refusal = Refusal("below-threshold", similarity)
                continue
            if best is not None and similarity <= best.similarity:
                continue
            rule = agreement.agree(features, entry.features) if use_guard else None
            if rule is not None:
                if refusal is None or refusal.reason == "below-threshold":
                    refusal = Refusal(rule, similarity)
                continue
            best = Match(entry, similarity)
        for entry_id in expired:
            self.remove(entry_id)
        if best is not None:
            self._order.move_to_end(best.entry.entry_id)
            return best, None
        return None, refusal

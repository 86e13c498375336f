"""Sticky variant assignment: a user's bucket is a hash, so every replica and every
restart puts the same user in the same variant, with nothing stored.

The bucket is the first 8 bytes of BLAKE2b over (salt, experiment, user) read as a
fraction of 2**64; variants own consecutive slices of [0, 1) in proportion to their
weights. Changing weights moves only the users on the slices' moving borders.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Sequence
from itertools import accumulate

from gateway.experiments.config import Experiment, Variant

_SCALE = float(1 << 64)


def bucket(experiment: str, user: str, salt: str = "") -> float:
    digest = hashlib.blake2b(f"{salt}\x00{experiment}\x00{user}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


class Splitter:
    """One experiment's variants and their cumulative weights, built once."""

    def __init__(self, name: str, experiment: Experiment) -> None:
        self.name = name
        self.experiment = experiment
        self.variants: Sequence[Variant] = experiment.variants
        total = sum(v.weight for v in self.variants)
        self._edges = [edge / total for edge in accumulate(v.weight for v in self.variants)]

    def assign(self, user: str) -> Variant:
        position = bucket(self.name, user, self.experiment.salt)
        index = bisect.bisect_right(self._edges, position)
        return self.variants[min(index, len(self.variants) - 1)]

    @property
    def control(self) -> Variant:
        return self.variants[0]

"""The semantic side: embed the query, search the replica's index, check the guard, and
(for two questions in one script) ask that script's verifier.

Imported only when a semantic cache is configured (it needs numpy and an embedder).
Features of each cached query are computed once, when its record enters the index.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gateway.cache import agreement, verifier
from gateway.cache.characters import CharacterSplitEmbedder
from gateway.cache.config import DEFAULT_THRESHOLD, SemanticConfig
from gateway.cache.index import IndexEntry, Refusal, VectorIndex
from gateway.cache.store import SharedRecord
from gateway.cache.verifier import Verifier
from gateway.embedding.embedder import (
    Embedder,
    EmbeddingsCall,
    ProviderEmbedder,
    Vector,
    default_model_dir,
)
from gateway.embedding.service import HYBRIDS, Embedders

log = logging.getLogger("gateway.cache")


@dataclass(frozen=True, slots=True)
class Found:
    entry_id: str
    similarity: float


@dataclass(slots=True)
class Query:
    """A query embedded once: used for the lookup and, on a miss, for the store."""

    text: str
    vector: Vector
    features: agreement.Features


class SemanticIndex:
    def __init__(
        self, config: SemanticConfig, embedder: Embedder, verifier: Verifier | None = None
    ) -> None:
        self._config = config
        self.embedder = embedder
        self.verifier = verifier
        self._index = VectorIndex(config.max_entries)
        # A multilingual embedder sees CJK text itself: no character-overlap stand-in.
        self._cjk_overlap = not getattr(embedder, "multilingual", False)

    async def embed(self, text: str) -> Query:
        # The model runs off this thread (its pool or the model host) without the GIL:
        # hand it the text first, read the text's guard features meanwhile.
        pending = asyncio.ensure_future(self.embedder.embed(text))
        try:
            await asyncio.sleep(0)  # one step of the task: the text is with the model
            features = agreement.features(text)
            return Query(text, await pending, features)
        finally:
            if not pending.done():  # this request was cancelled: so is its embedding
                pending.cancel()

    def floor(self, query: Query, threshold: float, use_guard: bool) -> float:
        """The similarity a candidate needs for ``query``: ``threshold``, less the
        margin of the verifier for its script, when there is one."""
        return _lowered(threshold, self._reader(query, use_guard))

    def _reader(self, query: Query, use_guard: bool) -> verifier.Reader | None:
        if self.verifier is None or not use_guard:
            return None
        return self.verifier.reader(query.features)

    async def search(
        self, namespace: str, query: Query, threshold: float, use_guard: bool
    ) -> tuple[Found | None, Refusal | None]:
        """The best candidate above the floor that the guard lets through; between two
        questions in one script the verifier for that script must confirm it, else it
        must reach ``threshold`` itself. One verifier call at most per search."""
        reader = self._reader(query, use_guard)
        floor = _lowered(threshold, reader)
        match, refusal = self._index.search(
            namespace, query.vector, query.features, floor, use_guard, self._cjk_overlap
        )
        if match is None:
            return None, refusal
        cached = match.entry.features
        if reader is not None and verifier.script(cached) == verifier.script(query.features):
            assert self.verifier is not None
            # The same words in the same order (case, punctuation, contractions and
            # function words aside) are no rewording: the guard has compared them.
            same = agreement.same_content(query.features, cached)
            if not same and not await self.verifier.same(reader, query.text, match.entry.query):
                return None, Refusal("verifier", match.similarity)
        elif match.similarity < threshold:
            return None, Refusal("below-threshold", match.similarity)
        return Found(match.entry.entry_id, match.similarity), None

    def searchable(self, entry_id: str) -> bool:
        """Whether a stored answer is in this replica's index (semantic hits can find it)."""
        return entry_id in self._index

    def has_namespace(self, namespace: str) -> bool:
        """False when nothing comparable is cached: the lookup can skip embedding."""
        return self._index.has_namespace(namespace)

    def forget(self, entry_id: str) -> None:
        self._index.remove(entry_id)

    def add(self, record: SharedRecord, query: Query | None = None) -> None:
        if record.entry_id in self._index:
            return
        vector = query.vector if query is not None else np.frombuffer(record.vector, "<f4")
        features = query.features if query is not None else agreement.features(record.query)
        entry = IndexEntry(
            entry_id=record.entry_id,
            team=record.team,
            namespace=record.namespace,
            query=record.query,
            expires_at=record.expires_at,
            features=features,
        )
        self._index.add(entry, vector)

    def purge(self, team: str) -> int:
        return self._index.purge(team)

    def __len__(self) -> int:
        return len(self._index)


def build_embedder(
    config: SemanticConfig, embeddings: EmbeddingsCall, embedders: Embedders
) -> Embedder:
    """A provider embedder of the cache's own, or a shared local one (``embedders``)."""
    spec = config.embedder
    if spec.kind == "provider":
        return ProviderEmbedder(spec.model, embeddings)
    if spec.kind == "use-multilingual":
        return embedders.use(
            threads=spec.threads,
            cjk_threshold=spec.effective_cjk_threshold,
            reference=spec.reference,
        )
    model_dir = Path(os.path.expanduser(spec.model_dir)) if spec.model_dir else default_model_dir()
    int8 = spec.precision == "int8"
    if spec.kind in HYBRIDS:
        return embedders.hybrid(
            model_dir,
            int8=int8,
            cjk_threshold=spec.effective_cjk_threshold,
            reference=DEFAULT_THRESHOLD,
            threads=spec.threads,
            kind=spec.kind,
        )
    return CharacterSplitEmbedder(
        embedders.onnx(model_dir, int8=int8, threads=spec.threads),
        cjk_threshold=spec.effective_cjk_threshold,
        reference=DEFAULT_THRESHOLD,
    )


def _lowered(threshold: float, reader: verifier.Reader | None) -> float:
    return threshold - reader.margin if reader is not None else threshold


def build_verifier(config: SemanticConfig, embedders: Embedders) -> Verifier | None:
    """The verifier for a MiniLM kind with the guard on (``SemanticConfig.verifier``):
    the pair model exported next to the embedder, from the shared embedder service (in
    the model host when there is one)."""
    spec = config.embedder
    if not (config.verifier and config.guard) or spec.kind not in VERIFIED_KINDS:
        return None
    model_dir = Path(os.path.expanduser(spec.model_dir)) if spec.model_dir else default_model_dir()
    return Verifier(
        embedders.pair(model_dir, verifier.WEIGHTS), embedders.pair(model_dir, verifier.WEIGHTS_ZH)
    )


VERIFIED_KINDS = ("minilm+use", "minilm", "minilm+wordllama")  # the kinds it was tuned with


def record_vector(vector: Vector) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()

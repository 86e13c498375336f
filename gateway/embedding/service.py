"""One embedder service per process: each ONNX model is loaded once (about 90 MB and a
second of start-up each) and shared by whoever embeds with it (the semantic cache,
every intent router), then closed once, by the app's lifespan.

Where the models live is decided here, once: in this process, or, when ``gateway
serve`` runs a model host for its workers (``$GATEWAY_MODEL_HOST`` names its socket),
in that host, reached through ``RemoteEmbedder``s with the same names and vectors.
Callers see the same interface either way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy and onnxruntime load only when some feature embeds
    from gateway.embedding.embedder import (
        HybridEmbedder,
        Model,
        OnnxEmbedder,
        SyncEmbedder,
        UseEmbedder,
        WordLlamaEmbedder,
    )
    from gateway.embedding.pair import PairModel
    from gateway.embedding.remote import RemoteEmbedder

# The model host's socket, set by ``gateway serve`` for its workers.
MODEL_HOST_ENV = "GATEWAY_MODEL_HOST"
# MiniLM for Latin script with a second model for CJK (``HybridEmbedder``).
HYBRIDS = ("minilm+use", "minilm+wordllama")


class Embedders:
    """``model_host``: the socket of the host's model host; None loads in process."""

    def __init__(self, model_host: str | None = None) -> None:
        self._model_host = model_host
        self._remote: dict[str, RemoteEmbedder] = {}
        self._onnx: dict[tuple[str, bool, int], OnnxEmbedder] = {}
        self._wordllama: WordLlamaEmbedder | None = None
        self._hybrid: dict[tuple[str, str, bool, float, float, int], HybridEmbedder] = {}
        self._use: dict[tuple[int, float | None, float | None], UseEmbedder] = {}
        self._pair: dict[tuple[str, str], PairModel] = {}

    @classmethod
    def for_process(cls) -> Embedders:
        """The models in the model host ``gateway serve`` started for its workers, if
        it did; else in this process."""
        return cls(os.environ.get(MODEL_HOST_ENV) or None)

    @property
    def remote(self) -> bool:
        return self._model_host is not None

    def _through_host(self, spec: dict[str, Any]) -> RemoteEmbedder:
        import json

        from gateway.embedding.remote import RemoteEmbedder

        assert self._model_host is not None
        key = json.dumps(spec, sort_keys=True)
        embedder = self._remote.get(key)
        if embedder is None:
            embedder = self._remote[key] = RemoteEmbedder(self._model_host, spec)
        return embedder

    def load(self, spec: dict[str, Any]) -> Model:
        """The embedder a spec (``onnx``'s, ``hybrid``'s or ``use``'s through the model
        host) describes: what the model host (whose own ``Embedders`` load in process)
        loads."""
        if spec["kind"] == "use-multilingual":
            return self.use(cjk_threshold=spec["cjk_threshold"], reference=spec["reference"])
        model_dir = Path(spec["model_dir"])
        if spec["kind"] in HYBRIDS:
            return self.hybrid(
                model_dir,
                int8=spec["int8"],
                cjk_threshold=spec["cjk_threshold"],
                reference=spec["reference"],
                kind=spec["kind"],
            )
        if spec["kind"] == "minilm":
            return self.onnx(model_dir, int8=spec["int8"])
        if spec["kind"] == "pair":
            return self.pair(model_dir, Path(spec["weights"]))
        raise ValueError(f"unknown embedder kind {spec['kind']!r}")

    def onnx(self, model_dir: Path, *, int8: bool, threads: int = 1) -> SyncEmbedder:
        """The embedder for this export and precision, loaded on first use."""
        if self._model_host is not None:  # the host sizes its own thread pool
            return self._through_host({"kind": "minilm", "model_dir": str(model_dir), "int8": int8})
        return self._local_onnx(model_dir, int8=int8, threads=threads)

    def _local_onnx(self, model_dir: Path, *, int8: bool, threads: int = 1) -> OnnxEmbedder:
        key = (str(model_dir), int8, threads)
        embedder = self._onnx.get(key)
        if embedder is None:
            from gateway.embedding.embedder import OnnxEmbedder

            embedder = self._onnx[key] = OnnxEmbedder(model_dir, int8=int8, threads=threads)
        return embedder

    def pair(self, model_dir: Path, weights: Path) -> SyncEmbedder:
        """The cross-encoder exported from ``weights`` (``gateway.embedding.pair``),
        loaded on first use: one text (a pair joined by ``pair.SEPARATOR``) in, its
        probability out as a one-element vector."""
        if self._model_host is not None:
            spec = {"kind": "pair", "model_dir": str(model_dir), "weights": str(weights)}
            return self._through_host(spec)
        key = (str(model_dir), str(weights))
        model = self._pair.get(key)
        if model is None:
            from gateway.embedding.pair import PairModel

            model = self._pair[key] = PairModel(model_dir, weights)
        return model

    def wordllama(self) -> WordLlamaEmbedder:
        """WordLlama's static multilingual vectors, loaded on first use (no threads)."""
        if self._wordllama is None:
            from gateway.embedding.embedder import WordLlamaEmbedder

            self._wordllama = WordLlamaEmbedder()
        return self._wordllama

    def hybrid(
        self,
        model_dir: Path,
        *,
        int8: bool,
        cjk_threshold: float,
        reference: float,
        threads: int = 1,
        kind: str = "minilm+wordllama",
    ) -> SyncEmbedder:
        """MiniLM for Latin script and, for CJK, USE (``kind: minilm+use``) or WordLlama
        (``kind: minilm+wordllama``), over the shared MiniLM session and the shared USE
        or WordLlama weights."""
        if self._model_host is not None:
            spec = {
                "kind": kind,
                "model_dir": str(model_dir),
                "int8": int8,
                "cjk_threshold": cjk_threshold,
                "reference": reference,
            }
            return self._through_host(spec)
        key = (kind, str(model_dir), int8, cjk_threshold, reference, threads)
        embedder = self._hybrid.get(key)
        if embedder is None:
            from gateway.embedding.embedder import HybridEmbedder

            embedder = self._hybrid[key] = HybridEmbedder(
                self._local_onnx(model_dir, int8=int8),
                self._local_use() if kind == "minilm+use" else self.wordllama(),
                cjk_threshold=cjk_threshold,
                reference=reference,
                threads=threads,
            )
        return embedder

    def use(
        self,
        *,
        threads: int = 1,
        cjk_threshold: float | None = None,
        reference: float | None = None,
    ) -> SyncEmbedder:
        """USE multilingual v3 (``kind: use-multilingual``), its weights (about 121 MB
        resident) loaded once per process, or once per host; split by script for the
        cache when ``cjk_threshold`` and ``reference`` are given (``UseEmbedder``)."""
        if self._model_host is not None:
            spec = {
                "kind": "use-multilingual",
                "cjk_threshold": cjk_threshold,
                "reference": reference,
            }
            return self._through_host(spec)
        return self._local_use(threads=threads, cjk_threshold=cjk_threshold, reference=reference)

    def _local_use(
        self,
        *,
        threads: int = 1,
        cjk_threshold: float | None = None,
        reference: float | None = None,
    ) -> UseEmbedder:
        key = (threads, cjk_threshold, reference)
        embedder = self._use.get(key)
        if embedder is None:
            from gateway.embedding.embedder import UseEmbedder

            shared = next(iter(self._use.values()), None)
            embedder = self._use[key] = UseEmbedder(
                threads=threads,
                model=shared.model if shared else None,
                cjk_threshold=cjk_threshold,
                reference=reference,
            )
        return embedder

    async def aclose(self) -> None:
        for remote in self._remote.values():
            await remote.aclose()
        self._remote.clear()
        for hybrid in self._hybrid.values():
            await hybrid.aclose()
        self._hybrid.clear()
        for use in self._use.values():
            await use.aclose()
        self._use.clear()
        for embedder in self._onnx.values():
            await embedder.aclose()
        self._onnx.clear()
        for model in self._pair.values():
            await model.aclose()
        self._pair.clear()

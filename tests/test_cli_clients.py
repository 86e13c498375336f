"""Codex CLI (``@openai/codex``, Responses API) and Claude Code
(``@anthropic-ai/claude-code``, Messages API) each completing one non-interactive
prompt through the gateway. They are npm packages: found on ``PATH`` or in
``$GATEWAY_CLI_CLIENTS`` (a ``node_modules/.bin``); skipped when absent, e.g.
``npm install --prefix /tmp/clients @openai/codex @anthropic-ai/claude-code`` and
``GATEWAY_CLI_CLIENTS=/tmp/clients/node_modules/.bin``."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEAM_KEY, GatewayProcess
from tests.emulators.anthropic_upstream import AnthropicServer
from tests.emulators.openai_upstream import EmulatorServer

ANTHROPIC_KEY = "sk-ant-cli-upstream-0123456789"
OPENAI_KEY = "sk-cli-upstream-key-0123456789"
CLAUDE = "claude-sonnet-4-20250514"


def _binary(name: str, package: str) -> str:
    """The client's executable; skipped when absent, except where the test command
    installed the clients (``GATEWAY_CLI_CLIENTS``): a missing one then fails."""
    folder = os.environ.get("GATEWAY_CLI_CLIENTS")
    found = str(Path(folder) / name) if folder and (Path(folder) / name).exists() else None
    found = found or shutil.which(name)
    if found is None:
        if folder:
            pytest.fail(f"{package} is not in {folder} (tests/run.sh installs it)")
        pytest.skip(f"{package} (npm) is not installed")
    return found


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    ant = AnthropicServer(api_key=ANTHROPIC_KEY).start()
    emu = EmulatorServer(api_key=OPENAI_KEY)
    emu.start()
    text = f"""
providers:
  ant: {{kind: anthropic, base_url: "{ant.base_url}", api_key: "{ANTHROPIC_KEY}"}}
  emu: {{kind: openai, base_url: "{emu.base_url}", api_key: "{OPENAI_KEY}"}}
models:
  gpt-4o-mini: {{targets: [{{provider: emu, model: gpt-4o-mini}}]}}
  {CLAUDE}: {{targets: [{{provider: ant, model: {CLAUDE}}}]}}
teams: {{one: {{}}}}
keys: [{{team: one, key: "{TEAM_KEY}"}}]
"""
    process = GatewayProcess(text, tmp_path_factory.mktemp("cli"))
    try:
        process.wait("/health/ready")
        yield process
    finally:
        process.stop()
        ant.stop()
        emu.stop()


def _requests(gw: GatewayProcess, endpoint_model: str) -> int:
    return sum(f'"model":"{endpoint_model}"' in line for line in gw.logs().splitlines())


def test_codex_cli_exec(gw: GatewayProcess, tmp_path: Path) -> None:
    codex = _binary("codex", "@openai/codex")
    provider = f'{{name="gw",base_url="{gw.url}/v1",env_key="GW_KEY",wire_api="responses"}}'
    done = subprocess.run(
        [codex, "exec", "--skip-git-repo-check", "-m", "gpt-4o-mini",
         "-c", f"model_providers.gw={provider}", "-c", "model_provider=gw", "Say hello"],
        env={**os.environ, "CODEX_HOME": str(tmp_path), "GW_KEY": TEAM_KEY},
        cwd=tmp_path, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "echo:" in done.stdout
    assert _requests(gw, "gpt-4o-mini") >= 1


def test_claude_code_print(gw: GatewayProcess, tmp_path: Path) -> None:
    claude = _binary("claude", "@anthropic-ai/claude-code")
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "ANTHROPIC_BASE_URL": gw.url,
        "ANTHROPIC_API_KEY": TEAM_KEY,
        "ANTHROPIC_SMALL_FAST_MODEL": CLAUDE,
        "DISABLE_TELEMETRY": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    done = subprocess.run(
        [claude, "-p", "Say hello", "--model", CLAUDE],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "echo:" in done.stdout
    assert _requests(gw, CLAUDE) >= 1

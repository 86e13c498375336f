"""`gateway check` and the config loader: bad configs are rejected with the field named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import ConfigError, default_config_path, load_config, parse_config

GOOD = """
providers:
  up: {kind: openai, base_url: "http://127.0.0.1:9/v1", api_key: "${KEY}"}
models:
  m: {targets: [{provider: up, model: gpt-4o-mini}]}
teams:
  t: {models: ["*"]}
keys:
  - {team: t, key: "sk-0123456789"}
"""

BAD = [
    ("unknown-field", GOOD.replace("api_key:", "apikey:"), "providers.up.apikey", "unknown field"),
    ("wrong-type", GOOD.replace('models: ["*"]', "models: 3"), "teams.t.models", "array"),
    (
        "bad-kind",
        GOOD.replace("kind: openai", "kind: carrier-pigeon"),
        "providers.up.kind",
        "Invalid enum value",
    ),
    (
        "unknown-provider",
        GOOD.replace("provider: up", "provider: nope"),
        "models.m.targets[0].provider",
        "unknown provider",
    ),
    (
        "missing-target-model",
        GOOD.replace(", model: gpt-4o-mini", ""),
        "models.m.targets[0]",
        "missing required field `model`",
    ),
    ("unknown-team", GOOD.replace("team: t,", "team: x,"), "keys[0].team", "unknown team"),
    ("short-key", GOOD.replace("sk-0123456789", "short"), "keys[0].key", "length"),
    ("bad-url", GOOD.replace("http://127.0.0.1:9/v1", "ftp://x"), "providers.up.base_url", "http"),
    (
        "negative-timeout",
        GOOD.replace('api_key: "${KEY}"', 'api_key: "${KEY}", timeouts: {connect: -1}'),
        "providers.up.timeouts.connect",
        "> 0",
    ),
    ("unset-env", GOOD, "providers.up.api_key", "KEY is not set"),
    (
        "bad-fallback",
        GOOD.replace("model: gpt-4o-mini}]", "model: gpt-4o-mini}], fallbacks: [zz]"),
        "models.m.fallbacks[0]",
        "unknown model",
    ),
    ("bad-yaml", "providers: [", "", "invalid YAML"),
    (
        "bad-endpoint",
        GOOD.replace("model: gpt-4o-mini}]", "model: gpt-4o-mini}], endpoints: [images]"),
        "models.m.endpoints[0]",
        "Invalid enum value",
    ),
]


@pytest.mark.parametrize(("text", "path", "problem"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_config_names_the_field(text: str, path: str, problem: str) -> None:
    env = {} if path == "providers.up.api_key" else {"KEY": "k"}
    with pytest.raises(ConfigError) as info:
        parse_config(text, env=env)
    assert info.value.path == path
    assert problem in str(info.value)


def test_env_expansion_and_defaults() -> None:
    config = parse_config(GOOD.replace("${KEY}", "${KEY:-fallback}"), env={})
    assert config.providers["up"].api_key == "fallback"
    config = parse_config(GOOD, env={"KEY": "from-env"})
    assert config.providers["up"].api_key == "from-env"


def test_optional_provider_without_key_is_dropped_with_its_models() -> None:
    text = GOOD.replace('api_key: "${KEY}"', 'api_key: "${KEY:-}", optional: true')
    config = parse_config(text, env={})
    assert config.providers == {} and config.models == {}
    assert "m" in parse_config(text, env={"KEY": "k"}).models


def test_default_policy_loads() -> None:
    config = load_config(default_config_path())
    assert "local" in config.models
    assert config.providers["local"].engine is not None


def test_default_policy_exposes_openai_when_key_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-looking")
    config = load_config(default_config_path())
    assert {"gpt-4o-mini", "openai/*", "local"} <= set(config.models)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args], capture_output=True, text=True, timeout=60
    )


def test_check_command(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(GOOD.replace("${KEY}", "k"))
    result = run_cli("check", str(good))
    assert result.returncode == 0, result.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("${KEY}", "k").replace("provider: up", "provider: nope"))
    result = run_cli("check", str(bad))
    assert result.returncode == 1
    assert "models.m.targets[0].provider" in result.stderr and "nope" in result.stderr
    missing = run_cli("check", str(tmp_path / "missing.yaml"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr


def test_serve_refuses_dev_key_beyond_loopback() -> None:
    result = run_cli("serve", "--host", "0.0.0.0", "--port", "1")
    assert result.returncode == 1
    assert "development key" in result.stderr

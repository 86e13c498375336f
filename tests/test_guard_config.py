"""Guardrail policies in the config: resolution by name, and errors that name the field.

Policies are checked while the config loads (``gateway check`` and ``gateway serve``
alike), without importing guardrails-ai.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import ConfigError, parse_config
from gateway.guard.policies import load_policy, team_policy_names

BASE = """
providers:
  up: {kind: openai, base_url: "http://127.0.0.1:9/v1", health: null}
models:
  m: {targets: [{provider: up, model: gpt-4o-mini}]}
keys:
  - {team: t, key: "sk-0123456789"}
"""


def config_text(guardrails: str, team: str = "{}") -> str:
    return BASE + f"guardrails: {guardrails}\nteams:\n  t: {team}\n  u: {{}}\n"


def inline(rules: str) -> str:
    return "{policies: {p: {input: [" + rules + "]}}}"


BAD = [
    ("unknown-policy", config_text("{}", "{guardrails: nope}"), "teams.t.guardrails",
     "'nope' not found"),
    ("unknown-default", config_text("{default_policy: nope}"), "guardrails.default_policy",
     "not found"),
    ("unknown-option", config_text(inline(
        "{name: x, validator: gateway/pii, options: {entity: [EMAIL]}}")),
     "guardrails.policies.p.input[0].options.entity", "unknown field"),
    ("bad-entity", config_text(inline(
        "{name: x, validator: gateway/pii, options: {entities: [PASSPORT]}}")),
     "guardrails.policies.p.input[0].options.entities[0]", "Invalid enum value"),
    ("redact-injection", config_text(inline(
        "{name: x, validator: gateway/prompt_injection, action: redact}")),
     "guardrails.policies.p.input[0].action", "supports"),
    ("bad-threshold", config_text(inline(
        "{name: x, validator: gateway/prompt_injection, options: {threshold: 1.5}}")),
     "guardrails.policies.p.input[0].options.threshold", "< 1"),
    ("missing-terms-file", config_text(inline(
        "{name: x, validator: gateway/sensitive_terms, options: {terms_files: [no.txt]}}")),
     "guardrails.policies.p.input[0].options.terms_files[0]", "no such file"),
    ("duplicate-rule", config_text(inline(
        "{name: x, validator: gateway/pii}, {name: x, validator: gateway/pii}")),
     "guardrails.policies.p.input[1].name", "duplicate"),
    ("restore-on-block", config_text(inline(
        "{name: x, validator: gateway/pii, action: block, restore: true}")),
     "guardrails.policies.p.input[0].restore", "only for redact"),
    ("bad-action", config_text(inline("{name: x, validator: gateway/pii, action: erase}")),
     "guardrails.policies.p.input[0].action", "Invalid enum value"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "path", "problem"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_policy_names_the_field(text: str, path: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, env={})
    assert info.value.path == path
    assert problem in str(info.value)


def test_policy_file_errors_point_into_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("input:\n  - {name: x, validator: gateway/pii, lvl: 3}\n")
    text = config_text(f"{{policies_dir: '{tmp_path}'}}", "{guardrails: bad}")
    with pytest.raises(ConfigError) as info:
        parse_config(text, env={})
    assert info.value.path == f"{tmp_path / 'bad.yaml'}: input[0].lvl"
    assert info.value.problem == "unknown field"


def test_teams_get_their_policy_the_default_or_none() -> None:
    text = BASE + (
        "guardrails: {default_policy: default}\n"
        "teams:\n  t: {guardrails: confidential}\n  u: {}\n  v: {guardrails: 'off'}\n"
    )
    config = parse_config(text, env={})
    assert team_policy_names(config) == {"t": "confidential", "u": "default"}
    shipped = load_policy(config, "confidential")
    assert [r.name for r in shipped.policy.input][:1] == ["confidential-terms"]
    assert shipped.base_dir.name == "guardrails"


def test_check_command_reports_policy_problems(tmp_path: Path) -> None:
    bad = tmp_path / "gateway.yaml"
    bad.write_text(config_text(inline(
        "{name: x, validator: gateway/prompt_injection, options: {threshold: 0}}")))  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "check", str(bad)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "input[0].options.threshold" in result.stderr
    good = tmp_path / "good.yaml"
    good.write_text(config_text("{default_policy: confidential}"))
    # Checking a policy never imports guardrails-ai (seconds of start-up).
    probe = (
        "import sys; from gateway.cli import main; code = main(['check', sys.argv[1]]); "
        "print('guardrails' in sys.modules); sys.exit(code)"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(good)],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("False")

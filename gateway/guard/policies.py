"""Find, load and check guardrail policy documents.

A team names its policy; the name resolves to an inline policy under
``guardrails.policies`` or to ``<policies_dir>/<name>.yaml``. ``check_guardrails``
runs inside config loading (so ``gateway check`` and ``gateway serve`` both reject a
bad policy before serving) and reports the field path, e.g.
``policies/guardrails/strict.yaml: input[1].options.threshold``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import yaml

from gateway.config.errors import ConfigError
from gateway.config.schema import Config
from gateway.guard.config import NO_POLICY, Policy, Rule
from gateway.guard.options import ALLOWED_ACTIONS, OPTION_TYPES, TERMS, TermsOptions, decode_options

_MSGSPEC_PATH = re.compile(r" - at `\$(.*)`$")
_POLICY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


@dataclass(frozen=True, slots=True)
class LoadedPolicy:
    name: str
    policy: Policy
    # Where relative paths in the policy (term files) are resolved; where errors point.
    base_dir: Path
    source: str

    def where(self, inner: str) -> str:
        """A field path inside this policy, for error messages."""
        return (
            f"{self.source}: {inner}" if self.source.endswith(".yaml") else f"{self.source}.{inner}"
        )


def policies_dir(config: Config) -> Path:
    given = config.guardrails.policies_dir
    if given:
        return Path(given)
    package_dir = Path(__file__).resolve().parent.parent
    for candidate in (package_dir.parent / "policies", package_dir / "policies"):
        if (candidate / "guardrails").is_dir():
            return candidate / "guardrails"
    return package_dir.parent / "policies" / "guardrails"


def team_policy_names(config: Config) -> dict[str, str]:
    """Team → policy name, for teams that have one (their own, else the default)."""
    default = config.guardrails.default_policy
    chosen: dict[str, str] = {}
    for team_name, team in config.teams.items():
        name = team.guardrails if team.guardrails is not None else default
        if name and name != NO_POLICY:
            chosen[team_name] = name
    return chosen


def policy_names(config: Config) -> list[str]:
    """Every policy the gateway compiles at start-up: those config teams and the default
    name, and every inline one. Teams created through the admin API may name these."""
    names = set(team_policy_names(config).values()) | set(config.guardrails.policies)
    default = config.guardrails.default_policy
    if default and default != NO_POLICY:
        names.add(default)
    return sorted(names)


def load_policy(config: Config, name: str) -> LoadedPolicy:
    if not _POLICY_NAME.match(name):
        raise ConfigError("", f"invalid guardrail policy name {name!r}")
    inline = config.guardrails.policies.get(name)
    if inline is not None:
        return _inline(name, inline)
    path = policies_dir(config) / f"{name}.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise ConfigError("", f"guardrail policy {name!r} not found (looked for {path})") from None
    try:
        raw = yaml.safe_load(text) or {}
        policy = msgspec.convert(raw, Policy, strict=False)
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), f"invalid YAML: {exc}") from None
    except msgspec.ValidationError as exc:
        raise _located(str(path), exc) from None
    return LoadedPolicy(name, policy, path.parent, str(path))


def check_guardrails(config: Config) -> None:
    """Every referenced policy exists and is valid; called by the config loader."""
    default = config.guardrails.default_policy
    if default and default != NO_POLICY:
        try:
            check_policy(load_policy(config, default))
        except ConfigError as exc:
            raise ConfigError(_join("guardrails.default_policy", exc.path), exc.problem) from None
    for team_name, team in config.teams.items():
        if team.guardrails and team.guardrails != NO_POLICY:
            try:
                check_policy(load_policy(config, team.guardrails))
            except ConfigError as exc:
                where = exc.path or f"teams.{team_name}.guardrails"
                raise ConfigError(where, exc.problem) from None
    for name, raw in config.guardrails.policies.items():
        check_policy(_inline(name, raw))


def _inline(name: str, raw: dict[str, Any]) -> LoadedPolicy:
    source = f"guardrails.policies.{name}"
    try:
        policy = msgspec.convert(raw, Policy, strict=False)
    except msgspec.ValidationError as exc:
        raise _located(source, exc) from None
    return LoadedPolicy(name, policy, Path.cwd(), source)


def check_policy(loaded: LoadedPolicy) -> None:
    for stage, rules in (("input", loaded.policy.input), ("output", loaded.policy.output)):
        seen: set[str] = set()
        for index, rule in enumerate(rules):
            where = loaded.where(f"{stage}[{index}]")
            if rule.name in seen:
                raise ConfigError(f"{where}.name", f"duplicate rule name {rule.name!r}")
            seen.add(rule.name)
            _check_rule(loaded, rule, where, stage)


def _check_rule(loaded: LoadedPolicy, rule: Rule, where: str, stage: str) -> None:
    option_type = OPTION_TYPES.get(rule.validator)
    if rule.restore and (stage != "input" or rule.action != "redact"):
        raise ConfigError(f"{where}.restore", "only for redact rules on the input")
    if option_type is None:
        return  # another guardrails-ai validator: checked when the gateway builds it
    if rule.action not in ALLOWED_ACTIONS[rule.validator]:
        raise ConfigError(
            f"{where}.action",
            f"{rule.validator} supports {sorted(ALLOWED_ACTIONS[rule.validator])}",
        )
    try:
        options = decode_options(rule.options, option_type)
    except msgspec.ValidationError as exc:
        raise _located(f"{where}.options", exc) from None
    if rule.validator == TERMS:
        assert isinstance(options, TermsOptions)
        for i, name in enumerate(options.terms_files):
            path = resolve(loaded, name)
            if not path.is_file():
                raise ConfigError(f"{where}.options.terms_files[{i}]", f"no such file {path}")


def resolve(loaded: LoadedPolicy, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else loaded.base_dir / path


def _located(prefix: str, exc: msgspec.ValidationError) -> ConfigError:
    message = str(exc)
    match = _MSGSPEC_PATH.search(message)
    problem = message[: match.start()] if match else message
    inner = match.group(1).lstrip(".") if match else ""
    unknown = re.match(r"Object contains unknown field `(.*)`$", problem)
    if unknown:
        inner = _join(inner, unknown.group(1))
        problem = "unknown field"
    separator = ": " if prefix.endswith(".yaml") else "."
    return ConfigError(prefix + (separator + inner if inner else ""), problem)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path and key else path or key

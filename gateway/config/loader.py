"""Load a YAML policy into a validated ``Config``.

Order: parse YAML → expand ``${VAR}`` / ``${VAR:-default}`` (the default also replaces
an empty value, as in the shell) in every string → drop
optional providers whose key is empty → decode into the typed schema → cross-check
references. Every error names the field path, so ``gateway check`` can point at it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
import yaml

from gateway.confidence.checks import check_confidence
from gateway.config.errors import ConfigError
from gateway.config.schema import Config, Model, Provider, Team
from gateway.experiments.checks import check_experiments
from gateway.experiments.config import Experiment
from gateway.intent.checks import check_intents
from gateway.intent.config import Intent, IntentRouter

_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_MSGSPEC_PATH = re.compile(r" - at `\$(.*)`$")
_UNKNOWN_FIELD = re.compile(r"Object contains unknown field `(.*)`$")
DEFAULT_POLICY = "default.yaml"
_NAMED_SECTIONS: dict[str, type] = {
    "providers": Provider,
    "models": Model,
    "teams": Team,
    "intents": IntentRouter,
    "experiments": Experiment,
}


def default_config_path() -> Path:
    """``policies/default.yaml`` beside the source tree, else the copy shipped in the package."""
    package_dir = Path(__file__).resolve().parent.parent
    for candidate in (package_dir.parent / "policies", package_dir / "policies"):
        if (candidate / DEFAULT_POLICY).is_file():
            return candidate / DEFAULT_POLICY
    raise ConfigError("", "the embedded default policy (policies/default.yaml) is missing")


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load ``path``, else ``$GATEWAY_CONFIG``, else the embedded default."""
    chosen = Path(path or os.environ.get("GATEWAY_CONFIG") or default_config_path())
    try:
        text = chosen.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("", f"cannot read config file {chosen}: {exc.strerror}") from None
    return parse_config(text, env=os.environ)


def parse_config(text: str, env: Mapping[str, str] | None = None) -> Config:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError("", f"invalid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("", "the top level must be a mapping")
    expanded = _expand(raw, env if env is not None else os.environ, "")
    _drop_disabled_providers(expanded)
    try:
        config = msgspec.convert(expanded, Config, strict=False)
    except msgspec.ValidationError as exc:
        raise _locate(expanded) or _field_error(exc, "") from None
    _check_references(config)
    return config


def _expand(value: Any, env: Mapping[str, str], path: str) -> Any:
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            value = env.get(name)
            if default is not None and not value:
                return default  # like the shell: ":-" also replaces an empty value
            if value is not None:
                return value
            raise ConfigError(path, f"environment variable {name} is not set")

        return _ENV_PATTERN.sub(substitute, value)
    if isinstance(value, dict):
        return {k: _expand(v, env, _join(path, str(k))) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, env, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _drop_disabled_providers(raw: dict[str, Any]) -> None:
    providers = raw.get("providers")
    if not isinstance(providers, dict):
        return
    dropped = {
        name
        for name, spec in providers.items()
        if isinstance(spec, dict) and spec.get("optional") and not spec.get("api_key")
    }
    if not dropped:
        return
    for name in dropped:
        del providers[name]
    models = raw.get("models")
    if not isinstance(models, dict):
        return
    for model_name in list(models):
        spec = models[model_name]
        if not isinstance(spec, dict) or not isinstance(spec.get("targets"), list):
            continue
        kept = [
            t for t in spec["targets"] if not (isinstance(t, dict) and t.get("provider") in dropped)
        ]
        if kept:
            spec["targets"] = kept
        else:
            del models[model_name]
    for spec in models.values():
        if isinstance(spec, dict) and isinstance(spec.get("fallbacks"), list):
            spec["fallbacks"] = [f for f in spec["fallbacks"] if f in models]


def _check_references(config: Config) -> None:
    if config.state.url and not config.state.url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("state.url", "must be a redis://, rediss:// or unix:// URL")
    # Imported here: the provider modules import the config schema, whose package
    # imports this loader, so a top-level import would be circular at run time.
    from gateway.providers.registry import PROVIDERS

    for name, provider in config.providers.items():
        if provider.kind not in PROVIDERS:
            known = ", ".join(sorted(PROVIDERS))
            raise ConfigError(
                f"providers.{name}.kind", f"Invalid enum value {provider.kind!r} (one of {known})"
            )
        if not provider.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"providers.{name}.base_url", "must start with http:// or https://")
        # Sent upstream in request heads: a line break would inject headers (an env var
        # with a trailing newline is the usual way in), other bytes cannot be encoded.
        sent = {"api_key": provider.api_key, "base_url": provider.base_url}
        sent.update({f"headers.{h}": h + v for h, v in provider.headers.items()})
        for field_name, text in sent.items():
            if not _header_safe(text):
                raise ConfigError(
                    f"providers.{name}.{field_name}",
                    "must be printable latin-1 without line breaks (it is sent in HTTP headers)",
                )
        engine = provider.engine
        if engine is not None:
            if engine.kind == "command" and not engine.command:
                raise ConfigError(f"providers.{name}.engine.command", "required for kind command")
            if engine.kind != "command" and not engine.model:
                raise ConfigError(
                    f"providers.{name}.engine.model", f"required for kind {engine.kind}"
                )
    for model_name, model in config.models.items():
        for i, target in enumerate(model.targets):
            if target.provider not in config.providers:
                raise ConfigError(
                    f"models.{model_name}.targets[{i}].provider",
                    f"unknown provider {target.provider!r}",
                )
        for i, fallback in enumerate(model.fallbacks):
            if fallback not in config.models or fallback == model_name:
                raise ConfigError(
                    f"models.{model_name}.fallbacks[{i}]", f"unknown model {fallback!r}"
                )
    seen: set[str] = set()
    for i, key in enumerate(config.keys):
        if key.team not in config.teams:
            raise ConfigError(f"keys[{i}].team", f"unknown team {key.team!r}")
        if key.key in seen:
            raise ConfigError(f"keys[{i}].key", "duplicate key")
        if key.key == config.admin.master_key:
            raise ConfigError(f"keys[{i}].key", "a team key must differ from the master key")
        seen.add(key.key)
    from gateway.guard.policies import check_guardrails  # reads policy files

    check_guardrails(config)
    for check in (check_intents, check_experiments, check_confidence):
        check(config)


def _header_safe(text: str) -> bool:
    return all(" " <= c <= "~" or "\xa0" <= c <= "\xff" or c == "\t" for c in text)


def _locate(raw: dict[str, Any]) -> ConfigError | None:
    """msgspec elides mapping keys (``providers[...]``); decode each named entry on its
    own to put the real name in the path."""
    for section, entry_type in _NAMED_SECTIONS.items():
        entries = raw.get(section)
        if not isinstance(entries, dict):
            continue
        for name, spec in entries.items():
            try:
                msgspec.convert(spec, entry_type, strict=False)
            except msgspec.ValidationError as exc:
                return _nested(spec, f"{section}.{name}") or _field_error(exc, f"{section}.{name}")
    return None


def _nested(spec: Any, prefix: str) -> ConfigError | None:
    """An intent router's own ``intents:`` mapping, located the same way."""
    intents = spec.get("intents") if isinstance(spec, dict) else None
    if not prefix.startswith("intents.") or not isinstance(intents, dict):
        return None
    for name, entry in intents.items():
        try:
            msgspec.convert(entry, Intent, strict=False)
        except msgspec.ValidationError as exc:
            return _field_error(exc, f"{prefix}.intents.{name}")
    return None


def _field_error(exc: msgspec.ValidationError, prefix: str) -> ConfigError:
    message = str(exc)
    match = _MSGSPEC_PATH.search(message)
    problem = message[: match.start()] if match else message
    path = match.group(1).lstrip(".") if match else ""
    if prefix:
        path = prefix + (path if path.startswith("[") or not path else "." + path)
    unknown = _UNKNOWN_FIELD.match(problem)
    if unknown:
        return ConfigError(_join(path, unknown.group(1)), "unknown field")
    return ConfigError(path, problem)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key

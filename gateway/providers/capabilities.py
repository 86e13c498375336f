"""What each upstream model (or Azure api-version) accepts: ``policies/capabilities.yaml``.

Translators ask ``capabilities_for`` before building a body, so a parameter a model
would reject with 400 (``temperature`` on recent Claude models, ``stream_options`` on
old Azure api-versions) is dropped instead, and features the model has natively
(thinking, structured outputs) are used. Lookup: the provider kind's ``default``, then
the first file entry whose pattern (``fnmatch``) matches the key, then the first
matching entry of the provider's own ``capabilities`` in the config; each layer sets
only the fields it names. The key is the upstream model name, or the api-version for
Azure (whose request schema is versioned, not per deployment).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Literal

import msgspec
import yaml

CAPABILITIES_FILE = "capabilities.yaml"

# none: the model cannot think; budget: ``thinking: {type: enabled, budget_tokens}``;
# adaptive: ``thinking: {type: adaptive}`` plus ``output_config.effort``.
Reasoning = Literal["none", "budget", "adaptive"]
# native: the provider's own schema-constrained output; tool: a forced tool call whose
# input is the answer; prompt: an instruction in the system prompt (best effort).
StructuredOutputs = Literal["native", "tool", "prompt"]


class CapabilityPatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One layer of the table; unset fields keep the layer below's value."""

    # Request fields this model rejects: dropped (see docs/routing.md for the refusals).
    drop: list[str] | None = None
    # Groups of fields of which at most one may be sent: the first one set wins.
    exclusive: list[list[str]] | None = None
    # Message roles the model accepts; ``developer`` falls back to ``system``.
    roles: list[str] | None = None
    # Whether ``stream_options`` is accepted (the gateway asks for the usage chunk).
    stream_options: bool | None = None
    reasoning: Reasoning | None = None
    structured_outputs: StructuredOutputs | None = None
    # The model's output-token ceiling: sent as ``max_tokens`` when the client set none.
    max_output_tokens: int | None = None


class Capabilities(msgspec.Struct, frozen=True, kw_only=True):
    drop: frozenset[str] = frozenset()
    exclusive: tuple[tuple[str, ...], ...] = ()
    roles: frozenset[str] = frozenset({"system", "developer", "user", "assistant", "tool"})
    stream_options: bool = True
    reasoning: Reasoning = "none"
    structured_outputs: StructuredOutputs = "prompt"
    max_output_tokens: int = 4096

    def apply(self, patch: CapabilityPatch) -> Capabilities:
        changes: dict[str, object] = {}
        if patch.drop is not None:
            changes["drop"] = frozenset(patch.drop)
        if patch.exclusive is not None:
            changes["exclusive"] = tuple(tuple(group) for group in patch.exclusive)
        if patch.roles is not None:
            changes["roles"] = frozenset(patch.roles)
        for name in ("stream_options", "reasoning", "structured_outputs", "max_output_tokens"):
            value = getattr(patch, name)
            if value is not None:
                changes[name] = value
        return msgspec.structs.replace(self, **changes)

    def sendable(self, body: dict[str, object]) -> dict[str, object]:
        """``body`` without the dropped fields and with one field per exclusive group."""
        kept = {k: v for k, v in body.items() if k not in self.drop}
        for group in self.exclusive:
            present = [name for name in group if kept.get(name) is not None]
            for name in present[1:]:
                del kept[name]
        return kept


class ProviderTable(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    default: CapabilityPatch = msgspec.field(default_factory=CapabilityPatch)
    # Pattern → patch, in file order (the first match wins).
    models: dict[str, CapabilityPatch] = msgspec.field(default_factory=dict)


CapabilityTable = dict[str, ProviderTable]


def default_path() -> Path:
    package_dir = Path(__file__).resolve().parent.parent
    for candidate in (package_dir.parent / "policies", package_dir / "policies"):
        if (candidate / CAPABILITIES_FILE).is_file():
            return candidate / CAPABILITIES_FILE
    raise FileNotFoundError(f"policies/{CAPABILITIES_FILE} is missing from this install")


@cache
def shipped_table() -> CapabilityTable:
    raw = yaml.safe_load(default_path().read_text(encoding="utf-8")) or {}
    return msgspec.convert(raw, CapabilityTable)


# Read at import (start-up): a broken file stops the gateway before it serves, and
# translators never touch the disk.
shipped_table()


def _first_match(patterns: Mapping[str, CapabilityPatch], key: str) -> CapabilityPatch | None:
    for pattern, patch in patterns.items():
        if fnmatch.fnmatchcase(key, pattern):
            return patch
    return None


@cache
def _resolve(kind: str, key: str) -> Capabilities:
    table = shipped_table().get(kind) or ProviderTable()
    resolved = Capabilities().apply(table.default)
    patch = _first_match(table.models, key)
    return resolved if patch is None else resolved.apply(patch)


def capabilities_for(
    kind: str, key: str, overrides: Mapping[str, CapabilityPatch] | None = None
) -> Capabilities:
    """What ``key`` (a model, or Azure's api-version) of a ``kind`` provider accepts."""
    resolved = _resolve(kind, key)
    patch = _first_match(overrides, key) if overrides else None
    return resolved if patch is None else resolved.apply(patch)

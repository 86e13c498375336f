"""Validate wire bodies against OpenAI's own OpenAPI description.

The spec is 3 MB of YAML (about two seconds to parse with libyaml), so it is loaded
once per process and every validator is cached per schema name; a test session
pays the load once however many tests validate.

The file declares OpenAPI 3.1 (JSON Schema 2020-12) but still carries the 3.0
keyword ``nullable`` in 112 places, which a 2020-12 validator ignores, so a
normal stream chunk with ``"finish_reason": null`` would fail. ``_rewrite_nullable``
turns ``nullable: true`` into ``anyOf: [<schema>, {type: null}]`` and drops
``nullable: false`` over the whole document at load time, as
``docs/reference/README.md`` prescribes.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_ENV = "OPENAI_OPENAPI_SPEC"
DEFAULT_SPEC = Path(__file__).resolve().parent / "data/reference/openai-openapi.yaml"
SPEC_URI = "urn:openai:openapi"

# Keys that describe a schema rather than constrain it; they stay beside the anyOf
# so the rewritten schema reads like the original.
_ANNOTATIONS = frozenset({"description", "title", "default", "example", "examples", "deprecated"})


def spec_path() -> Path:
    """The spec file: ``$OPENAI_OPENAPI_SPEC`` if set, else the pinned reference copy."""
    override = os.environ.get(SPEC_ENV)
    return Path(override) if override else DEFAULT_SPEC


def _rewrite_nullable(node: Any) -> Any:
    """Return ``node`` with every OpenAPI 3.0 ``nullable`` turned into 2020-12 form.

    Only a boolean ``nullable`` is the keyword; a dict under that name would be a
    property called ``nullable`` and is left alone.
    """
    if isinstance(node, list):
        return [_rewrite_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    rewritten = {key: _rewrite_nullable(value) for key, value in node.items()}
    flag = rewritten.get("nullable")
    if not isinstance(flag, bool):
        return rewritten
    del rewritten["nullable"]
    if not flag:
        return rewritten
    outer = {k: v for k, v in rewritten.items() if k in _ANNOTATIONS or k.startswith("x-")}
    inner = {k: v for k, v in rewritten.items() if k not in outer}
    return {**outer, "anyOf": [inner, {"type": "null"}]}


@functools.cache
def load_spec() -> Mapping[str, Any]:
    """Parse the spec once and apply the ``nullable`` rewrite."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with spec_path().open("rb") as handle:
        document = yaml.load(handle, Loader=loader)
    return _rewrite_nullable(document)  # type: ignore[no-any-return]


@functools.cache
def _registry() -> Registry[Any]:
    resource: Resource[Any] = Resource.from_contents(load_spec(), default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return registry


@functools.cache
def validator(schema_name: str) -> Draft202012Validator:
    """A validator for ``#/components/schemas/<schema_name>``; fails fast on a typo."""
    if schema_name not in load_spec()["components"]["schemas"]:
        raise KeyError(f"no schema named {schema_name!r} in {spec_path()}")
    ref = {"$ref": f"{SPEC_URI}#/components/schemas/{schema_name}"}
    return Draft202012Validator(ref, registry=_registry())


def _describe(error: ValidationError) -> str:
    """One line per error; for a failed anyOf/oneOf also the closest branch's reason,
    because "is not valid under any of the given schemas" alone names no field."""
    line = f"{error.json_path}: {error.message}"
    if error.context:
        closest = best_match(error.context)
        line += f" (closest: {closest.json_path}: {closest.message})"
    return line


def errors(schema_name: str, instance: object) -> list[str]:
    """Every validation error as ``<json path>: <message>``, ordered by path."""
    found = sorted(validator(schema_name).iter_errors(instance), key=lambda e: e.json_path)
    return [_describe(error) for error in found]


def validate(schema_name: str, instance: object) -> None:
    """Raise ``AssertionError`` naming each path that breaks ``schema_name``."""
    problems = errors(schema_name, instance)
    if problems:
        listing = "\n  ".join(problems)
        raise AssertionError(f"not a valid {schema_name}:\n  {listing}")

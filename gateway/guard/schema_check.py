"""Structured-output checking for ``response_format: {type: json_schema}``.

The answer must parse as JSON and validate against the request's schema (JSON Schema
2020-12, as OpenAI's structured outputs use). Compiled validators are cached by the
schema's canonical JSON, since a client sends the same schema on every call.

A failure is described by its JSON path and the schema keyword that failed, never by
the offending value, and the repair prompt shows the model its own answer and that
description.

``jsonschema`` loads on the first request that asks for a schema, in a worker thread
(``prepare``), not in every worker at start-up, and without the ``rfc3987_syntax``
grammar of its ``iri`` format checker (the gateway checks no formats): imported whole
it costs about 23 MB resident and a second (13 MB and most of the time that grammar).
"""

from __future__ import annotations

import functools
import json
import sys
from typing import Any

import anyio
import msgspec

_encode = msgspec.json.Encoder(order="sorted").encode
REPAIR_PROMPT = (
    "Your previous reply does not satisfy the required JSON schema ({problem}). "
    "Reply again with only the corrected JSON document."
)


def requested_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    response_format = body.get("response_format")
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return None
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    return schema if isinstance(schema, dict) else None


async def prepare() -> None:
    """Import ``jsonschema`` off the event loop, once, before the first ``problem``."""
    if "jsonschema" not in sys.modules:
        await anyio.to_thread.run_sync(load_jsonschema)


def load_jsonschema() -> Any:
    """``jsonschema``, imported (once) without the optional ``rfc3987_syntax``."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    import jsonschema

    return jsonschema


def problem(schema: dict[str, Any], content: str | None) -> str | None:
    """Why ``content`` fails ``schema`` (path and keyword), or None when it is valid."""
    if content is None:
        return "the reply has no content"
    try:
        document = json.loads(content)
    except json.JSONDecodeError as exc:
        return f"not valid JSON (line {exc.lineno}, column {exc.colno})"
    validator = _validator(_encode(schema))
    error = load_jsonschema().exceptions.best_match(validator.iter_errors(document))
    if error is None:
        return None
    where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
    return f"{where}: fails '{error.validator}'"


@functools.lru_cache(maxsize=256)
def _validator(schema_json: bytes) -> Any:
    schema = json.loads(schema_json)
    jsonschema = load_jsonschema()
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema)


def repair_messages(body: dict[str, Any], answer: str | None, why: str) -> list[Any]:
    messages = list(body.get("messages") or [])
    messages.append({"role": "assistant", "content": answer or ""})
    messages.append({"role": "user", "content": REPAIR_PROMPT.format(problem=why)})
    return messages

"""Token counts the gateway computes itself, with tiktoken.

Used where nobody else reports a number: prompt tokens reserved at admission (budgets,
tokens-per-minute limits) and usage for upstreams that report none (llama.cpp streams,
a stream the client cut before the usage chunk). Counts follow OpenAI's published
formulas (https://cookbook.openai.com/examples/how_to_count_tokens_with_tiktoken):

- every message costs 3 tokens of framing, plus the tokens of each string field
  (role, content, name), plus 1 when it has a ``name``; every reply is primed with 3;
- tool definitions cost per function ``func_init`` + ``name:description``, per
  property ``prop_key`` + ``name:type:description`` and enum items, ``func_end`` once;
- text parts of multi-part content count like string content; image parts follow the
  vision formula (``images``).

Admission must never count less than what reaches the model, whatever a client nests
where: a tool whose schema is deeper than the formula reads (``properties`` inside
``properties``, array ``items``, ``$defs``) counts at least its whole JSON text, and
every other part (``file``, ``input_audio``, fields the formula does not know) counts
the tokens of its JSON text, a conservative bound that settlement then corrects.

For models with other tokenizers (local engines) the result is an estimate; records
built from it say so.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import anyio
import tiktoken

from gateway.accounting import encodings
from gateway.accounting.images import image_tokens
from gateway.pipeline.context import RequestContext, Slot
from gateway.routing.models import ROUTE, TARGET
from gateway.wire.types import Endpoint

_TOKENS_PER_MESSAGE = 3
_TOKENS_PER_NAME = 1
_REPLY_PRIMING = 3
# Tool framing from the cookbook: (func_init, prop_init, prop_key, enum_init, enum_item,
# func_end); gpt-4o and later (o200k) differ from gpt-3.5/gpt-4 (cl100k) only in func_init.
_TOOLS_O200K = (7, 3, 3, -3, 3, 12)
_TOOLS_OTHER = (10, 3, 3, -3, 3, 12)
# Bodies with more text than this are counted in a worker thread, not on the event loop.
_THREAD_THRESHOLD_CHARS = 32 * 1024


class _Memo:
    """Token counts of message texts already seen, by (encoding, text).

    Why: a conversation resends its system prompt and whole history with every turn,
    and role names are a handful of strings, so most texts of a chat request were
    counted before. tiktoken takes ~3 µs for 30 characters and ~90 µs for 1 KB on the
    development machine; a dict hit ~0.1 µs. Bounded by entries and by characters
    held (~2 MB); when full it simply starts over. Plain dict operations, safe from the
    worker thread that counts large bodies.
    """

    MAX_ENTRIES = 8192
    MAX_CHARS = 2_000_000
    MAX_TEXT = 16 * 1024  # longer texts are counted every time, never kept

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}
        self._chars = 0

    def count(self, encoding: tiktoken.Encoding, text: str) -> int:
        key = (encoding.name, text)
        found = self._counts.get(key)
        if found is not None:
            return found
        count = len(encoding.encode_ordinary(text))
        if len(text) <= self.MAX_TEXT:
            if len(self._counts) >= self.MAX_ENTRIES or self._chars >= self.MAX_CHARS:
                self._counts.clear()
                self._chars = 0
            self._counts[key] = count
            self._chars += len(text)
        return count


_memo = _Memo()


def count_request_tokens(endpoint: Endpoint, body: dict[str, Any], model: str) -> int:
    """Prompt tokens of a request body as the upstream will count them."""
    encoding = encodings.for_model(model)
    if endpoint is Endpoint.CHAT:
        return _chat_tokens(body, encoding, model)
    if endpoint is Endpoint.COMPLETIONS:
        return _input_tokens(body.get("prompt"), encoding)
    return _input_tokens(body.get("input"), encoding)


# The request's prompt tokens as the gateway counted them (once; see ``prompt_tokens``).
PROMPT_TOKENS: Slot[int] = Slot("prompt_tokens")


async def prompt_tokens(ctx: RequestContext, model: str | None = None) -> int:
    """``count_request_tokens`` for this request, computed once and kept in its
    ``PROMPT_TOKENS`` slot (admission, rate limits and settlement all need it). Large
    bodies are counted in a worker thread so a 100k-token prompt does not stall every
    other request."""
    counted = PROMPT_TOKENS.get(ctx)
    if counted is not None:
        return counted
    name = model or encoding_model(ctx)
    await encodings.ensure(name)
    if _large(ctx.body):
        count = await anyio.to_thread.run_sync(count_request_tokens, ctx.endpoint, ctx.body, name)
    else:
        count = count_request_tokens(ctx.endpoint, ctx.body, name)
    return PROMPT_TOKENS.set(ctx, count)


def encoding_model(ctx: RequestContext) -> str:
    """The upstream model's name when known: its tokenizer is the one that bills (a
    client-facing alias such as ``smart`` means nothing to tiktoken)."""
    target = TARGET.get(ctx)
    if target is not None:
        return target.model
    route = ROUTE.get(ctx)
    if route is not None and route.targets:
        return route.targets[0].model
    return ctx.model


def count_text(text: str, model: str) -> int:
    return len(encodings.for_model(model).encode_ordinary(text)) if text else 0


def _chat_tokens(body: dict[str, Any], encoding: tiktoken.Encoding, model: str) -> int:
    count = _memo.count
    total = _REPLY_PRIMING
    for message in body.get("messages") or ():
        if not isinstance(message, dict):
            continue
        total += _TOKENS_PER_MESSAGE
        for key, value in message.items():
            if isinstance(value, str):
                total += count(encoding, value)
            elif key == "content" and isinstance(value, list):
                total += _parts_tokens(value, encoding, model)
            elif key == "tool_calls" and isinstance(value, list):
                for call in value:
                    total += _function_call_tokens(_get(call, "function"), encoding)
            elif key == "function_call":
                total += _function_call_tokens(value, encoding)
            elif isinstance(value, dict | list):
                total += _json_tokens(value, encoding)
            if key == "name":
                total += _TOKENS_PER_NAME
    functions = [_get(t, "function") for t in body.get("tools") or () if isinstance(t, dict)]
    functions += [f for f in body.get("functions") or () if isinstance(f, dict)]
    if functions:
        total += _tools_tokens(functions, encoding)
    total += _response_format_tokens(body.get("response_format"), encoding)
    return total


def _parts_tokens(parts: list[Any], encoding: tiktoken.Encoding, model: str) -> int:
    total = 0
    for part in parts:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text":
            total += _memo.count(encoding, str(part.get("text") or ""))
        elif kind == "refusal":
            total += len(encoding.encode_ordinary(str(part.get("refusal") or "")))
        elif kind == "image_url":
            image = _get(part, "image_url")
            url = str(image.get("url") or "")
            detail = image.get("detail")
            total += image_tokens(url, detail if isinstance(detail, str) else None, model)
        else:  # file, input_audio, or a type the formula does not know: its JSON text
            total += _json_tokens(part, encoding)
    return total


def _function_call_tokens(function: dict[str, Any], encoding: tiktoken.Encoding) -> int:
    name = str(function.get("name") or "")
    arguments = str(function.get("arguments") or "")
    return len(encoding.encode_ordinary(name)) + len(encoding.encode_ordinary(arguments))


def _tools_tokens(functions: list[dict[str, Any]], encoding: tiktoken.Encoding) -> int:
    func_end = (_TOOLS_O200K if encoding.name == "o200k_base" else _TOOLS_OTHER)[-1]
    total = 0
    for function in functions:
        counted = _function_tokens(function, encoding)
        if not _flat(_get(function, "parameters")):
            # OpenAI's formula reads the top level of ``parameters`` only; nested
            # schemas reach the model too, so count at least the whole JSON text.
            counted = max(counted, _json_tokens(function, encoding))
        total += counted
    return total + func_end


_FLAT_SCHEMA = frozenset({"type", "properties", "required", "additionalProperties"})
_FLAT_PROPERTY = frozenset({"type", "description", "enum"})


def _flat(parameters: dict[str, Any]) -> bool:
    """Whether OpenAI's formula reads all of it: top-level properties with a type, a
    description and an enum, nothing nested."""
    properties = parameters.get("properties") or {}
    return (
        parameters.keys() <= _FLAT_SCHEMA
        and isinstance(properties, dict)
        and all(isinstance(s, dict) and s.keys() <= _FLAT_PROPERTY for s in properties.values())
    )


def _function_tokens(function: dict[str, Any], encoding: tiktoken.Encoding) -> int:
    """OpenAI's formula: name and description, then each top-level property."""
    func_init, prop_init, prop_key, enum_init, enum_item, _ = (
        _TOOLS_O200K if encoding.name == "o200k_base" else _TOOLS_OTHER
    )
    encode = encoding.encode_ordinary
    description = str(function.get("description") or "").removesuffix(".")
    total = func_init + len(encode(f"{function.get('name') or ''}:{description}"))
    properties = _get(function, "parameters").get("properties")
    if not isinstance(properties, dict) or not properties:
        return total
    total += prop_init
    for name, spec in properties.items():
        total += prop_key
        spec = spec if isinstance(spec, dict) else {}
        enum = spec.get("enum")
        if isinstance(enum, list):
            total += enum_init
            for item in enum:
                total += enum_item + len(encode(str(item)))
        p_type = spec.get("type")
        p_type = p_type if isinstance(p_type, str) else json.dumps(p_type)
        p_desc = str(spec.get("description") or "").removesuffix(".")
        total += len(encode(f"{name}:{p_type}:{p_desc}"))
    return total


def _json_tokens(value: object, encoding: tiktoken.Encoding) -> int:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return _memo.count(encoding, text)


def _response_format_tokens(response_format: object, encoding: tiktoken.Encoding) -> int:
    """A JSON schema is shown to the model too; OpenAI publishes no formula, so its
    compact JSON text is counted (an estimate, never zero for a real schema)."""
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return 0
    schema = _get(response_format, "json_schema").get("schema")
    if not schema:
        return 0
    return len(encoding.encode_ordinary(json.dumps(schema, separators=(",", ":"))))


def _input_tokens(value: object, encoding: tiktoken.Encoding) -> int:
    """A prompt or embedding input: a string, token ids, or a list of either."""
    if isinstance(value, str):
        return len(encoding.encode_ordinary(value))
    if not isinstance(value, list):
        return 0
    if all(isinstance(v, int) for v in value):
        return len(value)
    return sum(_input_tokens(v, encoding) for v in value)


def _get(mapping: object, key: str) -> dict[str, Any]:
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if isinstance(value, dict) else {}


def _large(body: dict[str, Any]) -> bool:
    """Cheap size check without serialising: total string length of messages/prompt."""
    text = body.get("messages") or body.get("prompt") or body.get("input")
    return _text_length([text, body.get("tools")]) > _THREAD_THRESHOLD_CHARS


def _text_length(value: object, depth: int = 0) -> int:
    if isinstance(value, str):
        return len(value)
    if depth > 4:
        return 0
    items: Iterable[object]
    if isinstance(value, dict):
        items = value.values()
    elif isinstance(value, list):
        items = value
    else:
        return 0
    total = 0
    for item in items:
        total += _text_length(item, depth + 1)
        if total > _THREAD_THRESHOLD_CHARS:
            break
    return total

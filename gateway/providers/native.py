"""A client surface's own body made to say what the pipeline approved.

The stages (guardrails, limits, budgets, cache) read and edit the chat view of a
Responses or Messages request; a provider serving that surface natively sends the
surface's own body instead. So before it goes, the body gets the stages' edits: every
text the chat view changed (an input guard's redaction) is replaced in the native body
wherever that exact text stands (or, for a chat text joined from several native ones,
its changed middle within them), and the output cap is the chat view's (what the
reservation was computed from). Then two checks, and the body is sent only if both
pass (else ``approved_body`` returns None and the translator sends the chat view):

- translated to chat once more, it gives exactly the stages' texts (every edit landed);
- every text it carries (``text``, ``content``, ``output``, ... strings) stands within
  a text of the chat view: nothing the translation drops (a block type the chat view
  has no place for) goes upstream unseen by the stages.

Reasoning items sent back on the Responses surface keep their encrypted content, which
carries the reasoning, but not their readable summary: model text no stage reads.
Native pass-through never carries a text the stages did not see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from gateway.errors import GatewayError
from gateway.providers.base import Native, TranslatorInput
from gateway.wire.texts import request_slots
from gateway.wire.types import Endpoint

ToChat = Callable[[dict[str, Any]], dict[str, Any]]
# The chat view's output caps, in the order a translator reads them.
_CHAT_CAPS = ("max_completion_tokens", "max_tokens")
# Where either surface keeps text a model reads (string values under these keys) ...
_TEXT_KEYS = frozenset({"text", "content", "output", "input", "instructions", "system", "data"})
# ... and where it keeps none: schemas, tools, and the arguments of calls the model made.
_NOT_TEXT = frozenset({"tools", "input_schema", "parameters", "schema", "format", "metadata"})


def native_body(
    request: TranslatorInput, surface: str, to_chat: ToChat, cap_field: str
) -> dict[str, Any] | None:
    """What a provider serving ``surface`` natively sends for ``request``: the
    approved native body for the upstream model, streaming or not as the request is;
    None when the request has no such body or it cannot be approved."""
    native = request.native
    if native is None or native.surface != surface:
        return None
    body = approved_body(native, request.body, to_chat, cap_field)
    if body is None:
        return None
    body["model"] = request.upstream_model
    if request.stream:
        body["stream"] = True
    else:
        body.pop("stream", None)
    return body


def approved_body(
    native: Native, chat: dict[str, Any], to_chat: ToChat, cap_field: str
) -> dict[str, Any] | None:
    """``native.body`` with the stages' text edits and output cap, or None when it
    cannot be shown to carry exactly the chat view's texts."""
    try:
        before = _texts(to_chat(native.body))
    except GatewayError:
        return None
    after = _texts(chat)
    if len(before) != len(after):
        return None
    edits: dict[str, str] = {}
    for old, new in zip(before, after, strict=True):
        if old != new and edits.setdefault(old, new) != new:
            return None  # one text edited two ways: it cannot be placed by value
    body = _placed(native.body, edits, to_chat, after)
    if body is None or not _all_seen(body, after):
        return None
    cap = next((chat[k] for k in _CHAT_CAPS if isinstance(chat.get(k), int)), None)
    if cap is not None:
        body[cap_field] = cap
    return body


def _placed(
    body: dict[str, Any], edits: dict[str, str], to_chat: ToChat, after: list[str]
) -> dict[str, Any] | None:
    """``body`` with ``edits`` in place: whole texts replaced by value, else (a chat
    text joined from several native ones) the changed middle of each text replaced
    within the native texts; None when neither gives the stages' texts."""

    def whole(text: str, key: str | None) -> str:
        return edits.get(text, text)

    if not edits:
        unchanged: dict[str, Any] = _copy(body, whole)
        return unchanged
    middles = [_middle(old, new) for old, new in edits.items()]

    def within(text: str, key: str | None) -> str:
        if key not in _TEXT_KEYS:
            return text
        for old, new in middles:
            text = text.replace(old, new)
        return text

    for edit in (whole, within):
        placed: dict[str, Any] = _copy(body, edit)
        try:
            if _texts(to_chat(placed)) == after:
                return placed
        except GatewayError:
            return None
    return None


def _middle(old: str, new: str) -> tuple[str, str]:
    """What changed from ``old`` to ``new``: both without their common ends."""
    start = 0
    limit = min(len(old), len(new))
    while start < limit and old[start] == new[start]:
        start += 1
    end = 0
    while end < limit - start and old[-1 - end] == new[-1 - end]:
        end += 1
    return old[start : len(old) - end], new[start : len(new) - end]


def _texts(chat: dict[str, Any]) -> list[str]:
    return [slot.text for slot in request_slots(Endpoint.CHAT, chat)]


def _copy(value: Any, edit: Callable[[str, str | None], str], key: str | None = None) -> Any:
    """A copy of ``value`` with ``edit`` applied to every string (with the key it stands
    under), and reasoning items without their readable text."""
    if isinstance(value, str):
        return edit(value, key)
    if isinstance(value, list):
        return [_copy(v, edit, key) for v in value]
    if not isinstance(value, dict):
        return value
    if value.get("type") == "reasoning":
        kept = {k: v for k, v in value.items() if k not in ("summary", "content")}
        return {**kept, "summary": []}
    return {k: _copy(v, edit, k) for k, v in value.items()}


def _all_seen(body: dict[str, Any], texts: list[str]) -> bool:
    """Whether every text in ``body`` stands within one of the stages' ``texts``."""
    exact = set(texts)
    joined = "\x00".join(texts)
    return all(text in exact or text in joined for text in _leaves(body, None) if text.strip())


def _leaves(value: Any, key: str | None) -> Iterator[str]:
    if isinstance(value, str):
        if key in _TEXT_KEYS:
            yield value
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, key)
    elif isinstance(value, dict):
        for name, item in value.items():
            if name in _NOT_TEXT or (name == "input" and isinstance(item, dict)):
                continue  # a tool call's input is the model's arguments, as on chat
            yield from _leaves(item, name)

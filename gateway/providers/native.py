"""A client surface's own body made to say what the pipeline approved.

The stages (guardrails, limits, budgets, cache) read and edit the chat view of a
Responses or Messages request; a provider serving that surface natively sends the
surface's own body instead. So before it goes, the body gets the stages' edits: every
text the chat view changed (an input guard's redaction) is replaced in the native body
wherever that exact text stands, and the output cap is the chat view's (what the
reservation was computed from). The result is translated to chat once more and its
texts compared with the stages' view: if they differ in any way (an edit that could
not be placed, a text the translation reshapes), ``approved_body`` returns None and the
translator sends the chat view instead. Native pass-through never carries a text the
stages did not see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.errors import GatewayError
from gateway.providers.base import Native, TranslatorInput
from gateway.wire.texts import request_slots
from gateway.wire.types import Endpoint

ToChat = Callable[[dict[str, Any]], dict[str, Any]]
# The chat view's output caps, in the order a translator reads them.
_CHAT_CAPS = ("max_completion_tokens", "max_tokens")


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
    body = _replaced(native.body, edits) if edits else dict(native.body)
    if edits:
        try:
            if _texts(to_chat(body)) != after:
                return None
        except GatewayError:
            return None
    cap = next((chat[k] for k in _CHAT_CAPS if isinstance(chat.get(k), int)), None)
    if cap is not None:
        body[cap_field] = cap
    return body


def _texts(chat: dict[str, Any]) -> list[str]:
    return [slot.text for slot in request_slots(Endpoint.CHAT, chat)]


def _replaced(value: Any, edits: dict[str, str]) -> Any:
    """A copy of ``value`` with every string found in ``edits`` replaced."""
    if isinstance(value, str):
        return edits.get(value, value)
    if isinstance(value, dict):
        return {k: _replaced(v, edits) for k, v in value.items()}
    if isinstance(value, list):
        return [_replaced(v, edits) for v in value]
    return value

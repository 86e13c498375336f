"""Where the text is in request and response bodies, as writable slots (shared by the
guardrails, which read and redact them, and the intent router, which classifies them).

A slot is one string inside the body (a message's ``content``, one ``text`` part, a
completions ``prompt``, an embeddings ``input``, an answer's ``content``) with the
role it belongs to. Guards read slots and, when they redact, write them back in place:
the body dict is the one forwarded upstream or returned to the client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gateway.wire.types import Endpoint


@dataclass(slots=True)
class TextSlot:
    role: str
    holder: Any  # dict or list
    key: Any  # str or int

    @property
    def text(self) -> str:
        value: str = self.holder[self.key]
        return value

    def replace(self, text: str) -> None:
        self.holder[self.key] = text


def request_slots(endpoint: Endpoint, body: dict[str, Any]) -> list[TextSlot]:
    if endpoint is Endpoint.CHAT:
        return _message_slots(body.get("messages"))
    key = "prompt" if endpoint is Endpoint.COMPLETIONS else "input"
    return _string_slots(body, key, "user")


def param_name(endpoint: Endpoint) -> str:
    """The request parameter a blocked input is reported against."""
    if endpoint is Endpoint.CHAT:
        return "messages"
    return "prompt" if endpoint is Endpoint.COMPLETIONS else "input"


def _message_slots(messages: Any) -> list[TextSlot]:
    slots: list[TextSlot] = []
    if not isinstance(messages, list):
        return slots
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = str(message.get("role", ""))
        content = message.get("content")
        if isinstance(content, str):
            slots.append(TextSlot(role, message, "content"))
        elif isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    slots.append(TextSlot(role, part, "text"))
    return slots


def _string_slots(body: dict[str, Any], key: str, role: str) -> list[TextSlot]:
    value = body.get(key)
    if isinstance(value, str):
        return [TextSlot(role, body, key)]
    if isinstance(value, list):
        return [TextSlot(role, value, i) for i, item in enumerate(value) if isinstance(item, str)]
    return []


def answer_slots(endpoint: Endpoint, body: dict[str, Any]) -> list[tuple[dict[str, Any], TextSlot]]:
    """(choice, slot) for each choice's text in a whole (non-streamed) answer."""
    found: list[tuple[dict[str, Any], TextSlot]] = []
    choices = body.get("choices")
    if not isinstance(choices, list):
        return found
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        if endpoint is Endpoint.CHAT:
            message = choice.get("message")
            if isinstance(message, dict) and isinstance(message.get("content"), str):
                found.append((choice, TextSlot("assistant", message, "content")))
        elif isinstance(choice.get("text"), str):
            found.append((choice, TextSlot("assistant", choice, "text")))
    return found


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SPACE = re.compile(r"\s+")


def cjk_count(text: str) -> int:
    """How many CJK (Han) characters ``text`` holds."""
    return 0 if text.isascii() else len(_CJK.findall(text))


def cjk_letter_share(text: str) -> float:
    """Share of the letters that are CJK characters (0 for text without letters):
    digits and punctuation belong to neither script (the semantic cache's script split)."""
    if text.isascii():
        return 0.0
    letters = sum(1 for c in text if c.isalpha())
    return cjk_count(text) / letters if letters else 0.0


def cjk_share(text: str) -> float:
    """Share of CJK characters among the non-space characters of ``text`` (the injection
    classifier's calibration for Chinese)."""
    if text.isascii():
        return 0.0
    return cjk_count(text) / max(1, len(_SPACE.sub("", text)))

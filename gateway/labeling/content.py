"""The generated text a label is bound to, taken the same way from a body or a stream.

Canonical form (documented in docs/labeling.md so anyone can re-implement the check):
for each choice in ``index`` order, its text (``message.content`` for chat, ``text`` for
completions; a stream's deltas concatenated), then for each tool call, in order,
``U+001F name U+001F arguments``; choices are joined with ``U+001E``. The label signs
the SHA-256 of that string's UTF-8 bytes.
"""

from __future__ import annotations

import hashlib
from typing import Any

CHOICE_SEPARATOR = "\x1e"
FIELD_SEPARATOR = "\x1f"


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def body_text(body: dict[str, Any]) -> str:
    """The canonical text of a whole chat or text completion."""
    choices = body.get("choices")
    if not isinstance(choices, list):
        return ""
    parts: list[tuple[int, str]] = []
    for position, choice in enumerate(choices):
        if not isinstance(choice, dict):
            continue
        message = choice.get("message")
        if isinstance(message, dict):
            text = _str(message.get("content")) + _tool_text(message.get("tool_calls"))
        else:
            text = _str(choice.get("text"))
        index = choice.get("index")
        parts.append((index if isinstance(index, int) else position, text))
    parts.sort(key=lambda item: item[0])
    return CHOICE_SEPARATOR.join(text for _, text in parts)


class StreamText:
    """Accumulates a stream's chunks into the same canonical text as ``body_text``."""

    __slots__ = ("_choices", "model")

    def __init__(self) -> None:
        # choice index -> (text pieces, tool index -> [name, argument pieces...])
        self._choices: dict[int, tuple[list[str], dict[int, list[str]]]] = {}
        self.model: str | None = None

    def feed(self, chunk: dict[str, Any]) -> None:
        if self.model is None:
            model = chunk.get("model")
            if isinstance(model, str):
                self.model = model
        choices = chunk.get("choices")
        if not choices:
            return
        for choice in choices:
            index = choice.get("index", 0)
            entry = self._choices.get(index)
            if entry is None:
                entry = self._choices[index] = ([], {})
            delta = choice.get("delta")
            if delta is None:  # text completion chunk
                text = choice.get("text")
                if text:
                    entry[0].append(text)
                continue
            content = delta.get("content")
            if content:
                entry[0].append(content)
            calls = delta.get("tool_calls")
            if calls:
                _feed_tool_calls(entry[1], calls)

    def text_of(self, index: int) -> str:
        entry = self._choices.get(index)
        return "".join(entry[0]) if entry else ""

    def text(self) -> str:
        parts = []
        for index in sorted(self._choices):
            pieces, calls = self._choices[index]
            text = "".join(pieces)
            for call_index in sorted(calls):
                name, *arguments = calls[call_index]
                text += FIELD_SEPARATOR + name + FIELD_SEPARATOR + "".join(arguments)
            parts.append(text)
        return CHOICE_SEPARATOR.join(parts)


def _feed_tool_calls(calls: dict[int, list[str]], deltas: list[Any]) -> None:
    for position, call in enumerate(deltas):
        if not isinstance(call, dict):
            continue
        index = call.get("index", position)
        entry = calls.get(index)
        if entry is None:
            entry = calls[index] = [""]
        function = call.get("function") or {}
        name = function.get("name")
        if name:
            entry[0] += name
        arguments = function.get("arguments")
        if arguments:
            entry.append(arguments)


def _tool_text(calls: object) -> str:
    if not isinstance(calls, list):
        return ""
    text = ""
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            text += (
                FIELD_SEPARATOR
                + _str(function.get("name"))
                + FIELD_SEPARATOR
                + _str(function.get("arguments"))
            )
    return text


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""

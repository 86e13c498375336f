"""The optional visible notice (GB 45438 explicit label for text), written into answers.

Off by default: it changes the content. When on, the notice goes at the start or the end
of each choice's text and is part of what the signature covers, so the label vouches
for exactly the text the client received. The language follows the answer; a streamed
prefix must be written before the answer exists, so it follows the prompt instead.
"""

from __future__ import annotations

from typing import Any

from gateway.labeling.config import VisibleLabel
from gateway.labeling.content import StreamText

_SAMPLE_CHARS = 400


def looks_cjk(text: str) -> bool:
    """True when at least a third of the first letters are CJK ideographs or kana."""
    letters = cjk = 0
    for char in text[:_SAMPLE_CHARS]:
        if char.isalpha():
            letters += 1
            if "\u3040" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff":
                cjk += 1
    return letters > 0 and cjk * 3 >= letters


class VisibleNotice:
    def __init__(self, config: VisibleLabel) -> None:
        self.position = config.position
        self._language = config.language
        self._text = dict(config.text)
        self.separator = config.separator
        self._fallback = self._text.get("en") or next(iter(self._text.values()), "")

    @property
    def enabled(self) -> bool:
        return self.position != "off" and bool(self._fallback)

    def notice(self, sample: str) -> str:
        language = self._language
        if language == "auto":
            language = "zh" if looks_cjk(sample) else "en"
        return self._text.get(language) or self._fallback

    def decorate(self, text: str) -> str:
        notice = self.notice(text)
        if self.position == "prefix":
            return notice + self.separator + text
        return text + self.separator + notice

    def apply_to_body(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` with the notice on the chat ``message.content`` or completion ``text``
        of every choice that has text. A copy: the cache holds the original, and must
        store the answer without a notice, or every hit would carry two."""
        choices = []
        for choice in body.get("choices") or ():
            choice = dict(choice)
            message = choice.get("message")
            if isinstance(message, dict):
                holder = choice["message"] = dict(message)
                key = "content"
            else:
                holder, key = choice, "text"
            text = holder.get(key)
            if isinstance(text, str) and text:
                holder[key] = self.decorate(text)
            choices.append(choice)
        return {**body, "choices": choices}

    def stream_decorator(self, prompt: str) -> StreamDecorator:
        return StreamDecorator(self, prompt)


class StreamDecorator:
    """Per-stream state: which choices already got their prefix."""

    __slots__ = ("_done", "_notice", "_prompt")

    def __init__(self, notice: VisibleNotice, prompt: str) -> None:
        self._notice = notice
        self._prompt = prompt
        self._done: set[int] = set()

    def __call__(self, chunk: dict[str, Any], so_far: StreamText) -> None:
        notice = self._notice
        for choice in chunk.get("choices") or ():
            index = choice.get("index", 0)
            delta = choice.get("delta")
            holder, key = (delta, "content") if isinstance(delta, dict) else (choice, "text")
            if notice.position == "prefix":
                if index not in self._done and isinstance(holder.get(key), str):
                    self._done.add(index)
                    holder[key] = notice.notice(self._prompt) + notice.separator + holder[key]
            elif choice.get("finish_reason") is not None and index not in self._done:
                self._done.add(index)
                text = so_far.text_of(index) + (holder.get(key) or "")
                if text:
                    holder[key] = (holder.get(key) or "") + notice.separator + notice.notice(text)


def prompt_text(body: dict[str, Any]) -> str:
    """The last user turn (chat) or the prompt (completions), for picking a language."""
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user":
                content = message.get("content")
                if isinstance(content, str):
                    return content[:_SAMPLE_CHARS]
                if isinstance(content, list):
                    return " ".join(
                        part.get("text", "")
                        for part in content
                        if isinstance(part, dict) and isinstance(part.get("text"), str)
                    )[:_SAMPLE_CHARS]
        return ""
    prompt = body.get("prompt")
    return prompt[:_SAMPLE_CHARS] if isinstance(prompt, str) else ""

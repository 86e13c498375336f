"""One stored form for every answer: the whole response body.

A streamed answer is folded into the body a non-streamed request would have received
(``Assembler``), so one entry serves both kinds of request; a hit for a streaming
request is unfolded into OpenAI chunks again (``chunks``): a role chunk, content in
pieces, the finish chunk and, when asked for, the usage chunk. Nothing but finished
answers is stored: an answer is complete only when every choice has a finish reason
other than ``content_filter``.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from typing import Any

from gateway.pipeline.reply import StreamItem
from gateway.wire.types import Endpoint, Usage

_STORABLE_FINISH = frozenset({"stop", "length", "tool_calls", "function_call"})
_PIECE_CHARS = 48  # replayed content arrives in pieces of about this many characters


class Assembler:
    """Folds chat or text-completion chunks into one response body."""

    def __init__(self, endpoint: Endpoint) -> None:
        self._chat = endpoint is Endpoint.CHAT
        self._envelope: dict[str, Any] = {}
        self._choices: dict[int, dict[str, Any]] = {}
        self._usage: dict[str, Any] | None = None

    def add(self, chunk: dict[str, Any]) -> None:
        if not self._envelope:
            self._envelope = {
                k: chunk[k] for k in ("id", "created", "model", "system_fingerprint") if k in chunk
            }
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            index = int(choice.get("index", 0))
            slot = self._choices.setdefault(index, {"index": index, "parts": [], "tools": {}})
            if choice.get("finish_reason") is not None:
                slot["finish_reason"] = choice["finish_reason"]
            if self._chat:
                self._add_delta(slot, choice.get("delta") or {})
            elif choice.get("text"):
                slot["parts"].append(choice["text"])

    def _add_delta(self, slot: dict[str, Any], delta: dict[str, Any]) -> None:
        if delta.get("content"):
            slot["parts"].append(delta["content"])
        if delta.get("refusal"):
            slot["refusal"] = slot.get("refusal", "") + delta["refusal"]
        for call in delta.get("tool_calls") or ():
            tool = slot["tools"].setdefault(
                int(call.get("index", 0)), {"type": "function", "function": {"arguments": ""}}
            )
            if call.get("id"):
                tool["id"] = call["id"]
            function = call.get("function") or {}
            if function.get("name"):
                tool["function"]["name"] = function["name"]
            tool["function"]["arguments"] += function.get("arguments") or ""

    def body(self) -> dict[str, Any] | None:
        """The whole body, or None when the answer is not complete enough to reuse."""
        if not self._choices:
            return None
        choices: list[dict[str, Any]] = []
        for index in sorted(self._choices):
            slot = self._choices[index]
            reason = slot.get("finish_reason")
            if reason not in _STORABLE_FINISH:
                return None
            text = "".join(slot["parts"])
            if self._chat:
                message: dict[str, Any] = {
                    "role": "assistant",
                    "content": text or None,
                    "refusal": slot.get("refusal"),
                }
                if slot["tools"]:
                    message["tool_calls"] = [slot["tools"][i] for i in sorted(slot["tools"])]
                choices.append(
                    {"index": index, "message": message, "logprobs": None, "finish_reason": reason}
                )
            else:
                choices.append(
                    {"index": index, "text": text, "logprobs": None, "finish_reason": reason}
                )
        body = {
            **self._envelope,
            "object": "chat.completion" if self._chat else "text_completion",
            "choices": choices,
        }
        if self._usage is not None:
            body["usage"] = self._usage
        return body


def storable(endpoint: Endpoint, body: dict[str, Any]) -> bool:
    if endpoint is Endpoint.EMBEDDINGS:
        return isinstance(body.get("data"), list)
    choices = body.get("choices")
    return (
        isinstance(choices, list)
        and bool(choices)
        and all(isinstance(c, dict) and c.get("finish_reason") in _STORABLE_FINISH for c in choices)
    )


def usage_of(body: dict[str, Any]) -> Usage | None:
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return None
    return Usage(
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
    )


def fresh(body: dict[str, Any], endpoint: Endpoint) -> dict[str, Any]:
    """The stored body as a new response: its own id and creation time."""
    out = dict(body)
    if endpoint is not Endpoint.EMBEDDINGS:
        prefix = "chatcmpl-" if endpoint is Endpoint.CHAT else "cmpl-"
        out["id"] = prefix + "cache-" + os.urandom(12).hex()
        out["created"] = int(time.time())
    return out


async def chunks(
    body: dict[str, Any], endpoint: Endpoint, include_usage: bool
) -> AsyncIterator[StreamItem]:
    """Replay a stored body as the chunks an upstream stream would have sent."""
    chat = endpoint is Endpoint.CHAT
    envelope = {
        "id": body["id"],
        "object": "chat.completion.chunk" if chat else "text_completion",
        "created": body["created"],
        "model": body.get("model", ""),
    }
    if chat and body.get("system_fingerprint"):
        envelope["system_fingerprint"] = body["system_fingerprint"]
    extra = {"usage": None} if include_usage else {}
    for choice in body.get("choices") or ():
        index = choice.get("index", 0)
        if chat:
            message = choice.get("message") or {}
            yield _chunk(envelope, extra, index, {"role": "assistant", "content": ""})
            for piece in _pieces(message.get("content") or ""):
                yield _chunk(envelope, extra, index, {"content": piece})
            if message.get("refusal"):
                yield _chunk(envelope, extra, index, {"refusal": message["refusal"]})
            for i, call in enumerate(message.get("tool_calls") or ()):
                yield _chunk(envelope, extra, index, {"tool_calls": [{"index": i, **call}]})
            yield _chunk(envelope, extra, index, {}, choice.get("finish_reason"))
        else:
            for piece in _pieces(choice.get("text") or ""):
                yield _text_chunk(envelope, extra, index, piece, None)
            yield _text_chunk(envelope, extra, index, "", choice.get("finish_reason"))
    if include_usage and isinstance(body.get("usage"), dict):
        yield {**envelope, "choices": [], "usage": body["usage"]}


def _chunk(
    envelope: dict[str, Any],
    extra: dict[str, Any],
    index: int,
    delta: dict[str, Any],
    finish: str | None = None,
) -> dict[str, Any]:
    choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
    return {**envelope, "choices": [choice], **extra}


def _text_chunk(
    envelope: dict[str, Any], extra: dict[str, Any], index: int, text: str, finish: str | None
) -> dict[str, Any]:
    choice = {"index": index, "text": text, "logprobs": None, "finish_reason": finish}
    return {**envelope, "choices": [choice], **extra}


def _pieces(text: str) -> list[str]:
    """Split at spaces into pieces of about ``_PIECE_CHARS`` (whole text if short)."""
    if len(text) <= _PIECE_CHARS:
        return [text] if text else []
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + _PIECE_CHARS)
        space = text.rfind(" ", start + 1, end) if end < len(text) else -1
        if space > start:
            end = space
        pieces.append(text[start:end])
        start = end
    return pieces

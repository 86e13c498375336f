"""An upstream's own answer (Responses or Messages) carrying the stages' edits.

The stages (output guardrails, visible labels, placeholder restoring) edit the chat view
of a natively served answer; the client gets the upstream's own body or events, with
those edits put back: the answer text becomes the stages' text (in the first text
part, when the upstream split it across several), tool-call arguments the stages'
arguments, and an answer a guard cut short is ``incomplete`` (``content_filter``) or
Anthropic's ``refusal``. Everything else (reasoning items, encrypted content, server
tool results, citations, usage, cache counters) is the upstream's, untouched.

Streams: the upstream's events pass in order; its text deltas are replaced by the text
the stream stages let out (a guard holds text back, a label appends some), so an event
that closes a text part, and those after it, wait until the stages have released the
whole text (the chat stream's finish) and then carry it.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from gateway.providers import responses_chat as rc

Event = dict[str, Any]


def _chat_answer(chat: dict[str, Any]) -> tuple[str, list[str], str | None]:
    """The stages' answer text, tool-call arguments and finish reason."""
    choices = chat.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    text = message.get("content")
    arguments = [
        str((call.get("function") or {}).get("arguments") or "")
        for call in message.get("tool_calls") or ()
    ]
    return (text if isinstance(text, str) else ""), arguments, choice.get("finish_reason")


def _first_choice(chunk: dict[str, Any]) -> tuple[str, str | None]:
    """A chat chunk's text and finish reason (of choice 0, the one native answers have)."""
    for choice in chunk.get("choices") or ():
        if isinstance(choice, dict) and choice.get("index", 0) == 0:
            delta = choice.get("delta") or {}
            text = delta.get("content")
            return (text if isinstance(text, str) else ""), choice.get("finish_reason")
    return "", None


def _name_model(body: dict[str, Any], chat: dict[str, Any]) -> None:
    """The model name the chat view reports (the client's, or the upstream's snapshot
    of it, as on chat completions)."""
    if isinstance(chat.get("model"), str):
        body["model"] = chat["model"]


# --- Responses -----------------------------------------------------------------------------


def response_body(
    native: dict[str, Any], chat: dict[str, Any], own: dict[str, Any]
) -> dict[str, Any]:
    """The upstream's ``Response`` with the stages' text and arguments, and the fields
    the gateway owns (``own``: its id, the one ``previous_response_id`` and ``GET``
    know, and the client's ``previous_response_id``, which the upstream never saw)."""
    response = {**native, **own}
    _name_model(response, chat)
    text, arguments, finish = _chat_answer(chat)
    output = [dict(item) for item in response.get("output") or () if isinstance(item, dict)]
    if text != rc.output_text(response):
        _set_output_text(output, text)
    calls = [item for item in output if item.get("type") == "function_call"]
    for item, given in zip(calls, arguments, strict=False):
        item["arguments"] = given
    response["output"] = output
    if finish == "content_filter" and response.get("status") == "completed":
        response["status"] = "incomplete"
        response["incomplete_details"] = {"reason": "content_filter"}
    return response


def _set_output_text(output: list[dict[str, Any]], text: str) -> None:
    placed = False
    for item in output:
        if item.get("type") != "message":
            continue
        parts = [dict(p) for p in item.get("content") or () if isinstance(p, dict)]
        for part in parts:
            if part.get("type") == "output_text":
                part["text"] = "" if placed else text
                placed = True
        item["content"] = parts


class _NativeEvents:
    """The upstream's events in order, its text replaced by the stages' (``feed`` per
    post-stage chat chunk, as ``surface_events`` drives a translator). An event that
    closes a text part (``_closes_text``) is held, with everything after it, until the
    stages finish the answer: only then is all of its text known. Subclasses say how
    one schema's events pass (``_pass``) and carry text (``_text``)."""

    def __init__(self, upstream: deque[Event]) -> None:
        self._upstream = upstream
        self._held: list[Event] | None = None
        self._pending = ""  # the stages' text before any text part opened
        self._model: str | None = None  # as the chat view reports it
        self._finish: str | None = None  # the stages' finish reason

    def start(self) -> list[Event]:
        return []

    def feed(self, chunk: dict[str, Any]) -> list[Event]:
        text, finish = _first_choice(chunk)
        if isinstance(chunk.get("model"), str):
            self._model = chunk["model"]
        self._finish = finish or self._finish
        events = [*self._drain(), *self._text(text)]
        return [*events, *self._release()] if finish else events

    def finish(self, fallback_usage: dict[str, Any] | None = None) -> list[Event]:
        return [*self._drain(), *self._release()]

    def _drain(self) -> list[Event]:
        events: list[Event] = []
        while self._upstream:
            event = self._upstream.popleft()
            if self._held is not None:
                self._held.append(event)
            elif self._closes_text(event):
                self._held = [event]
            else:
                events.extend(self._pass(event))
        return events

    def _release(self) -> list[Event]:
        held, self._held = self._held or [], None
        return [e for event in held for e in self._pass(event)]

    def _closes_text(self, event: Event) -> bool:
        raise NotImplementedError

    def _pass(self, event: Event) -> list[Event]:
        raise NotImplementedError

    def _text(self, text: str) -> list[Event]:
        raise NotImplementedError


class ResponseEvents(_NativeEvents):
    """A native Responses stream with the stages' text, under the gateway's own fields
    (``own``), renumbered (``sequence_number``) as text deltas are replaced."""

    def __init__(self, upstream: deque[Event], own: dict[str, Any]) -> None:
        super().__init__(upstream)
        self._own = own
        self._sequence = 0
        self._template: Event | None = None  # a text delta of the open text part
        self._texts: dict[tuple[str, int], str] = {}
        self.response: dict[str, Any] | None = None  # the final Response, once seen

    def error(self, body: dict[str, Any]) -> list[Event]:
        found = body.get("error")
        error: dict[str, Any] = found if isinstance(found, dict) else body
        event = {"type": "error", "code": error.get("code"), "message": str(error.get("message"))}
        return [self._numbered({**event, "param": error.get("param")})]

    def _closes_text(self, event: Event) -> bool:
        return event.get("type") == "response.output_text.done"

    def _pass(self, event: Event) -> list[Event]:
        kind = event.get("type")
        if kind == "response.output_text.delta":
            self._template = event  # its text came through the stages as chat chunks
            return []
        event = dict(event)
        if kind == "response.content_part.added" and _is_text(event.get("part")):
            self._template = {
                "type": "response.output_text.delta",
                "item_id": event.get("item_id"),
                "output_index": event.get("output_index"),
                "content_index": event.get("content_index"),
                "delta": "",
                "logprobs": [],
            }
            pending, self._pending = self._pending, ""
            return [self._numbered(event), *self._text(pending)]
        if kind == "response.output_text.done":
            event["text"] = self._texts.get(_key(event), "")
        elif kind == "response.content_part.done" and _is_text(event.get("part")):
            event["part"] = {**event["part"], "text": self._texts.get(_key(event), "")}
        elif kind == "response.output_item.done":
            event["item"] = self._item(event.get("item"))
        if isinstance(event.get("response"), dict):
            response = {**event["response"], **self._own}
            if self._model is not None:
                response["model"] = self._model
            output = response.get("output")
            if isinstance(output, list):
                response["output"] = [self._item(item) for item in output]
            event["response"] = response
            if kind in ("response.completed", "response.incomplete"):
                if self._finish == "content_filter":  # a guard cut the answer short
                    event["type"] = "response.incomplete"
                    response.update(status="incomplete", completed_at=None)
                    response["incomplete_details"] = {"reason": "content_filter"}
                self.response = response
        return [self._numbered(event)]

    def _item(self, item: Any) -> Any:
        if not isinstance(item, dict) or item.get("type") != "message":
            return item
        parts = []
        for index, part in enumerate(item.get("content") or ()):
            if _is_text(part):
                part = {**part, "text": self._texts.get((str(item.get("id")), index), "")}
            parts.append(part)
        return {**item, "content": parts}

    def _text(self, text: str) -> list[Event]:
        if not text:
            return []
        if self._template is None:
            self._pending += text
            return []
        key = _key(self._template)
        self._texts[key] = self._texts.get(key, "") + text
        return [self._numbered({**self._template, "delta": text})]

    def _numbered(self, event: Event) -> Event:
        event["sequence_number"] = self._sequence
        self._sequence += 1
        return event


def _is_text(part: Any) -> bool:
    return isinstance(part, dict) and part.get("type") == "output_text"


def _key(event: Event) -> tuple[str, int]:
    index = event.get("content_index")
    return str(event.get("item_id")), index if isinstance(index, int) else 0


# --- Messages ------------------------------------------------------------------------------


def message_body(native: dict[str, Any], chat: dict[str, Any]) -> dict[str, Any]:
    """The upstream's message with the stages' text and tool inputs."""
    message = dict(native)
    _name_model(message, chat)
    text, arguments, finish = _chat_answer(chat)
    blocks = [dict(b) for b in message.get("content") or () if isinstance(b, dict)]
    texts = [b for b in blocks if b.get("type") == "text"]
    if text != "".join(str(b.get("text") or "") for b in texts):
        if texts:
            texts[0]["text"] = text
        blocks = [b for b in blocks if b.get("type") != "text" or b is texts[0]]
    uses = [b for b in blocks if b.get("type") == "tool_use"]
    for block, given in zip(uses, arguments, strict=False):
        try:
            block["input"] = json.loads(given) if given else {}
        except ValueError:
            continue
    message["content"] = blocks
    if finish == "content_filter" and message.get("stop_reason") != "refusal":
        message["stop_reason"] = "refusal"
    return message


class MessageEvents(_NativeEvents):
    """A native Messages stream with the stages' text."""

    def __init__(self, upstream: deque[Event]) -> None:
        super().__init__(upstream)
        self._text_blocks: set[int] = set()
        self._open: int | None = None  # the text block the stages' text goes into

    def _closes_text(self, event: Event) -> bool:
        return event.get("type") == "content_block_stop" and event.get("index") in (
            self._text_blocks
        )

    def _pass(self, event: Event) -> list[Event]:
        kind = event.get("type")
        if kind == "message_start" and self._model and isinstance(event.get("message"), dict):
            return [{**event, "message": {**event["message"], "model": self._model}}]
        if kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "text":
                index = event.get("index")
                if isinstance(index, int):
                    self._text_blocks.add(index)
                    self._open = index
                # Its initial text (if any) came through the stages as a chat chunk.
                event = {**event, "content_block": {**block, "text": ""}}
                pending, self._pending = self._pending, ""
                return [event, *self._text(pending)]
        if kind == "content_block_delta" and (event.get("delta") or {}).get("type") == "text_delta":
            return []
        if kind == "message_delta" and self._finish == "content_filter":
            return [{**event, "delta": {**(event.get("delta") or {}), "stop_reason": "refusal"}}]
        return [event]

    def _text(self, text: str) -> list[Event]:
        if not text:
            return []
        if self._open is None:
            self._pending += text
            return []
        delta = {"type": "text_delta", "text": text}
        return [{"type": "content_block_delta", "index": self._open, "delta": delta}]

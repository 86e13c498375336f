"""Output rules on a stream, chunk by chunk, with a small hold-back window.

Each choice's text is released to the client only up to ``hold_back`` characters
behind what has arrived, so any match not longer than the window (a sensitive term
split across two chunks, an e-mail address arriving a token at a time) is seen whole
before its first character leaves. A match that still touches the end of what has
arrived (a key whose length is not bounded) holds everything from its start until it
ends. At the choice's ``finish_reason`` (or the end of the stream) the rest is
flushed, checked against the full tail.

- block: the text before the match goes out, then the choice ends with
  ``finish_reason: "content_filter"``; its later chunks are dropped (the upstream is
  still read to the end, so usage is accounted).
- redact: the match is replaced by a placeholder.
- flag: noted once per rule.
- placeholders from an input ``redact`` rule with ``restore: true`` are swapped back to
  their values the same way (they too can arrive split across chunks).

Chunks whose only content is now held back are dropped; everything else (role, tool
calls, usage chunks, SSE comments) passes through in order. Logprobs are left as the
upstream sent them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.guard.compiled import CompiledRule
from gateway.guard.findings import Finding
from gateway.guard.redact import Redactor, Restorer
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import Comment, StreamItem
from gateway.telemetry.events import guard_action
from gateway.wire.types import Endpoint

CONTENT_FILTER = "content_filter"
_CONTEXT = 64  # released characters kept as look-behind context for the next scan
_RESTORE = "restore"


@dataclass(slots=True)
class _Choice:
    buffer: str = ""
    released: int = 0  # index in ``buffer`` up to which text went to the client
    blocked: bool = False
    finished: bool = False
    whole: list[str] = field(default_factory=list)  # full text, only for whole-text rules


class StreamGuard:
    def __init__(
        self,
        ctx: RequestContext,
        rules: Sequence[CompiledRule],
        redactor: Redactor,
        restorer: Restorer | None,
        hold_back: int,
    ) -> None:
        self._ctx = ctx
        self._span_rules = tuple(r for r in rules if not r.whole_text)
        self._whole_rules = tuple(r for r in rules if r.whole_text)
        self._redactor = redactor
        self._restorer = restorer
        self._hold_back = hold_back
        self._key = "text" if ctx.endpoint is Endpoint.COMPLETIONS else "content"
        self._choices: dict[int, _Choice] = {}
        self._noted: set[str] = set()
        self._last: dict[str, Any] | None = None

    async def run(self, chunks: AsyncIterator[StreamItem]) -> AsyncIterator[StreamItem]:
        async for item in chunks:
            if isinstance(item, Comment):
                yield item
                continue
            choices = item.get("choices")
            if not isinstance(choices, list) or not choices:
                # Usage (or other choice-less) chunk: everything held goes out first.
                flushed = self._flush_all(item)
                if flushed is not None:
                    yield flushed
                yield item
                continue
            self._last = item
            kept = [c for c in map(self._choice_item, choices) if c is not None]
            if kept:
                item["choices"] = kept
                yield item
        if self._last is not None:
            flushed = self._flush_all(self._last)
            if flushed is not None:
                yield flushed

    def _choice_item(self, choice: Any) -> Any:
        if not isinstance(choice, dict):
            return choice
        index = choice.get("index", 0)
        index = index if isinstance(index, int) else 0
        state = self._choices.get(index)
        if state is None:  # not setdefault: that would build a _Choice per chunk
            state = self._choices[index] = _Choice()
        if state.blocked or state.finished:
            return None
        holder = choice.get("delta") if self._key == "content" else choice
        if not isinstance(holder, dict):
            return choice
        incoming = holder.get(self._key)
        final = choice.get("finish_reason") is not None
        text = self._feed(state, incoming if isinstance(incoming, str) else "", final)
        if state.blocked:
            holder[self._key] = text
            choice["finish_reason"] = CONTENT_FILTER
            return choice
        if isinstance(incoming, str) or text:
            holder[self._key] = text
        if final:
            state.finished = True
            return choice
        if not text and _only_text(choice, holder, self._key):
            return None
        return choice

    def _flush_all(self, template: dict[str, Any]) -> dict[str, Any] | None:
        """A chunk carrying every choice's held text (the stream is ending)."""
        items = []
        for index, state in sorted(self._choices.items()):
            if state.blocked or state.finished:
                continue
            text = self._feed(state, "", True)
            state.finished = True
            item: dict[str, Any] = {"index": index}
            if self._key == "content":
                item["delta"] = {"content": text}
                item["logprobs"] = None
            else:
                item["text"] = text
                item["logprobs"] = None
            item["finish_reason"] = CONTENT_FILTER if state.blocked else None
            if text or state.blocked:
                items.append(item)
        if not items:
            return None
        envelope = {k: v for k, v in template.items() if k not in ("choices", "usage")}
        envelope["choices"] = items
        return envelope

    def _feed(self, state: _Choice, incoming: str, final: bool) -> str:
        state.buffer += incoming
        if self._whole_rules:
            state.whole.append(incoming)
            if final:
                self._judge_whole("".join(state.whole))
        buffer = state.buffer
        limit = len(buffer) if final else len(buffer) - self._hold_back
        if limit <= state.released:
            return ""
        released = state.released
        out: list[str] = []
        for finding, rule in self._findings(buffer, released):
            if finding.start >= limit:
                break
            if not final and finding.end >= len(buffer):
                limit = finding.start  # still growing: hold it until it ends
                break
            action = rule.action if rule is not None else _RESTORE
            if action == "flag":
                self._note(rule, "flag")
                continue
            if finding.start < released and action != "block":
                continue  # overlaps a span already replaced
            out.append(buffer[released : max(released, finding.start)])
            if action == "block":
                self._note(rule, "block")
                state.blocked = True
                state.released = len(buffer)
                return "".join(out)
            if rule is None:
                assert self._restorer is not None
                out.append(self._restorer.values[finding.label])
            else:
                self._note(rule, "redact")
                value = buffer[finding.start : finding.end]
                out.append(self._redactor.placeholder(rule.kind(finding), value, keep=False))
            released = finding.end
        if limit > released:
            out.append(buffer[released:limit])
            released = limit
        # Keep a little released text as look-behind context for the next scan.
        trim = max(0, released - _CONTEXT)
        state.buffer = buffer[trim:]
        state.released = released - trim
        return "".join(out)

    def _findings(self, buffer: str, released: int) -> list[tuple[Finding, CompiledRule | None]]:
        found: list[tuple[Finding, CompiledRule | None]] = []
        for rule in self._span_rules:
            found.extend((f, rule) for f in rule.detector.scan(buffer) if f.end > released)
        if self._restorer is not None:
            found.extend((f, None) for f in self._restorer.scan(buffer) if f.end > released)
        found.sort(key=lambda pair: (pair[0].start, -pair[0].end))
        return found

    def _judge_whole(self, text: str) -> None:
        for rule in self._whole_rules:
            if rule.detector.scan(text):
                self._note(rule, "flag")  # too late to withhold: the text is out

    def _note(self, rule: CompiledRule | None, action: str) -> None:
        if rule is None:
            return
        key = f"{rule.name}:{action}"
        if key not in self._noted:
            self._noted.add(key)
            guard_action(self._ctx, rule=rule.name, action=action, direction="output")


_TEXT_CHOICE_KEYS = frozenset({"index", "text", "logprobs", "finish_reason"})
_DELTA_CHOICE_KEYS = frozenset({"index", "delta", "logprobs", "finish_reason"})


def _only_text(choice: dict[str, Any], holder: dict[str, Any], key: str) -> bool:
    """True when the choice item carries nothing but (now withheld) text."""
    if choice.get("logprobs") is not None:
        return False
    if holder is choice:
        return _TEXT_CHOICE_KEYS.issuperset(choice)
    if any(v is not None for k, v in holder.items() if k != key):
        return False
    return _DELTA_CHOICE_KEYS.issuperset(choice)

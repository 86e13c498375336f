"""Output rules on streams: the hold-back window, chunk by chunk, split anywhere.

The stream guard is fed real OpenAI-shaped chunk dicts, with the answer cut into
pieces of every size from one character up, so a term or an e-mail address lands
across chunk boundaries in every possible place. Whatever the split, no character of
a blocked term may reach the client, and what does reach it is exactly the text
before the match.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.guard.compiled import CompiledRule
from gateway.guard.findings import Detector
from gateway.guard.pii import PiiDetector
from gateway.guard.redact import Redactor, Restorer
from gateway.guard.stream import StreamGuard
from gateway.guard.terms import TermMatcher
from gateway.pipeline.context import RequestContext
from gateway.pipeline.reply import Comment, StreamItem
from gateway.telemetry.events import decisions
from gateway.wire.types import Endpoint

ANSWER = "Sure. The plan for Project Kestrel is ready; write to ops@example.com for details."
BLOCKED_AT = ANSWER.index("Project Kestrel")


def rule(name: str, action: str, detector: Detector) -> CompiledRule:
    return CompiledRule(
        name=name,
        action=action,
        detector=detector,
        roles=frozenset({"assistant"}),
        restore=False,
        offload=False,
        placeholder=name.upper(),
        validator=None,
    )


TERMS = TermMatcher(["Project Kestrel"])


def chunks_of(text: str, size: int, *, usage: bool = True) -> list[StreamItem]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }

    items: list[StreamItem] = [chunk({"role": "assistant", "content": ""})]
    items += [chunk({"content": text[i : i + size]}) for i in range(0, len(text), size)]
    items.append(chunk({}, "stop"))
    if usage:
        items.append({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                      "model": "m", "choices": [], "usage": {"total_tokens": 3}})  # fmt: skip
    items.append(Comment("label"))
    return items


async def run(guard: StreamGuard, items: list[StreamItem]) -> list[StreamItem]:
    async def source() -> AsyncIterator[StreamItem]:
        for item in items:
            yield item

    return [item async for item in guard.run(source())]


def text_and_finish(items: list[StreamItem]) -> tuple[str, list[str]]:
    text, finishes = "", []
    for item in items:
        if isinstance(item, dict):
            for choice in item["choices"]:
                text += choice["delta"].get("content") or ""
                if choice["finish_reason"]:
                    finishes.append(choice["finish_reason"])
    return text, finishes


def new_guard(rules: list[CompiledRule], restorer: Restorer | None = None,
              hold_back: int = 40) -> tuple[StreamGuard, RequestContext]:  # fmt: skip
    ctx = RequestContext(Endpoint.CHAT, "req_test")
    return StreamGuard(ctx, rules, Redactor(), restorer, hold_back), ctx


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 11, 16, 40, len(ANSWER)])
async def test_blocked_term_never_leaks_whatever_the_split(size: int) -> None:
    guard, ctx = new_guard([rule("terms", "block", TERMS)])
    out = await run(guard, chunks_of(ANSWER, size))
    text, finishes = text_and_finish(out)
    assert text == ANSWER[:BLOCKED_AT]
    assert finishes == ["content_filter"]
    assert decisions(ctx).guard_actions == ["output:terms:block"]
    # The usage chunk and the trailing comment still arrive, in order.
    assert isinstance(out[-1], Comment)
    assert out[-2]["usage"] == {"total_tokens": 3}


@pytest.mark.parametrize("size", [1, 4, 9, len(ANSWER)])
async def test_redaction_and_flags_on_split_values(size: int) -> None:
    guard, ctx = new_guard([rule("pii", "redact", PiiDetector(["EMAIL"])),
                            rule("terms", "flag", TERMS)])  # fmt: skip
    text, finishes = text_and_finish(await run(guard, chunks_of(ANSWER, size)))
    assert text == ANSWER.replace("ops@example.com", "[EMAIL_1]")
    assert finishes == ["stop"]
    assert sorted(decisions(ctx).guard_actions) == ["output:pii:redact", "output:terms:flag"]


@pytest.mark.parametrize("size", [1, 3, 8])
async def test_placeholders_are_restored_even_when_split(size: int) -> None:
    restorer = Restorer({"[EMAIL_1]": "jane@example.com", "[PHONE_12]": "+86 138 1234 5678"})
    guard, _ = new_guard([], restorer, hold_back=24)
    answer = "Mail [EMAIL_1] or call [PHONE_12]; [EMAIL_2] is unknown."
    text, _ = text_and_finish(await run(guard, chunks_of(answer, size)))
    assert text == "Mail jane@example.com or call +86 138 1234 5678; [EMAIL_2] is unknown."


async def test_text_is_held_back_only_by_the_window() -> None:
    guard, _ = new_guard([rule("terms", "block", TERMS)], hold_back=10)
    clean = "word " * 20
    out = await run(guard, chunks_of(clean, 5, usage=False))
    released = [item["choices"][0]["delta"].get("content") for item in out
                if isinstance(item, dict) and item["choices"]]  # fmt: skip
    # Every chunk after the first two (10 characters held) releases exactly one chunk.
    assert released[0] == ""
    assert all(piece == "word " for piece in released[1:-1])
    assert "".join(p or "" for p in released) == clean


async def test_stream_ending_without_finish_flushes_held_text() -> None:
    guard, _ = new_guard([rule("terms", "block", TERMS)])
    items = [
        i
        for i in chunks_of("short answer", 3, usage=False)
        if not (isinstance(i, dict) and i["choices"] and i["choices"][0]["finish_reason"])
    ]
    text, _ = text_and_finish(await run(guard, items))
    assert text == "short answer"


async def test_completions_stream_uses_text_field() -> None:
    ctx = RequestContext(Endpoint.COMPLETIONS, "req_test")
    guard = StreamGuard(ctx, [rule("terms", "block", TERMS)], Redactor(), None, 32)
    items: list[StreamItem] = [
        {"id": "c", "object": "text_completion", "created": 1, "model": "m",
         "choices": [{"index": 0, "text": piece, "logprobs": None, "finish_reason": None}]}
        for piece in ("About Proj", "ect Kes", "trel now", "")
    ]  # fmt: skip
    items[-1]["choices"][0]["finish_reason"] = "stop"
    out = await run(guard, items)
    text = "".join(i["choices"][0]["text"] for i in out if isinstance(i, dict))
    assert text == "About "
    assert out[-1]["choices"][0]["finish_reason"] == "content_filter"

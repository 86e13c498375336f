"""``providers.native.approved_body``: when a client surface's own body may go upstream
natively (it carries exactly the texts the stages saw, with their edits), and when the
chat view must go instead. Pure functions, table-driven."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gateway.providers import messages_chat, responses_chat
from gateway.providers.base import Native
from gateway.providers.native import approved_body

EMAIL = "ada@example.com"
TOOL_TURNS: list[dict[str, Any]] = [
    {"role": "user", "content": "write the file"},
    {"role": "assistant", "content": [
        {"type": "tool_use", "id": "t1", "name": "Write", "input": {"content": "x = 1"}}]},
    {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t1", "content": "denied", "is_error": True}]},
]  # fmt: skip


def _messages(messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"model": "claude", "max_tokens": 50, "messages": messages, **extra}


def _redact(chat: dict[str, Any]) -> dict[str, Any]:
    """The chat view as an input guard leaves it: the e-mail address replaced."""
    edited = copy.deepcopy(chat)
    for message in edited["messages"]:
        if isinstance(message.get("content"), str):
            message["content"] = message["content"].replace(EMAIL, "<EMAIL>")
    return edited


CASES: list[tuple[str, dict[str, Any], bool, bool]] = [
    # (surface, body, redacted by an input guard, approved for native)
    ("messages", _messages(TOOL_TURNS), False, True),
    (
        "messages",
        _messages(
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "one", "cache_control": {"type": "ephemeral"}},
                        {"type": "text", "text": "two"},
                    ],
                }
            ]
        ),
        False,
        True,
    ),
    ("messages", _messages([{"role": "user", "content": f"mail {EMAIL}"}]), True, True),
    (
        "messages",
        _messages(
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": f"mail {EMAIL}"},
                        {"type": "text", "text": "two"},
                    ],
                }
            ]
        ),
        True,
        True,  # the changed middle (the address) placed within its own block
    ),
    (
        "messages",
        _messages(
            [
                *TOOL_TURNS[:2],
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "t1",
                            "content": [
                                {"type": "document", "source": {"type": "text", "data": "unseen"}}
                            ],
                        }
                    ],
                },
            ]
        ),
        False,
        False,
    ),
    ("responses", {"model": "m", "input": f"mail {EMAIL}", "instructions": "be kind"}, True, True),
    (
        "responses",
        {
            "model": "m",
            "input": [
                {
                    "type": "reasoning",
                    "id": "rs_1",
                    "encrypted_content": "enc",
                    "summary": [{"type": "summary_text", "text": "unseen thoughts"}],
                },
                {"role": "user", "content": "next"},
            ],
        },
        False,
        True,
    ),
]
CASES.append(
    (
        "messages",
        _messages([{"role": "user", "content": [
            {"type": "text", "text": f"mail {EMAIL}"}, {"type": "text", "text": f"or {EMAIL}"}]}]),
        True,
        False,  # the changed middle spans two blocks: the chat view goes instead
    )
)  # fmt: skip
IDS = ["tool-turns", "text-blocks", "redacted", "redacted-in-joined-blocks",
       "dropped-document", "responses-redacted", "responses-reasoning", "redacted-across-blocks"]  # fmt: skip


@pytest.mark.parametrize(("surface", "body", "redacted", "approved"), CASES, ids=IDS)
def test_approval(surface: str, body: dict[str, Any], redacted: bool, approved: bool) -> None:
    to_chat = (
        messages_chat.request_to_chat if surface == "messages" else responses_chat.request_to_chat
    )
    chat = to_chat(body)
    if redacted:
        chat = _redact(chat)
    sent = approved_body(Native(surface, body), chat, to_chat, "max_tokens")
    assert (sent is not None) == approved
    if sent is None:
        return
    assert EMAIL not in str(sent)
    assert "unseen" not in str(sent)
    assert (
        (sent == {**body, "max_tokens": sent.get("max_tokens")})
        or redacted
        or surface == "responses"
    )

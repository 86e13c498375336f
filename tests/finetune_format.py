"""A validator of OpenAI's chat fine-tuning JSONL, after the checks in OpenAI's
cookbook ("Data preparation and analysis for chat model fine-tuning") and the format
described for supervised fine-tuning: one JSON object per line with a ``messages``
list; roles system / user / assistant / tool; string content; ``weight`` (0 or 1) only
on assistant messages; at least one assistant message, the last message being one."""

from __future__ import annotations

import json
from collections import Counter

_ROLES = {"system", "user", "assistant", "tool"}
_MESSAGE_KEYS = {"role", "content", "name", "weight", "tool_calls", "tool_call_id"}


def validate(jsonl: bytes) -> tuple[list[dict[str, object]], Counter[str]]:
    """(examples, error counts); a clean file has no errors."""
    errors: Counter[str] = Counter()
    examples: list[dict[str, object]] = []
    text = jsonl.decode("utf-8")
    if text and not text.endswith("\n"):
        errors["missing_final_newline"] += 1
    for line in text.splitlines():
        try:
            example = json.loads(line)
        except json.JSONDecodeError:
            errors["invalid_json"] += 1
            continue
        if not isinstance(example, dict):
            errors["example_not_object"] += 1
            continue
        examples.append(example)
        messages = example.get("messages")
        if not isinstance(messages, list) or not messages:
            errors["missing_messages_list"] += 1
            continue
        for message in messages:
            if not isinstance(message, dict) or "role" not in message:
                errors["message_missing_key"] += 1
                continue
            if set(message) - _MESSAGE_KEYS:
                errors["message_unrecognized_key"] += 1
            if message["role"] not in _ROLES:
                errors["unrecognized_role"] += 1
            content = message.get("content")
            if not isinstance(content, str) and not message.get("tool_calls"):
                errors["missing_content"] += 1
            if "weight" in message and (
                message["role"] != "assistant" or message["weight"] not in (0, 1)
            ):
                errors["invalid_weight"] += 1
        if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages):
            errors["example_missing_assistant_message"] += 1
        elif not isinstance(messages[-1], dict) or messages[-1].get("role") != "assistant":
            errors["last_message_not_assistant"] += 1
    return examples, errors

"""Rated requests as OpenAI fine-tuning examples (chat format), one JSON object a line.

Each example is the request's prompt messages followed by one assistant message: the
rater's correction when given (trained on), else the original answer with
``weight: 0`` (kept for a reviewer to correct; fine-tuning learns nothing from it).
Text is redacted by the team's policy (``guard.export_redaction``, handed over by the
app). Requests whose prompt and answer were not retained (the team did not opt in, or
the transcript expired) cannot become examples; the export counts them and says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from gateway.feedback.records import FeedbackRecord, Transcript
from gateway.feedback.service import Redact

_ROLES = ("system", "developer", "user", "assistant", "tool")
_encode = msgspec.json.Encoder().encode


@dataclass(slots=True)
class Export:
    lines: list[bytes] = field(default_factory=list)
    # Rated requests without retained text.
    missing: int = 0


def example(feedback: FeedbackRecord, transcript: Transcript, redact: Redact) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    for message in transcript.messages:
        role = message.get("role")
        text = _text(message.get("content"))
        if role not in _ROLES or text is None:
            continue
        # The fine-tuning format knows no "developer" role: it is the system prompt.
        messages.append(
            {"role": "system" if role == "developer" else role, "content": redact(text)}
        )
    messages = [m for m in messages if m["role"] != "tool"]  # tool results need their calls
    if feedback.correction:
        messages.append({"role": "assistant", "content": redact(feedback.correction)})
    else:
        weight = 1 if feedback.rating == "good" else 0
        messages.append(
            {"role": "assistant", "content": redact(transcript.answer), "weight": weight}
        )
    return {"messages": messages}


def build(rated: Sequence[tuple[FeedbackRecord, Transcript | None]], redact: Redact) -> Export:
    out = Export()
    for feedback, transcript in rated:
        if transcript is None:
            out.missing += 1
            continue
        out.lines.append(_encode(example(feedback, transcript, redact)) + b"\n")
    return out


def _text(content: object) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        ]
        return "\n".join(parts) if parts else None
    return None

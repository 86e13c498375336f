"""What the feedback store keeps: ratings, retained transcripts, experiment switches."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from msgspec import Struct, field

Rating = Literal["good", "bad"]


class FeedbackRecord(Struct, kw_only=True, forbid_unknown_fields=False):
    """One rating of one request (a later rating of the same request replaces it).
    ``experiment``/``variant`` are copied from the request's ledger note so experiment
    reports need no join."""

    team: str
    request_id: str
    key_id: str
    rating: Rating
    time: float
    correction: str | None = None
    comment: str | None = None
    experiment: str = ""
    variant: str = ""


class Transcript(Struct, kw_only=True, forbid_unknown_fields=False):
    """A request's prompt messages and answer, kept only for teams that opt in. The
    prompt is as forwarded upstream (after input guardrails redacted it)."""

    team: str
    request_id: str
    time: float
    expires_at: float
    messages: list[dict[str, Any]] = field(default_factory=list)
    answer: str = ""


encode = msgspec.json.Encoder().encode
feedback_decoder = msgspec.json.Decoder(FeedbackRecord)
transcript_decoder = msgspec.json.Decoder(Transcript)

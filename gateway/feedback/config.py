"""The per-team ``feedback:`` section: what the feedback feature may keep.

Prompt and answer text are retained only when the team opts in (``retain_content``);
without it, feedback still records ratings and corrections, but the fine-tuning export
has no prompts to pair them with and says so.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct


class TeamFeedback(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    retain_content: bool = False
    # Retained transcripts expire after this many days.
    retention_days: Annotated[int, Meta(ge=1)] = 30

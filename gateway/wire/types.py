"""Neutral types every layer shares: which endpoint a request is for, and its usage.

They live here, below the pipeline and the providers, so a translator can report usage
and a stage can branch on the endpoint without importing the request context.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum


class Endpoint(StrEnum):
    """An OpenAI endpoint, valued by its path under ``/v1``."""

    CHAT = "chat/completions"
    COMPLETIONS = "completions"
    EMBEDDINGS = "embeddings"


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    # Prompt tokens written to the provider's prompt cache (Anthropic bills them apart).
    cache_write_tokens: int = 0
    # True when counted by the gateway rather than reported by the upstream.
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def add_usage(first: Usage | None, second: Usage | None) -> Usage | None:
    """Two upstream calls for one request (a repair, a retry): both are billed, so the
    settled usage is their sum."""
    if first is None or second is None:
        return second or first
    total = Usage(estimated=first.estimated or second.estimated)
    for item in dataclasses.fields(Usage):
        value = getattr(first, item.name)
        if isinstance(value, int) and not isinstance(value, bool):
            setattr(total, item.name, value + getattr(second, item.name))
    return total

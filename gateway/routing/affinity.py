"""Where a request's KV cache probably is: session stickiness and prefix affinity.

Session affinity: a client that names its conversation (``x-session-id``) goes back to
the target that served it last, while that target stays usable, so a multi-turn chat
reuses one engine's cache without the gateway reading the prompt.

Prefix affinity: the prompt text is cut into fixed-size blocks (64 characters, about 16
tokens) and hashed as a chain, so equal hashes at position i mean equal prompts up to
there (the scheme KV caches use for token blocks, applied to characters). Hashes are
taken at geometric checkpoints (1, 2, 3, 4, 6, 8, ... blocks), not at every block: a
2,000-token prompt costs 14 hashes, not 125. The index maps hashes to the target that
last served them; a new request's longest indexed chain says which engine holds its
prefix. Hashes are Python's own (salted per process): the index is per worker and only
ever compared within it.

Both maps are bounded and evict their oldest entries first (dicts keep insertion
order; refreshing an entry re-inserts it).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from gateway.wire.types import Endpoint

_SESSION_CAPACITY = 100_000
_SESSION_TTL_S = 3600.0
_PREFIX_CAPACITY = 200_000


class SessionMap:
    """session key → label of the target that last served it."""

    def __init__(self, capacity: int = _SESSION_CAPACITY, ttl_s: float = _SESSION_TTL_S) -> None:
        self._capacity = capacity
        self._ttl_s = ttl_s
        self._entries: dict[str, tuple[str, float]] = {}

    def get(self, key: str, now: float | None = None) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] < (time.monotonic() if now is None else now):
            del self._entries[key]
            return None
        return entry[0]

    def remember(self, key: str, label: str, now: float | None = None) -> None:
        entries = self._entries
        entries.pop(key, None)
        entries[key] = (label, (time.monotonic() if now is None else now) + self._ttl_s)
        if len(entries) > self._capacity:
            del entries[next(iter(entries))]

    def __len__(self) -> int:
        return len(self._entries)


class PrefixIndex:
    """chained block hash → label of the target that last served that prefix."""

    def __init__(self, capacity: int = _PREFIX_CAPACITY) -> None:
        self._capacity = capacity
        self._owner: dict[int, str] = {}

    def match(self, hashes: list[int]) -> dict[str, int]:
        """label → number of leading checkpoint hashes it holds (stops at the first miss)."""
        owner = self._owner
        matched: dict[str, int] = {}
        for position, block in enumerate(hashes, 1):
            label = owner.get(block)
            if label is None:
                break
            matched[label] = position
        return matched

    def remember(self, hashes: Iterable[int], label: str) -> None:
        owner = self._owner
        for block in hashes:
            owner.pop(block, None)
            owner[block] = label
        while len(owner) > self._capacity:
            del owner[next(iter(owner))]

    def __len__(self) -> int:
        return len(self._owner)


def checkpoints(max_blocks: int) -> tuple[int, ...]:
    """Block counts at which a prompt's prefix is hashed: 1, 2, 3, 4, 6, 8, 12, 16, ...
    (powers of two and the midpoints between them). Matching to the nearest checkpoint
    below the true shared length is precise enough to find the engine holding a long
    prefix, and costs O(log n) hashes and lookups instead of one per block."""
    marks = {1}
    step = 2
    while step <= max_blocks:
        marks.add(step)
        if step + step // 2 <= max_blocks:
            marks.add(step + step // 2)
        step *= 2
    return tuple(sorted(marks))


def block_hashes(text: str, block_chars: int, marks: tuple[int, ...]) -> list[int]:
    """Chained hashes of ``text`` cut at the checkpoints that fall within its whole
    blocks (a partial last block is not cached by engines either): equal hashes at
    position i mean equal prompts up to checkpoint i."""
    hashes: list[int] = []
    chain = 0
    start = 0
    whole = len(text) // block_chars
    for mark in marks:
        if mark > whole:
            break
        end = mark * block_chars
        chain = hash((chain, text[start:end]))
        hashes.append(chain)
        start = end
    return hashes


def prompt_text(endpoint: Endpoint, body: dict[str, Any]) -> str:
    """The prompt as the engine will see it, roughly: roles and texts in order."""
    if endpoint is Endpoint.CHAT:
        parts: list[str] = []
        for message in body.get("messages") or ():
            if not isinstance(message, dict):
                continue
            parts.append(str(message.get("role")))
            parts.append("\x1f")
            content = message.get("content")
            if isinstance(content, str):
                parts.append(content)
            elif isinstance(content, list):
                parts.extend(
                    p["text"]
                    for p in content
                    if isinstance(p, dict) and isinstance(p.get("text"), str)
                )
            parts.append("\x1e")
        return "".join(parts)
    if endpoint is Endpoint.COMPLETIONS:
        prompt = body.get("prompt")
        if isinstance(prompt, str):
            return prompt
        if isinstance(prompt, list) and prompt and isinstance(prompt[0], str):
            return str(prompt[0])
    return ""

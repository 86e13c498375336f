"""Placeholders for redacted values, and putting them back into the answer.

Within one request the same value always gets the same placeholder (``[EMAIL_1]``,
``[PHONE_2]``, ``[TERM_1]``), so the model can still refer to "the e-mail address"
consistently. When the rule asks for it (``restore: true``), the placeholder → value
map is kept on the request and ``Restorer`` swaps the originals back into the answer
before the client sees it; the provider never sees them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gateway.guard.findings import Finding


@dataclass(slots=True)
class Redactor:
    """Per-request placeholder numbering and the restore map."""

    restore: dict[str, str] = field(default_factory=dict)
    _assigned: dict[tuple[str, str], str] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)

    def placeholder(self, kind: str, value: str, *, keep: bool) -> str:
        key = (kind, value)
        token = self._assigned.get(key)
        if token is None:
            number = self._counts.get(kind, 0) + 1
            self._counts[kind] = number
            token = f"[{kind}_{number}]"
            self._assigned[key] = token
        if keep:
            self.restore[token] = value
        return token

    def apply(self, text: str, spans: list[tuple[Finding, str, bool]]) -> str:
        """Replace each (finding, kind, keep) span; spans may overlap (merged)."""
        merged = _merge(spans)
        pieces: list[str] = []
        position = 0
        for start, end, kind, keep in merged:
            pieces.append(text[position:start])
            pieces.append(self.placeholder(kind, text[start:end], keep=keep))
            position = end
        pieces.append(text[position:])
        return "".join(pieces)


def _merge(spans: list[tuple[Finding, str, bool]]) -> list[tuple[int, int, str, bool]]:
    ordered = sorted(spans, key=lambda s: (s[0].start, -s[0].end))
    merged: list[tuple[int, int, str, bool]] = []
    for finding, kind, keep in ordered:
        if merged and finding.start < merged[-1][1]:
            start, end, first_kind, first_keep = merged[-1]
            merged[-1] = (start, max(end, finding.end), first_kind, first_keep and keep)
        else:
            merged.append((finding.start, finding.end, kind, keep))
    return merged


class Restorer:
    """Finds this request's placeholders in text (``scan`` makes it a detector for the
    stream hold-back) and gives back their original values."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = dict(values)
        self._pattern = re.compile("|".join(map(re.escape, sorted(values, key=len, reverse=True))))
        self.max_span = max(map(len, values))

    def scan(self, text: str) -> list[Finding]:
        return [Finding(m.start(), m.end(), m.group()) for m in self._pattern.finditer(text)]

    def restore(self, text: str) -> str:
        return self._pattern.sub(lambda m: self.values[m.group()], text)

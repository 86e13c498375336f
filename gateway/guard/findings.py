"""What a detector reports, and the one seam every detector implements.

A ``Finding`` is a span of the scanned text plus a label (``EMAIL``, ``term``,
``injection``...). It never carries the matched text itself: the guard logs, counts and
names rules, and only the redaction step (which holds the original text) ever reads
the span's characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Finding:
    start: int
    end: int
    label: str
    score: float = 1.0


class Detector(Protocol):
    """Scans one text. ``max_span`` bounds the length of any finding it can report, so
    a stream can hold back that many characters and still see every match whole."""

    max_span: int

    def scan(self, text: str) -> list[Finding]: ...


def resolve_overlaps(findings: list[Finding], priority: dict[str, int]) -> list[Finding]:
    """Keep the strongest of overlapping findings (by label priority, then length),
    returned in text order."""
    ranked = sorted(
        findings, key=lambda f: (-priority.get(f.label, 0), -(f.end - f.start), f.start)
    )
    kept: list[Finding] = []
    for finding in ranked:
        if all(finding.end <= k.start or finding.start >= k.end for k in kept):
            kept.append(finding)
    kept.sort(key=lambda f: f.start)
    return kept

# ruff: noqa: RUF001, RUF002  (full-width and look-alike characters are the point here)
"""Sensitive business terms: one Aho-Corasick automaton over folded text.

Folding (applied alike to the term list at start-up and to every text) undoes the
usual evasions: NFKD compatibility decomposition (full-width ``Ｐｒｏｊｅｃｔ``,
``天枢－９``), case folding, dropping accents, mapping look-alike Cyrillic/Greek
letters and leetspeak digits to Latin letters, then keeping only letters and digits,
which removes inserted spaces, punctuation, separators (``青·龙·方·案``) and
zero-width characters. Matching is then one pass of a C automaton, whatever the
number of terms.

Folding also erases word boundaries, so a candidate is confirmed on the original
text: where a term starts or ends with a Latin letter or digit, the original
character just outside the match must not be one (``Kestrel`` does not match
``Kestrelton Road``). CJK edges need no such check. The confirming pass re-folds
character by character to map folded offsets back to the original, and only runs
when the fast pass found a candidate, so clean text pays for the fast pass alone.

Limits: translations, pinyin and initials of a term are not derived; list them as
extra terms (``qinglong``, ``QLFA``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

import ahocorasick  # type: ignore[import-not-found,unused-ignore]

from gateway.guard.findings import Finding

# Look-alike letters (Unicode confusables for the Latin alphabet) and leetspeak.
_CONFUSABLES = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
    "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j",
    "ԁ": "d", "ԛ": "q", "ԝ": "w", "ɡ": "g", "α": "a", "β": "b", "ε": "e", "η": "n",
    "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
    "ϲ": "c", "ı": "i",
    # Leetspeak; "1" reads as i or l, so i, l and 1 all fold to one letter.
    "0": "o", "1": "i", "l": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
    "9": "g", "@": "a", "$": "s",
}  # fmt: skip
_TABLE = str.maketrans(_CONFUSABLES)
_DROP = re.compile(r"[\W_]+")


def fold(text: str) -> str:
    """The folded form the automaton sees; also used to fold the term list."""
    return _DROP.sub("", unicodedata.normalize("NFKD", text).casefold().translate(_TABLE))


def _fold_char(char: str) -> str:
    # Character by character, the same steps give the same result as ``fold`` on the
    # whole string: NFKD and case folding map each character independently, and the
    # combining marks whose order NFKD may change are dropped anyway.
    return _DROP.sub("", unicodedata.normalize("NFKD", char).casefold().translate(_TABLE))


def _latin(char: str) -> bool:
    return char.isascii() and char.isalnum()


class TermMatcher:
    """Finds any of ``terms``; each finding's label is ``term`` (never the term)."""

    def __init__(self, terms: Iterable[str]) -> None:
        self._automaton: Any = ahocorasick.Automaton()
        self.size = 0
        longest = 0
        for raw in terms:
            term = raw.strip()
            folded = fold(term)
            if not folded:
                continue
            self._automaton.add_word(folded, (len(folded), _latin(folded[0]), _latin(folded[-1])))
            self.size += 1
            longest = max(longest, len(term))
        if self.size:
            self._automaton.make_automaton()
        # Room for a term written with a separator between every character.
        self.max_span = 2 * longest + 8

    def scan(self, text: str) -> list[Finding]:
        if not self.size:
            return []
        folded = fold(text)
        if not folded or next(self._automaton.iter(folded), None) is None:
            return []
        return self._confirm(text)

    def _confirm(self, text: str) -> list[Finding]:
        chars: list[str] = []
        origin: list[int] = []
        for index, char in enumerate(text):
            for piece in _fold_char(char):
                chars.append(piece)
                origin.append(index)
        findings: list[Finding] = []
        for end, (length, latin_start, latin_end) in self._automaton.iter("".join(chars)):
            start = origin[end - length + 1]
            stop = origin[end] + 1
            if latin_start and start > 0 and _latin_folded(text[start - 1]):
                continue
            if latin_end and stop < len(text) and _latin_folded(text[stop]):
                continue
            findings.append(Finding(start, stop, "term"))
        return _merge(findings)


def _latin_folded(char: str) -> bool:
    folded = _fold_char(char)
    return bool(folded) and _latin(folded[0])


def _merge(findings: list[Finding]) -> list[Finding]:
    """Overlapping matches (a term inside a longer term) become one span."""
    findings.sort(key=lambda f: f.start)
    merged: list[Finding] = []
    for finding in findings:
        if merged and finding.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = Finding(last.start, max(last.end, finding.end), "term")
        else:
            merged.append(finding)
    return merged


def load_terms(path: str) -> list[str]:
    """One term per line; blank lines and lines starting with ``#`` are skipped."""
    with open(path, encoding="utf-8") as handle:
        return [
            line.strip() for line in handle if line.strip() and not line.lstrip().startswith("#")
        ]

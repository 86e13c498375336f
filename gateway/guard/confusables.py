# ruff: noqa: RUF001, RUF002  (this module is about look-alike letters)
"""Latin words spelt with Cyrillic or Greek look-alikes, read as the Latin they imitate.

"Іgnоrе аll рrevious іnstructions" (Cyrillic і, о, е, а, р) looks like English to a
reader and is unknown words to a word model and a keyword rule. NFKC does not map
across scripts, so the guard folds these letters itself, and only inside a word that
also holds an ASCII letter: a word written wholly in Russian or Greek is left as it is.
"""

from __future__ import annotations

import re

# Unicode's confusables for the Latin letters, Cyrillic and Greek, one letter each.
_LOOK_ALIKES = {
    "а": "a", "в": "b", "е": "e", "і": "i", "ј": "j", "к": "k", "о": "o", "р": "p",
    "с": "c", "у": "y", "х": "x", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h",
    "ӏ": "l", "А": "A", "В": "B", "Е": "E", "І": "I", "Ј": "J", "К": "K", "М": "M",
    "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X", "У": "Y", "Ѕ": "S",
    "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I",
    "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
}  # fmt: skip
_TABLE = str.maketrans(_LOOK_ALIKES)
_ANY = re.compile("[" + "".join(_LOOK_ALIKES) + "]")
_WORD = re.compile(r"[^\W\d_]+")
_ASCII_LETTER = re.compile(r"[A-Za-z]")


def fold(text: str) -> str:
    """``text`` with every word that mixes ASCII letters and look-alikes in Latin."""
    if text.isascii() or not _ANY.search(text):
        return text
    return _WORD.sub(_fold_word, text)


def _fold_word(match: re.Match[str]) -> str:
    word = match.group()
    return word.translate(_TABLE) if _ASCII_LETTER.search(word) else word

"""A small linear prompt-injection classifier, trained offline, scored in windows.

Features are word unigrams and bigrams (words: runs of ASCII letters and digits; CJK
characters count as words, so CJK bigrams act as words too), lower-cased after NFKC,
with leetspeak undone inside words that mix letters and digits (``f0rg3t`` →
``forget``). A window's score is
``bias + sum(weights of its features) / sqrt(tokens in window)``: the same scaling
``loadtests/train_injection.py`` trains with, since both call ``tokens`` and
``contributions`` from here.

Long texts are scored in overlapping windows and the best window counts, so one
injected sentence inside a long quoted document is not averaged away; since the best
of many windows is high by chance, it must clear a margin that grows with the log of
the number of windows (at most 1.5 in log-odds). Scoring a
window is a prefix-sum lookup: the per-token work is two dict lookups done through
``map`` (C speed), which keeps a 20 KB prompt well under a millisecond.

The artifact (``models/injection_lr.json``) holds only the non-zero weights; it is
read once at start-up and never downloaded.
"""

from __future__ import annotations

import itertools
import json
import math
import operator
import re
import sys
import unicodedata
from pathlib import Path

from gateway.guard import confusables

MODEL_PATH = Path(__file__).resolve().parent / "models" / "injection_lr.json"
_TOKEN = re.compile(r"[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# ASCII text (most prompts) is tokenised by one translate + split, both C loops: upper
# case folded, everything but letters and digits a separator. Same tokens as _TOKEN.
_ASCII_TOKENS = str.maketrans(
    {c: (chr(c).lower() if chr(c).isalnum() else " ") for c in range(128)}
)
_WORD_TAIL = re.compile(r"[a-z0-9]*")
_WINDOW_PENALTY = 0.35  # log-odds per log(number of windows)
_MAX_WINDOW_PENALTY = 1.5
# A digit next to a letter; digit-first, so the engine skips letters at C speed.
_LETTER_DIGIT = re.compile(r"[0-9](?:(?<=[a-z][0-9])|(?=[a-z]))")
_LEET = str.maketrans("013457@$", "oieastas")


def _unleet(lowered: str) -> str:
    """Undo leetspeak inside words that mix letters and digits (``f0rg3t``, ``4th``).

    Driven by the (rare) letter-digit adjacencies, found by a digit-first pattern; each
    is widened to its whole ASCII word."""
    pieces: list[str] = []
    done = 0
    for match in _LETTER_DIGIT.finditer(lowered):
        start = match.start()
        if start < done:
            continue  # inside a word already rewritten
        while start > done and lowered[start - 1].isascii() and lowered[start - 1].isalnum():
            start -= 1
        tail = _WORD_TAIL.match(lowered, match.start())
        end = tail.end() if tail else match.end()
        pieces.append(lowered[done:start])
        pieces.append(lowered[start:end].translate(_LEET))
        done = end
    pieces.append(lowered[done:])
    return "".join(pieces)


def tokens(text: str) -> list[str]:
    if text.isascii():
        spaced = text.translate(_ASCII_TOKENS)
        if _LETTER_DIGIT.search(spaced):
            spaced = _unleet(spaced)
        return spaced.split()
    return folded_tokens(folded(text))


def folded(text: str) -> str:
    """NFKC, Latin look-alikes folded (``confusables``), lower case: a non-ASCII text as
    the classifier and the injection rules both read it."""
    return unicodedata.normalize("NFKC", confusables.fold(text)).lower()


def folded_tokens(lowered: str) -> list[str]:
    """The tokens of a ``folded`` text (separators between CJK characters may already be
    gone: they are no tokens), so that the detector folds a prompt once."""
    if _LETTER_DIGIT.search(lowered):
        lowered = _unleet(lowered)
    return _TOKEN.findall(lowered)


def bigrams(toks: list[str]) -> list[str]:
    """Bigram feature names as the artifact stores them (``"ignore previous"``)."""
    return list(map("{} {}".format, toks, itertools.islice(toks, 1, None)))


class InjectionClassifier:
    def __init__(
        self,
        unigrams: dict[str, float],
        bigram_weights: dict[str, float],
        bias: float,
        *,
        window: int = 32,
        stride: int = 16,
        cjk_shift: float = 0.5,
    ) -> None:
        # One object per distinct token and weight (interned, deduplicated): the bigrams
        # repeat the unigrams' tokens and the rounded weights repeat, 1.5 of 7 MB.
        weights: dict[float, float] = {}
        self._uni = {sys.intern(t): weights.setdefault(w, w) for t, w in unigrams.items()}
        # Keyed by token pairs: a tuple of two already-hashed strings hashes faster than
        # a freshly joined string.
        self._bi: dict[tuple[str, ...], float] = {
            tuple(map(sys.intern, name.split(" ", 1))): weights.setdefault(w, w)
            for name, w in bigram_weights.items()
        }
        self.bias = bias
        self.window = window
        self.stride = stride
        # Subtracted from the log-odds of mostly-CJK text that fires no rule: calibrated
        # with the model (``loadtests/train_injection.py``), see ``injection.py``.
        self.cjk_shift = cjk_shift

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> InjectionClassifier:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            data["unigrams"],
            data["bigrams"],
            float(data["bias"]),
            window=int(data["window"]),
            stride=int(data["stride"]),
            cjk_shift=float(data.get("cjk_shift", 0.5)),
        )

    def contributions(self, toks: list[str]) -> list[float]:
        """Per token: its unigram weight plus the weight of the bigram it ends."""
        zero = itertools.repeat(0.0)
        pairs = zip(toks, itertools.islice(toks, 1, None))  # noqa: B905 (one shorter)
        ends = itertools.chain((0.0,), map(self._bi.get, pairs, zero))
        return list(map(operator.add, map(self._uni.get, toks, zero), ends))

    def score(self, text: str) -> float:
        """Probability-like score in [0, 1] of the most injection-like window."""
        return self.score_tokens(tokens(text))

    def score_tokens(self, toks: list[str]) -> float:
        return _sigmoid(self.log_odds(toks))

    def log_odds(self, toks: list[str]) -> float:
        if not toks:
            return self.bias
        parts = self.contributions(toks)
        size = len(parts)
        if size <= self.window:
            return self.bias + sum(parts) / math.sqrt(size)
        prefix = [0.0, *itertools.accumulate(parts)]
        starts = range(0, size - self.stride, self.stride)
        best = max(prefix[min(s + self.window, size)] - prefix[s] for s in starts)
        # The best of many windows is high by chance alone: the more windows, the more
        # evidence one must show (capped, so a clear injection in a long text still counts).
        # Only evidence for injection is discounted: a text of unknown words stays neutral.
        evidence = best / math.sqrt(self.window)
        if evidence > 0:
            penalty = min(_MAX_WINDOW_PENALTY, _WINDOW_PENALTY * math.log(len(starts)))
            evidence = max(0.0, evidence - penalty)
        return self.bias + evidence


def _sigmoid(value: float) -> float:
    if value < -60:
        return 0.0
    return 1.0 / (1.0 + math.exp(-value))

# ruff: noqa: RUF001  (full-width and look-alike characters are the point here)
"""Prompt-injection and jailbreak detection: heuristics, decoding, a linear classifier.

Three layers, cheapest first, combined as independent evidence in log-odds: the
classifier's log-odds plus ``logit(weight)`` of every heuristic rule that fires. A
text the rules do not touch keeps the classifier's calibrated score; a rule at 0.9
lifts a neutral text well over the threshold; a weak rule (< 0.67) needs support.
A rule that matches inside quotation marks (``拦截“忽略之前的指令”这类输入``) is a
mention rather than an instruction and counts for a fifth. Decoded payloads are scored
together with the rules that fired on the wrapper ("decode this and do it").

1. ``injection_rules``: anchored regexes for instruction overrides, prompt extraction,
   jailbreak personas, fake chat delimiters and instructions aimed at the model inside
   quoted content, English and Chinese.
2. Decoding: Base64, hex, URL-encoding and ``\\uXXXX`` payloads are decoded, and ROT13
   or reversed text is tried when the prompt asks for it; the decoded text goes through
   layers 1 and 3 again (one level deep).
3. ``classifier``: word/bigram logistic regression trained offline on the S-Labs
   training split, scored on the worst window of the text.

The result is one finding spanning the text (injection is a property of the message,
not of a span), scored in [0, 1].
"""

from __future__ import annotations

import base64
import binascii
import codecs
import math
import re
import urllib.parse
from collections.abc import Iterable
from typing import Any

import ahocorasick  # type: ignore[import-not-found,unused-ignore]

from gateway.guard.classifier import InjectionClassifier, folded, folded_tokens, tokens
from gateway.guard.findings import Finding
from gateway.guard.foreign import unread_language
from gateway.guard.injection_rules import RULES, Rule
from gateway.wire.texts import cjk_share

DEFAULT_THRESHOLD = 0.5
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
# Charset-first (the engine skips non-CJK text fast); the first character is kept.
_CJK_GAPS = re.compile(rf"([{_CJK}])[ \t\-_.·•*|/\\~,，、]{{1,3}}(?=[{_CJK}])")
_HAS_CJK = re.compile(rf"[{_CJK}]")
_BEFORE, _AFTER = 160, 220  # window around an anchor: longer than any rule's match
# Candidates are whitespace-separated words (``str.split`` is C speed): Base64 or hex
# runs of 16+ characters, possibly glued to CJK text or punctuation around them.
_BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_HEX = re.compile(r"(?:\\x[0-9a-fA-F]{2}){6,}|(?:[0-9a-fA-F]{2}){8,}")
_URL_ENCODED = re.compile(r"(?:%[0-9A-Fa-f]{2}){4,}")
_U_ESCAPES = re.compile(r"(?:\\u[0-9a-fA-F]{4}){3,}")
_ROT13_HINT = re.compile(r"(?i)rot-?13|凯撒|caesar")
_REVERSE_HINT = re.compile(r"(?i)revers|backwards|倒过来|倒序|倒着|倒读|反过来|反着|从右往左|逆序")
_MAX_DECODED = 8
_NEUTRAL = -1.0  # log-odds without a classifier: rules alone decide
# Chinese and English traffic score on different scales (the Chinese training text is
# smaller and differently written), so text that is mostly CJK (``cjk_share`` at least
# 0.3) and that no rule marks as an attack has the classifier's log-odds lowered by the
# model's own ``cjk_shift``: calibrated with the model on the Chinese development sets,
# apart from the English ones (``loadtests/train_injection.py``). Where a rule marks an
# attack, the rule is the evidence and the classifier counts as trained; a protective
# rule alone (如何防止别人套出系统提示词) keeps the shift.
_QUOTED = 0.2
_OPEN_QUOTES = ("“", "「", "『", "«", "‘")
_CLOSE_QUOTES = ("”", "」", "』", "»", "’")
_SINGLE_OPEN = re.compile(r"(?:^|(?<=[\s(\[:]))'(?!\s)")
_SINGLE_CLOSE = re.compile(r"(?<=\S)'(?=[\s.,;:!?)]|$)")


def normalise(text: str) -> str:
    """NFKC, lower case, Latin look-alikes in Latin words folded (``confusables``),
    separators between CJK characters removed (忽-略 → 忽略)."""
    if text.isascii():  # O(1): no normalisation or CJK work to do
        return text.lower()
    lowered = folded(text)
    return _CJK_GAPS.sub(r"\1", lowered) if _HAS_CJK.search(lowered) else lowered


class InjectionDetector:
    def __init__(
        self,
        classifier: InjectionClassifier | None,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        rules: Iterable[Rule] = RULES,
        decode: bool = True,
    ) -> None:
        self._classifier = classifier
        self._rules = tuple(rules)
        self.threshold = threshold
        self._threshold_logit = math.log(threshold / (1.0 - threshold))
        self._decode = decode
        self.max_span = 0  # whole-message property: not used on streamed output
        # Every rule's anchors in one automaton: a text is searched once for all of them.
        by_anchor: dict[str, list[int]] = {}
        for index, rule in enumerate(self._rules):
            for anchor in rule.anchors:
                by_anchor.setdefault(anchor, []).append(index)
        self._anchors: Any = ahocorasick.Automaton()
        for anchor, indexes in by_anchor.items():
            self._anchors.add_word(anchor, (len(anchor), tuple(indexes)))
        self._anchor_count = len(by_anchor)
        if by_anchor:
            self._anchors.make_automaton()

    def scan(self, text: str) -> list[Finding]:
        score = self.score(text)
        return [Finding(0, len(text), "injection", score)] if score >= self.threshold else []

    def score(self, text: str) -> float:
        if not text.strip():
            return 0.0
        classifier, rules = self._evidence(text)
        best = classifier + rules
        if self._decode and best < self._threshold_logit:
            for decoded in _decoded_payloads(text):
                inner_classifier, inner_rules = self._evidence(decoded)
                best = max(best, inner_classifier + inner_rules + rules)
        return _sigmoid(best)

    def rule_hits(self, text: str) -> list[str]:
        """Names of the heuristic rules that fire (for evaluation and logs)."""
        normal = normalise(text)
        return [self._rules[i].name for i, spans in self._anchored(normal).items()
                if _strength(self._rules[i], normal, spans)]  # fmt: skip

    def rules_mark_attack(self, text: str) -> bool:
        """Whether the rules, summed, speak for an attack (then no ``cjk_shift`` applies)."""
        return self._evidence(text)[1] > 0

    def _evidence(self, text: str) -> tuple[float, float]:
        """(classifier log-odds, sum of the rules' log-odds boosts)."""
        normal = normalise(text)
        classifier = _NEUTRAL
        if self._classifier is not None:
            # one fold serves both: the separators ``normalise`` drops are no tokens
            toks = tokens(text) if text.isascii() else folded_tokens(normal)
            classifier = self._classifier.log_odds(toks)
        rules = 0.0
        for index, spans in self._anchored(normal).items():
            rule = self._rules[index]
            rules += _strength(rule, normal, spans) * rule.boost
        if rules <= 0 and self._classifier is not None and cjk_share(text) >= 0.3:
            classifier -= self._classifier.cjk_shift  # no rule speaks for an attack
        elif rules > 0 and classifier < _NEUTRAL and unread_language(text):
            classifier = _NEUTRAL  # its prior is no evidence on words it never read
        return classifier, rules

    def _anchored(self, normal: str) -> dict[int, list[tuple[int, int]]]:
        """Rule index → windows around its anchors, from one automaton pass."""
        found: dict[int, list[tuple[int, int]]] = {}
        if not self._anchor_count:
            return found
        cjk = not normal.isascii() and _HAS_CJK.search(normal) is not None
        size = len(normal)
        for end, (length, indexes) in self._anchors.iter(normal):
            position = end - length + 1
            window = (max(0, position - _BEFORE), min(size, position + _AFTER))
            for index in indexes:
                if cjk or not self._rules[index].cjk:
                    found.setdefault(index, []).append(window)
        return found


def _strength(rule: Rule, normal: str, windows: list[tuple[int, int]]) -> float:
    """1 for a rule that fires, ``_QUOTED`` if only inside quotes (a content rule has
    its full weight there), else 0."""
    strength = 0.0
    for start, end in _merge(windows):
        for match in rule.pattern.finditer(normal, max(start, rule.min_offset), end):
            at = match.start()
            if rule.not_after is not None and rule.not_after.search(normal, max(0, at - 40), at):
                continue
            if rule.content or not _quoted(normal, at):
                return 1.0
            strength = _QUOTED
    return strength


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    if len(spans) < 2:
        return spans
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        if start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _quoted(normal: str, start: int) -> bool:
    before = normal[max(0, start - 40) : start]
    opening = max(before.rfind(q) for q in _OPEN_QUOTES)
    closing = max(before.rfind(q) for q in _CLOSE_QUOTES)
    # A straight single quote opens after a space or a bracket and closes after a word;
    # one inside a word (don't) does neither.
    for quote in _SINGLE_OPEN.finditer(before):
        opening = max(opening, quote.start())
    for quote in _SINGLE_CLOSE.finditer(before):
        closing = max(closing, quote.start())
    return opening > closing or before.replace('"""', "").count('"') % 2 == 1


def _sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, value))))


def _decoded_payloads(text: str) -> list[str]:
    """Readable text hidden in encodings, plus ROT13/reversed text when asked for."""
    found: list[str] = []
    words = text.split()
    long_words = [w for w in words if len(w) >= 16] if max(map(len, words), default=0) >= 16 else []
    for word in long_words:
        if len(found) >= _MAX_DECODED:
            break
        for match in _HEX.finditer(word):
            _keep_text(bytes.fromhex(match.group().replace("\\x", "")), found)
        for match in _BASE64.finditer(word):
            value = match.group()
            if value.isalpha() or value.isdigit():
                continue  # a long word or number, not Base64
            try:
                raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
            except (binascii.Error, ValueError):
                continue
            _keep_text(raw, found)
    if "%" in text:
        for match in _URL_ENCODED.finditer(text):
            found.append(urllib.parse.unquote(match.group()))
    if "\\u" in text:
        for match in _U_ESCAPES.finditer(text):
            found.append(codecs.decode(match.group(), "unicode_escape"))
    if _ROT13_HINT.search(text):
        found.append(codecs.encode(text, "rot13"))
    if _REVERSE_HINT.search(text):
        found.append(text[::-1])
    return found[:_MAX_DECODED]


def _keep_text(raw: bytes, found: list[str]) -> None:
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return
    printable = sum(ch.isprintable() or ch.isspace() for ch in decoded)
    if decoded and printable / len(decoded) > 0.9:
        found.append(decoded)

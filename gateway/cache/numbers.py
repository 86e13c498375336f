"""Numbers as the guard compares them: one canonical string per quantity, code or time.

"5", "five" and "5.0" are one number; "1,000" is "1000"; "6:30 pm" is "18:30"; Chinese
numerals are read (三十 = 30, 两 = 2, 二〇二四 = 2024). A word meaning one ("one", 一)
is left out: it mostly means "a" ("one double room", 一次充电), while the digit 1 counts.

A number's unit of measure or currency is read too ("10 km", "$5", 10公里): the same
number in different units is a different quantity.
"""

from __future__ import annotations

import re

from gateway.cache import lexicon as lx

_DIGITS = re.compile(r"\d+(?:[.:]\d+)*(?:,\d{3})*(?:[.:]\d+)?")
_ZH_NUMERAL = re.compile("[零〇一二两三四五六七八九十百千万亿]+")
ZH_NUMERAL_CHARS = frozenset("零〇一二两三四五六七八九十百千万亿")


def _unit_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    canonical = {alias: unit for unit, aliases in lx.MEASURE_UNITS.items() for alias in aliases}
    symbols = "".join(re.escape(a) for a in canonical if len(a) == 1 and not a.isalnum())
    words = sorted((a for a in canonical if a.isascii() and a[-1].isalnum()), key=len)[::-1]
    # Non-ASCII aliases (公里, °c) follow a number directly, with no word boundary after.
    others = sorted((a for a in canonical if not a.isascii()), key=len)[::-1]
    number = r"\d+(?:,\d{3})*(?:\.\d+)?|[零〇一二两三四五六七八九十百千万亿]+"
    pattern = re.compile(
        rf"(?i)(?:(?P<symbol>[{symbols}])\s?(?P<amount>\d+(?:,\d{{3}})*(?:\.\d+)?)"
        rf"|(?<![\d.,])(?P<number>{number})\s?-?\s?"
        rf"(?:(?P<word>{'|'.join(map(re.escape, words))})(?![A-Za-z])"
        rf"|(?P<other>{'|'.join(map(re.escape, others))})(?![级到]))"  # 3升级到5: not litres
        ")"
    )
    return pattern, canonical


_MEASURE, _UNIT_OF = _unit_pattern()


# Digits with a Chinese scale (5万 = 五万 = 50000; not 千米, 千克: kilometres, kilograms)
# and a temperature said the Chinese way (38度5 = 38.5度).
_KILO_UNITS = "米克瓦焦卡"  # 千米, 千克, 千瓦, 千焦, 千卡: 千 is the unit's prefix
_DIGIT_SCALE = re.compile(rf"(\d+(?:\.\d+)?)(万|亿|千(?![{_KILO_UNITS}]))")
_SCALES = {"千": 1_000, "万": 10_000, "亿": 100_000_000}
_DEGREE_TENTH = re.compile(r"(\d+)度(\d)(?!\d)")
_UNIT_PREFIX = re.compile(rf"(?<=\d)千(?=[{_KILO_UNITS}])")


def _spelled_digits(text: str) -> str:
    """``text`` with 5万 written 50000 and 38度5 written 38.5度, as the guard reads them."""
    if "度" in text:
        text = _DEGREE_TENTH.sub(r"\1.\2度", text)
    return _DIGIT_SCALE.sub(lambda m: _format(float(m.group(1)) * _SCALES[m.group(2)]), text)


def extract_measures(text: str) -> frozenset[tuple[str, str]]:
    """(number, unit) for each number with a unit of measure or currency attached."""
    text = _spelled_digits(text)
    found: set[tuple[str, str]] = set()
    for m in _MEASURE.finditer(text):
        raw = m.group("amount") or m.group("number")
        unit = m.group("symbol") or m.group("word") or m.group("other")
        value = _format(_zh_value(raw)) if raw[0] in ZH_NUMERAL_CHARS else _canonical_number(raw)
        found.add((value, _UNIT_OF[unit.lower()]))
    return frozenset(found)


def extract_numbers(text: str, lower: list[str]) -> frozenset[str]:
    text = _UNIT_PREFIX.sub("", _spelled_digits(text))  # 5千米: the 千 is the unit's
    found: set[str] = set()
    for match in _DIGITS.finditer(text):
        value = _canonical_number(match.group())
        if _NEGATIVE.search(text, max(0, match.start() - 4), match.start()):
            value = "-" + value  # x² + 5x - 6 and x² + 5x + 6 are two equations
        meridiem = _MERIDIEM.match(text, match.end())
        if meridiem:  # 6:30 pm == 18:30
            value = _clock(value, meridiem.group(1).lower())
        found.add(value)
    found.update(_english_numbers(lower))
    found.update(_chinese_numbers(text))
    # A lone "one" / 一 mostly means "a" ("one double room", 一次充电): words saying 1
    # are not compared; the digit 1 is.
    found.discard("word:1")
    return frozenset(v.removeprefix("word:") for v in found)


# A minus sign right before a number: glued to it after no word, digit or dot ("-5 °C",
# "(-3)", "= -2"; not 2-3, COVID-19, 2024-03-15), or spaced after a letter or bracket, as
# in an expression ("5x - 6"; not "pages 10 - 20").
_NEGATIVE = re.compile(r"(?:(?<![\w.\-\u2212])[-\u2212]|(?<=[A-Za-z)\]]\s)[-\u2212]\s)$")
_MERIDIEM = re.compile(r"\s?([ap])\.?m\b\.?", re.IGNORECASE)


def _clock(value: str, meridiem: str) -> str:
    hour, _, minutes = value.partition(":")
    if not hour.isdigit():
        return value
    h = int(hour) % 12 + (12 if meridiem == "p" else 0)
    return f"{h}:{minutes or '00'}"


def _canonical_number(raw: str) -> str:
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", raw):
        raw = raw.replace(",", "")
    if ":" in raw:  # a time: 09:05 == 9:05
        head, _, tail = raw.partition(":")
        return f"{int(head)}:{tail}"
    if "." in raw:
        try:
            return _format(float(raw))
        except ValueError:
            return raw
    return str(int(raw)) if raw.isdigit() else raw


def _format(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def _english_numbers(lower: list[str]) -> list[str]:
    out: list[str] = []
    run: list[float] = []
    for i, tok in enumerate(lower):
        parts = tok.split("-")  # "six-hour", "twenty-five"
        values = [lx.NUMBER_WORDS_EN.get(p) for p in parts]
        first = values[0]
        pronoun = parts[0] == "one" and (
            (i > 0 and lower[i - 1] in lx.ONE_PRONOUN_BEFORE)
            or (i + 1 < len(lower) and lower[i + 1] == "of")
        )
        scale_alone = parts[0] in lx.SCALE_WORDS and not run
        if first is not None and not pronoun and not scale_alone:
            run.extend(v for v in values if v is not None)
            if len(parts) > 1 and any(v is None for v in values):
                out.append("word:" + _compose(run))
                run = []
            continue
        if run:
            out.append("word:" + _compose(run))
            run = []
    if run:
        out.append("word:" + _compose(run))
    return out


def _compose(values: list[float]) -> str:
    total, current = 0.0, 0.0
    for v in values:
        if v in (100, 1000, 1_000_000, 1_000_000_000):
            current = max(current, 1.0) * v
            if v >= 1000:
                total += current
                current = 0.0
        else:
            current += v
    return _format(total + current)


def _chinese_numbers(text: str) -> list[str]:
    masked = text
    for phrase in lx.ZH_NOT_NUMBER:
        masked = masked.replace(phrase, "□" * len(phrase))
    if "十分" in text:  # 十分钟 is ten minutes, 十分 alone is "very"
        masked = masked.replace("□□钟", "十分钟")
    return [
        ("word:" if m.group() == "一" else "") + _format(_zh_value(m.group()))
        for m in _ZH_NUMERAL.finditer(masked)
    ]


def _zh_value(numeral: str) -> float:
    if all(ch in lx.ZH_DIGITS for ch in numeral) and len(numeral) > 1:
        return float("".join(str(lx.ZH_DIGITS[ch]) for ch in numeral))  # 二〇二四
    total, section, digit = 0.0, 0.0, 0.0
    for ch in numeral:
        if ch in lx.ZH_DIGITS:
            digit = lx.ZH_DIGITS[ch]
        else:
            unit = lx.ZH_UNITS[ch]
            if unit >= 10_000:
                total += (section + digit) * unit
                section, digit = 0.0, 0.0
            else:
                section += (digit or 1) * unit
                digit = 0.0
    return total + section + digit

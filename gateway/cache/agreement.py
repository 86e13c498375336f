"""The agreement guard: a semantic hit also needs the two questions to agree on the
facts an embedding blurs.

Sentence embeddings score "order #1234" and "order #1243", "enable" and "disable 2FA",
"Paris to Rome" and "Rome to Paris" as near-identical, often closer than true
paraphrases, so no similarity threshold separates them. Before a semantic hit is
served, the query and the cached prompt must agree on:

- numbers: the set of quantities, codes and times (digits, English number words,
  Chinese numerals; "5" and "five", "2晚" and "两个晚上" agree), and the unit a number
  is given ("10 km" and "10 miles" disagree);
- negation: both negated or neither (not, without, 不, 没...; "won't stop", "without
  paying" and "without losing" negate nothing, "on an empty stomach" does);
- polarity: no axis on which one says one pole and the other the opposite pole
  (enable/disable, add/remove, 打开/关闭; see ``lexicon``);
- scope: the same quantifiers and time frames, and neither question the other narrowed
  by a qualifier ("best shampoo" / "best shampoo for curly hair"; ``_narrowed``);
- direction: no term that is a source in one and a destination in the other
  (from X to Y, X → Y, 从X到Y, 把X改到Y);
- aspect (Chinese): the same aspect asked about, price, time, how often, requirements...
  (办护照要花多少钱 / 护照怎么办理); and a problem's cause, its remedy and its symptoms
  are three questions ("what causes hiccups" / "how do I get rid of hiccups" / "what
  are the symptoms of strep throat"), as are how to do something and what follows
  from it ("how do I report an account" / "what happens after I report an account");
- names: every capitalised word of one appears in the other (Visa / Mastercard), and
  in Chinese, which has no capitals, not each names a place the other does not (日本 /
  韩国);
- order: not the same subject words merely in another order ("JSON to YAML" / "YAML
  to JSON" however the direction is worded), nor two items that trade places in an
  unchanged frame ("Can a tenant sue a landlord" / "...a landlord sue a tenant");
- subject: the two are not a minimal pair — nearly the same words with one or two
  meaning-bearing words swapped ("annual leave" / "sick leave", 年假 / 病假). A real
  paraphrase rewords more than that; a one-word swap is exactly how near-identical
  different questions look, and an embedding cannot tell a synonym swap from an
  entity swap, so the guard refuses and leaves the request to the upstream.

Chinese: MiniLM's vocabulary maps most CJK characters to [UNK], so Chinese questions
embed almost alike. The same checks therefore run on CJK characters (with a list of
question-framing characters removed), and ``similarity`` blends in a character overlap
score for the CJK share of the text.

All of it is pure string work (~30 µs per text); a text's features are computed once
and kept with the cache entry. The guard fails closed: any disagreement is a miss, and
texts too long to align in bounded time (``_MAX_ALIGN_UNITS``) are refused unless the
same.
"""

from __future__ import annotations

import difflib
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.cache import lexicon as lx
from gateway.cache.numbers import ZH_NUMERAL_CHARS, extract_measures, extract_numbers

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_TOKEN = re.compile(rf"→|->|[A-Za-z0-9]+(?:['\-][A-Za-z0-9]+)*|[{_CJK}]+|[.!?;:,。、()]")
_SENTENCE_END = frozenset(".!?;:。")
_PUNCT = frozenset(".!?;:,。、()")
_DIRECTION_SPAN = 3
_CLAUSE_JOINS = frozenset({"and", "or", "but", "then"})


@dataclass(frozen=True, slots=True)
class Features:
    """What the guard compares, extracted once per text."""

    numbers: frozenset[str]
    measures: frozenset[tuple[str, str]]
    negated: frozenset[str]
    polarity: frozenset[tuple[str, int]]
    sources: frozenset[str]
    destinations: frozenset[str]
    names: frozenset[str]
    words: frozenset[str]
    scope: frozenset[str]
    when: frozenset[str]
    undo: bool
    problem: bool
    asks: frozenset[str]
    focus: frozenset[str]
    aspects: frozenset[str]
    form: str
    defines: str  # "what" (what it is, how it works) or "how" (how to do it) in Chinese, or ""
    units: tuple[str, ...]
    cjk: frozenset[str]
    cjk_share: float
    cjk_chars: int
    last_clause: tuple[str, ...]  # a Chinese text's units after its last comma (_situated)
    first_clause: tuple[str, ...]  # and before its first comma
    latin_words: int  # words in Latin script: a name is one word however long (verifier.reads)
    parties: tuple[str, ...]
    places: frozenset[str]
    hanzi: frozenset[str]
    choices: frozenset[str]


_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'+.-]*")


def normalize(text: str) -> str:
    """NFKC (full-width digits and letters become ASCII), unified quotes, contractions
    spelled out ("what's" → "what is", "doesn't" → "does not"), and a dash set solid
    between two words read as an arrow (the route "Madrid\u2013Lisbon")."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u200b", "")
    if "'" in text:
        text = _CONTRACTION.sub(_expand, text)
    if "\u2013" in text or "\u2014" in text:
        text = _ROUTE_DASH.sub(" → ", text)
    return text


# An en or em dash with a letter (any script) on both sides and no space: a route or a
# pairing, not a parenthetical dash (spaced) or a numeric range (digits).
_ROUTE_DASH = re.compile(r"(?<=[^\W\d_])[\u2013\u2014](?=[^\W\d_])")


_CONTRACTION = re.compile(
    r"\b(can't|won't|(\w+)n't|(what|that|it|he|she|there|here|who|where|how|let)'s|"
    r"(\w+)'(re|m|ll|ve|d))\b",
    re.IGNORECASE,
)
_SPELLED = {"re": "are", "m": "am", "ll": "will", "ve": "have", "d": "would"}


def _expand(match: re.Match[str]) -> str:
    word = match.group(1)
    lower = word.lower()
    if lower == "can't":
        return word[:2] + "n not"
    if lower == "won't":
        return word[:2] + "ll not"
    if match.group(2):
        return match.group(2) + " not"
    if match.group(3):
        return match.group(3) + (" us" if match.group(3).lower() == "let" else " is")
    return f"{match.group(4)} {_SPELLED[match.group(5).lower()]}"


def features(text: str) -> Features:
    text = normalize(text)
    tokens, lower = _tokens(text)
    cjk_text = "".join(_CJK_RUN.findall(text))
    cjk_share = len(cjk_text) / max(1, len(re.sub(r"\s+", "", text)))
    numbers = extract_numbers(text, lower)
    sources, destinations = _roles(lower, text)
    words = frozenset(_stem(t) for t in lower if t not in _PUNCT)
    plain = _model_numbers(_without_quantifiers(text)) if cjk_text else text
    plain_lower = lower if plain is text else _tokens(plain)[1]
    return Features(
        numbers=numbers,
        measures=extract_measures(text),
        negated=_negated(lower, text),
        polarity=_polarity(lower, text),
        sources=sources,
        destinations=destinations,
        names=_names(tokens),
        words=words,
        scope=_scope(lower, text),
        when=frozenset(
            " ".join(m.group().lower().split()) for m in lx.TIME_FRAME_EN.finditer(text)
        ),
        undo=any(word in text for word in lx.UNDO_ZH),
        problem=_problem(text) if cjk_text else False,
        asks=_asks(lower, text),
        focus=_focus(text.lower()),
        aspects=_aspects(text) if cjk_text else frozenset(),
        form=_form(text),
        defines=_defines(text) if cjk_text else "",
        units=_units(plain_lower),
        cjk=_subject(plain),
        cjk_share=cjk_share,
        cjk_chars=len(cjk_text),
        last_clause=_last_clause(plain_lower) if cjk_text else (),
        first_clause=_first_clause(plain_lower) if cjk_text else (),
        latin_words=len(_LATIN_WORD.findall(text)),
        parties=_parties(text) if cjk_text else (),
        places=_places(text) if cjk_text else frozenset(),
        hanzi=frozenset(cjk_text),
        choices=_choices(text),
    )


# A Latin name and the number after it are one model in a Chinese question: "Switch 2能玩
# Switch卡带吗" / "Switch能玩Switch 2卡带吗" name the two consoles in the other order.
_MODEL_NUMBER = re.compile(r"([A-Za-z][A-Za-z+]*)[ \t]+(\d{1,3})(?![\d.,:/%A-Za-z])")


def _model_numbers(text: str) -> str:
    """``text`` with each name glued to its number ("Pay in 4": "in" is no name)."""
    return _MODEL_NUMBER.sub(_glued, text)


def _glued(match: re.Match[str]) -> str:
    name = match.group(1)
    return match.group() if name.lower() in lx.STOPWORDS else name + match.group(2)


def _places(text: str) -> frozenset[str]:
    """The places a Chinese text names (``lexicon.PLACES_ZH``), aliases read as one."""
    found = lx.PLACES_ZH.findall(text)
    return frozenset(lx.PLACE_ALIASES_ZH.get(place, place) for place in found)


def _parties(text: str) -> tuple[str, ...]:
    """The two sides of a relation (房东 / 租客) a Chinese text names, in the order it
    first names them, when the first opens a clause (its subject: "房东提前收房要赔租客");
    none in a passive sentence (员工被公司辞退 = 公司辞退员工) or where the first is not
    the subject (作为租客, 房东不退押金怎么办)."""
    if "被" in text:
        return ()
    found: dict[str, int] = {}
    for word, side in lx.PARTIES_ZH.items():
        at = text.find(word)
        if at >= 0 and at < found.get(side, len(text)):
            found[side] = at
    if len(found) < 2:
        return ()
    lead = text[: min(found.values())]
    for filler in lx.PARTY_LEAD_FILLERS_ZH:
        lead = lead.replace(filler, "")
    if lead.strip() and lead.strip()[-1] not in _CLAUSE_STARTS_ZH:
        return ()
    return tuple(sorted(found, key=found.__getitem__))


_CLAUSE_STARTS_ZH = frozenset(",.;!?:，。；！？：、")  # noqa: RUF001


def _problem(text: str) -> bool:
    for name in lx.NOT_PROBLEM_ZH:
        text = text.replace(name, "")
    return any(word in text for word in lx.PROBLEM_ZH)


def _tokens(text: str) -> tuple[list[str], list[str]]:
    """The text's tokens as written (for names), and lower-cased for every other rule: a
    capitalised alias spelled as its name (FL → florida), a capital letter glued to a CJK
    character kept (A型血 / O型血: not the article)."""
    tokens: list[str] = []
    lower: list[str] = []
    for match in _TOKEN.finditer(text):
        tok = match.group()
        tokens.append(tok)
        if len(tok) == 1 and tok.isupper() and _CJK_RUN.match(text, match.end()):
            lower.append(tok)
        else:
            lower.extend(_spelled(tok))
    return tokens, lower


def _spelled(tok: str) -> tuple[str, ...]:
    """``tok`` lower-cased; capitalised and in ``lexicon.NAME_ALIASES_EN``, the name it
    abbreviates (NY → new york, American → usa)."""
    lower = tok.lower()
    return (lx.NAME_ALIASES_EN.get(lower) if tok[:1].isupper() else None) or (lower,)


def subject_characters(text: str) -> frozenset[str]:
    """The CJK characters that carry a question's subject: question-framing and
    function characters, numerals and quantifiers removed (numbers and quantifiers have
    rules of their own). The guard's ``Features.cjk`` of the same text."""
    return _subject(_without_quantifiers(normalize(text)))


def _without_quantifiers(text: str) -> str:
    """Chinese quantifiers are compared by the scope rule, as classes (全部 = 所有), not
    as subject words."""
    return lx.QUANTIFIERS_ZH.sub(" ", text)


def _subject(text: str) -> frozenset[str]:
    return frozenset(
        ch
        for run in _CJK_RUN.findall(text)
        for ch in run
        if ch not in lx.STOP_CHARS_ZH and ch not in ZH_NUMERAL_CHARS
    )


def agree(a: Features, b: Features) -> str | None:
    """None when the two texts may share an answer; else the first disagreement's name."""
    if a.numbers != b.numbers:
        return "number"
    if _contrasted(a, b):
        return "negation"
    if _opposed(a.polarity, b.polarity):
        return "polarity"
    if a.undo != b.undo:
        return "polarity"
    if (a.sources & b.destinations) or (a.destinations & b.sources):
        return "direction"
    if _other_units(a.measures, b.measures):  # "How many miles is 10 km?" / "...km is 10 mi?"
        return "number"
    if a.scope != b.scope and (
        (a.scope and b.scope) or any(s.startswith("zh:") for s in a.scope ^ b.scope)
    ):
        return "scope"
    if a.when and b.when and a.when != b.when:  # "this weekend" / "today"
        return "scope"
    if _narrowed(a.units, b.units) or _narrowed(b.units, a.units):
        return "scope"
    if _situated(a, b) or _situated(b, a):
        return "scope"
    if _conditioned(a.units, b.units) or _conditioned(b.units, a.units):
        return "scope"
    if _modified(a.units, b.units) or _modified(b.units, a.units):
        return "scope"
    if a.problem != b.problem:
        return "problem"
    if _ask_differently(a.asks, b.asks) or (a.form and b.form and a.form != b.form):
        return "question"
    if a.defines and b.defines and a.defines != b.defines:  # what it is / how to set it up
        return "question"
    if a.focus and b.focus and not a.focus & b.focus:  # its cause / its remedy
        return "question"
    if a.choices and b.choices and not a.choices & b.choices:  # 税前还是税后 / 现金还是刷卡
        return "question"
    if a.aspects != b.aspects and not a.aspects & b.aspects:
        return "aspect"
    if not a.names <= b.words and not b.names <= a.words:
        return "name"
    if a.places - b.places and b.places - a.places:  # 爱尔兰 / 意大利
        return "name"
    if _parties_swapped(a.parties, b.parties):  # 房东…赔租客 / 租客…赔房东
        return "order"
    if max(len(a.units), len(b.units)) > _MAX_ALIGN_UNITS:  # fail closed, in bounded time
        return None if a.units == b.units else "long"
    changes = _changes(a.units, b.units)
    if _minimal_pair(a.units, b.units, changes, chinese=max(a.cjk_share, b.cjk_share) >= 0.5):
        return "swap"
    if _reordered(a, b) or _exchanged(a.units, b.units, changes):
        return "order"
    return None


def _narrowed(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    """``long`` is a narrower question: ``short`` word for word with a qualifier after it
    ("best shampoo" / "best shampoo for curly hair"), or the same words up to a qualifier
    and after it every content word of ``short``'s and more ("… for home recording" /
    "… for recording acoustic guitar at home"). No paraphrase among the development pairs
    has either shape; 18 different questions do."""
    n = len(short)
    if 0 < n < len(long) and long[:n] == short and long[n] in lx.QUALIFIERS_EN:
        return any(_is_content(unit) for unit in long[n + 1 :])
    q = next((i for i, unit in enumerate(short) if i and unit in lx.QUALIFIERS_EN), None)
    if q is None or long[: q + 1] != short[: q + 1]:
        return False
    tail = {unit for unit in short[q + 1 :] if _is_content(unit)}
    return bool(tail) and tail < {unit for unit in long[q + 1 :] if _is_content(unit)}


def _conditioned(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    """``long`` is ``short`` with a Chinese condition before or after it: 洗牙会不会疼 /
    有牙周炎的话洗牙会不会疼 (the answer for one case is not the answer for all)."""
    n = len(short)
    if not 0 < n < len(long):
        return False
    if long[-n:] == short:
        extra = "".join(long[:-n])
    elif long[:n] == short:
        extra = "".join(long[n:])
    else:
        return False
    if not _CONDITION_ZH.fullmatch(extra):
        return False
    core = _CONDITION_MARKS_ZH.sub("", extra)
    return sum(_is_content(ch) for ch in core if _CJK_RUN.fullmatch(ch)) >= 2


def _situated(short: Features, long: Features) -> bool:
    """``long`` is ``short`` with a clause that sets the asker's situation, before or after
    it: 装修垃圾清运多少钱 / 老小区没电梯, 装修垃圾清运多少钱; 坐邮轮带什么鞋 / 坐邮轮带什么鞋,
    岸上徒步行程很多 (the answer for one case is not the answer for all; no paraphrase among
    the development pairs has either shape). A clause that only calls for help
    (有没有人知道, …; 急, …) sets none."""
    if not short.units or long.units == short.units:
        return False
    if long.last_clause == short.units:
        extra = long.units[: len(long.units) - len(short.units)]
    elif long.first_clause == short.units:
        extra = long.units[len(short.units) :]
    else:
        return False
    clause = lx.HELP_CALLS_ZH.sub("", "".join(extra))
    return sum(_is_content(u) for u in clause if _CJK_RUN.fullmatch(u)) >= 3


def _last_clause(lower: list[str]) -> tuple[str, ...]:
    """The units after the text's last comma (a full-width one is ASCII after NFKC), from
    the tokens already read: all of them when it has none."""
    cut = max((i for i, tok in enumerate(lower) if tok == ","), default=-1)
    return _units(lower[cut + 1 :])


def _first_clause(lower: list[str]) -> tuple[str, ...]:
    """The units before the text's first comma: all of them when it has none."""
    cut = next((i for i, tok in enumerate(lower) if tok == ","), len(lower))
    return _units(lower[:cut])


def _modified(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    """``long`` is ``short`` with a Chinese modifier put before one of its words: 如何纠正
    坐姿 / 如何纠正孩子写作业时的坐姿 (whose posture, and when, narrows the question), or
    after one with the part it names: 可以修剪邻居的树吗 / …的树伸到我家这边的部分吗."""
    n = len(long) - len(short)
    if n < 4 or len(long) > _MAX_ALIGN_UNITS:  # quadratic: questions only
        return False
    for i in range(len(short) + 1):
        if long[:i] == short[:i] and long[i + n :] == short[i:]:
            extra = long[i : i + n]
            head = extra.index("的") if "的" in extra else -1  # 的 + at most 3: 的部分, 的那一截
            return (
                (extra[-1] == "的" or (head > 0 and len(extra) - head <= 4))
                and all(_CJK_RUN.fullmatch(u) for u in extra)
                and sum(_is_content(u) and u not in _SELF_ZH for u in extra) >= 3
            )
    return False


_SELF_ZH = frozenset("自己本人家")


_CONDITION_ZH = re.compile("(?:如果|要是|假如|万一|若是|若).+|.+(?:的话|的时候)")
_CONDITION_MARKS_ZH = re.compile("如果|要是|假如|万一|若是|若|的话|的时候")


def _choices(text: str) -> frozenset[str]:
    """The characters of the two options a Chinese either-or question weighs (税前还是税后:
    税, 前, 后), less question framing."""
    found: set[str] = set()
    for m in _CHOICE_ZH.finditer(text):
        found.update(ch for ch in m.group(1) + m.group(2) if ch not in lx.STOP_CHARS_ZH)
    return frozenset(found)


_CHOICE_ZH = re.compile(r"([\u4e00-\u9fff]{1,2})还是([\u4e00-\u9fff]{1,2})")


def _parties_swapped(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Both texts name the two sides of a relation (``lexicon.PARTY_PAIRS``), in the
    opposite order: who owes, pays or sues whom has changed."""
    return any(
        x in a
        and y in a
        and x in b
        and y in b
        and (a.index(x) < a.index(y)) != (b.index(x) < b.index(y))
        for x, y in lx.PARTY_PAIRS
    )


_Change = tuple[str, int, int, int, int]


def _changes(a: tuple[str, ...], b: tuple[str, ...]) -> list[_Change]:
    """Where two unit sequences differ: difflib's opcodes other than "equal". Its
    "autojunk" (from 200 units on, a unit in over 1 % of the text is not matched on)
    bounds the time on long repetitive text; questions are shorter."""
    return [op for op in difflib.SequenceMatcher(None, a, b).get_opcodes()
            if op[0] != "equal"]  # fmt: skip


def _other_units(a: frozenset[tuple[str, str]], b: frozenset[tuple[str, str]]) -> bool:
    """A number both texts give a unit to, in units the two do not share ("pound" reads
    as weight or sterling)."""
    for value in {v for v, _ in a} & {v for v, _ in b}:
        if not _readings(a, value) & _readings(b, value):
            return True
    return False


def _readings(measures: frozenset[tuple[str, str]], value: str) -> set[str]:
    return {r for v, u in measures if v == value for r in lx.UNIT_READINGS.get(u, (u,))}


def cjk_overlap(a: Features, b: Features) -> float:
    """Dice overlap of the CJK subject characters (1.0 when neither has any)."""
    if not a.cjk and not b.cjk:
        return 1.0
    return 2 * len(a.cjk & b.cjk) / (len(a.cjk) + len(b.cjk))


def same_content(a: Features, b: Features) -> bool:
    """The same words in the same order, function words aside ("How do I export my
    invoice" / "How can I export my invoice"): no rewording for the verifier to judge.
    Wh-words count: "How can I meet you" / "Where can I meet you" differ. In Chinese,
    also the same characters with one stretch moved before or after its neighbour
    (大棚里的白粉虱怎么治 / 怎么治大棚里的白粉虱, 公积金余额怎么查 / 怎么查公积金余额), or
    reordered (``_same_characters``), which the Chinese verifier refused at 0.1-0.7; the
    guard has compared their order (directions, exchanges, whose) before this is asked,
    and a text with a word of order in it (从, 转, 到, 比, 先…) is left to the verifier."""
    if _content(a.units) == _content(b.units):
        return True
    if not (a.cjk_chars and b.cjk_chars) or lx.ORDER_CHARS_ZH.intersection(a.units + b.units):
        return False  # 从冲浪转玩桨板冲浪 / 从桨板冲浪转玩冲浪: an order the guard missed
    light_a = tuple(u for u in a.units if u not in lx.LIGHT_CHARS_ZH)
    light_b = tuple(u for u in b.units if u not in lx.LIGHT_CHARS_ZH)
    return _one_stretch_moved(light_a, light_b) or _same_characters(a, b, light_a, light_b)


def _same_characters(
    a: Features, b: Features, light_a: tuple[str, ...], light_b: tuple[str, ...]
) -> bool:
    """The same characters in another order, 的 aside (太极拳适合老年人练吗 / 老年人适合练
    太极拳吗, 脱口秀开放麦是什么 / 什么是脱口秀的开放麦): the guard, asked first, refuses an
    exchange of roles or of modifiers (猫追狗 / 狗追猫, 新手机装旧卡 / 旧手机装新卡) and a
    direction. Left to the verifier: a text that marks a role with 给, 向, 对, 被 or 替
    (我名下的车过户给我爸 / 我爸名下的车过户给我), and one with a coordinator (和, 跟, 或,
    还是…: ``lexicon.COORDINATORS_ZH``), around which the exchange rule lets items trade
    places, modifiers and all (大狗和小猫 / 小狗和大猫)."""
    units = a.units + b.units
    joined = "".join(units)
    if lx.ROLE_CHARS_ZH.intersection(units) or any(w in joined for w in lx.COORDINATORS_ZH):
        return False
    if len(light_a) > _MAX_MOVED_UNITS:
        return False
    return Counter(u for u in light_a if u != "的") == Counter(u for u in light_b if u != "的")


def _one_stretch_moved(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """``b`` is ``a`` with two neighbouring stretches trading places: past their common
    start and end, ``b`` is ``a`` rotated. A single character moved (我名下的车过户给我爸 /
    我爸名下的车过户给我) is not enough."""
    if len(a) != len(b) or len(a) > _MAX_MOVED_UNITS or a == b:
        return False
    start = next((i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y), len(a))
    end = len(a)
    while end > start and a[end - 1] == b[end - 1]:
        end -= 1
    mid_a, mid_b = a[start:end], b[start:end]
    return any(
        mid_a[r:] + mid_a[:r] == mid_b and _stretch(mid_a[:r]) and _stretch(mid_a[r:])
        for r in range(1, len(mid_a))
    )


def _stretch(units: tuple[str, ...]) -> bool:
    """Two characters or more, or a word in Latin script (Excel怎么冻结首行)."""
    return len(units) >= 2 or (len(units) == 1 and units[0].isascii())


_MAX_MOVED_UNITS = 60


def _content(units: tuple[str, ...]) -> list[str]:
    """Units less function words; wh-words count, and "need" in a "what" question: "what do
    I need to set up X" asks for things, "what are the steps to set up X" for a process
    (blind92; over every English development pair only that pair's verdict moved)."""
    need = "what" in units
    return [
        u for u in units if u not in lx.STOPWORDS or u in lx.WH_WORDS_EN or (need and u == "need")
    ]


def similarity(cosine: float, a: Features, b: Features, lexical_cjk: bool = True) -> float:
    """The embedding cosine, with the CJK share of the text scored by character overlap
    instead (MiniLM cannot see most CJK characters). A multilingual embedder's cosine is
    used as it is (``lexical_cjk`` False)."""
    share = max(a.cjk_share, b.cjk_share)
    if share <= 0.0 or not lexical_cjk:
        return cosine
    return (1.0 - share) * cosine + share * min(cosine, cjk_overlap(a, b))


# --- extraction -------------------------------------------------------------------------


def _negated(lower: list[str], text: str) -> frozenset[str]:
    """What a text negates: for an English negation ``ANY`` and the stem of each word
    negated ("is not heating": heat); for a Chinese one the character it negates (睡不着:
    着, 没锁上: 锁, 不够: 够), ``ANY`` for a modal (不能, 不可以, 没有, 不需要: "可以" and
    "不能" contrast whatever their wording) or 别. Empty: not negated."""
    negated: set[str] = set()
    for i, t in enumerate(lower):
        following = lower[i + 1] if i + 1 < len(lower) else ""
        if t in lx.NEGATIONS_EN or t.endswith("n't"):
            if following in lx.CONTINUE_VERBS_EN:
                continue  # "won't stop running": it keeps running
            if t in ("without", "no") and _object(lower, i) in lx.COST_WORDS_EN:
                continue  # "without paying", "at no cost": for free ("don't pay" negates)
            if t in ("without", "not") and _stem(following) in lx.LOSS_VERBS_EN:
                continue  # "without losing my changes" keeps them: not a negation
            word = _negated_word(lower, i)
            if not word and "" in negated:
                word = f"#{len(negated)}"  # another negated word not found: each counts
            negated.update((ANY, word))
        elif t == "empty" and (following == "stomach" or _after(lower, i, lx.EMPTY_AFTER_EN)):
            negated.add(ANY)  # "on an empty stomach": without eating; "is empty": has none
    if negated:
        return frozenset(negated)  # "", "#2"…: negated words not found, matching none
    if text.isascii():
        return frozenset()
    masked = _A_NOT_A.sub("", text)  # 收不收, 有没有: a question form, not a negation
    masked = _QUESTION_NOT.sub("", masked)  # 正常不? 可以退不: 不 asks, as 吗 does
    for phrase in lx.NOT_NEGATION_ZH:
        masked = masked.replace(phrase, "")
    masked = lx.DIFFERENT_ZH.sub("", masked)
    for phrase, _, _ in lx.POLARITY_ZH:  # 不含 is a polarity, compared as one
        if phrase[0] in lx.NEGATION_CHARS_ZH:
            masked = masked.replace(phrase, "")
    found: set[str] = set()
    for m in _NEGATED_ZH.finditer(masked):
        negation, char, after = m.groups()
        modal = bool(char) and char in lx.MODALS_ZH
        if char and negation != "别" and not modal:
            found.add(char)
        else:  # a modal negates what follows it too: 没有风 negates 风 (for _crossed)
            found.update((ANY, after) if modal and after else (ANY,))
    return frozenset(found)


_BEFORE_OBJECT = frozenset(["a", "an", "any", "extra", "additional", "getting", "being"])
_BEFORE_NEGATED = frozenset(
    ["be", "been", "being", "even", "really", "yet", "always", "ever", "quite", "a", "an", "the"]
)


def _object(lower: list[str], i: int, skip: frozenset[str] = _BEFORE_OBJECT) -> str:
    """The word a negation at ``i`` governs, past an article or a passive's auxiliary
    ("without a fee", "without getting charged"; ``skip``)."""
    for word in lower[i + 1 : i + 4]:
        if word not in skip:
            return word
    return ""


def _negated_word(lower: list[str], i: int) -> str:
    """The stem of the content word right after a negation ("is not even heating":
    heat, "without an iron": iron), or "" ("hasn't my order arrived": the subject comes
    first)."""
    word = _object(lower, i, _BEFORE_NEGATED)
    return _stem(word) if _is_content(word) else ""


def _after(lower: list[str], i: int, words: frozenset[str]) -> bool:
    """The word before ``i`` is one of ``words``."""
    return i > 0 and lower[i - 1] in words


ANY = "*"
# The negation, the character it negates, and (looked at, not taken) the one after it.
_NEGATED_ZH = re.compile(rf"([{lx.NEGATION_CHARS_ZH}])([{_CJK}])?(?:(?=([{_CJK}])))?")


def _contrasted(a: Features, b: Features) -> bool:
    """One text negates what the other does not: a contrast when the other text says
    what the negation negates ("征信好" / "征信不好", "isn't eating" / "stopped eating"),
    or when both negate the same things but one negates one more ("打不着火但仪表盘亮" /
    "打不着火而且仪表盘也不亮"). A negation of something the other never mentions is its
    own wording of a state: "C盘满了" / "C盘空间不够了", "空腹" / "没吃东西", "even when I'm
    not doing anything" / "when it's idle", "without signal" / "offline". An English
    negation whose word is not found ("hasn't my order arrived"), a negated Chinese
    modal, 没有 and 别 always contrast."""
    if bool(a.negated) != bool(b.negated):
        negated, other = (a, b) if a.negated else (b, a)
        if not (negated.cjk_share or other.cjk_share):
            words = negated.negated - {ANY}
            return not words or any(_unfound(w) or w in other.words for w in words)
        return ANY in negated.negated or any(ch in other.hanzi for ch in negated.negated)
    if not (a.negated < b.negated or b.negated < a.negated):
        return _crossed(a, b)  # the same negations, or each its own wording ("不腻" / "不油腻")
    fewer, more = (a, b) if a.negated < b.negated else (b, a)
    if not (a.cjk_share or b.cjk_share) and fewer.negated - {ANY}:
        return True  # English, a negation more: "… and is not in check" / "… and is in check"
    return any(x in fewer.hanzi or x in fewer.words for x in more.negated - fewer.negated)


def _unfound(word: str) -> bool:
    """A negated word ``_negated`` did not find ("", "#2"…)."""
    return not word or word.startswith("#")


def _crossed(a: Features, b: Features) -> bool:
    """Each negates something the other says outright: "外机不转但是内机有风" / "外机在转但是
    内机没有风", "X works but Y doesn't" / "X doesn't work but Y does"; or the same words
    with the negation moved to another clause: "why does it answer when I didn't ask" /
    "why doesn't it answer when I ask"."""
    if any(_said(x, b) for x in a.negated - b.negated) and any(
        _said(x, a) for x in b.negated - a.negated
    ):
        return True
    return _moved(a.units) != _moved(b.units) and _unmoved(a.units) == _unmoved(b.units)


_DO = frozenset(["do", "does", "did"])  # "doesn't answer" / "answers": do-support
# Words that open a clause of their own: a "not" moved across one negates another verb.
_CLAUSE_WORDS = frozenset(
    [
        "when",
        "whenever",
        "if",
        "unless",
        "because",
        "since",
        "while",
        "after",
        "before",
        "until",
        "though",
        "although",
        "and",
        "but",
        "or",
        "so",
    ]
)


def _unmoved(units: tuple[str, ...]) -> tuple[str, ...]:
    """The words with every "not" and do-support taken out."""
    return tuple(u for u in units if u != "not" and u not in _DO)


def _moved(units: tuple[str, ...]) -> tuple[int, ...]:
    """The clause each "not" stands in ("why does it ring | when I didn't set it": 1)."""
    clause = 0
    where: list[int] = []
    for u in units:
        if u == "not":
            where.append(clause)
        elif u in _CLAUSE_WORDS:
            clause += 1
    return tuple(where)


def _said(unit: str, f: Features) -> bool:
    """``unit`` stands in ``f`` with no negation just before it."""
    return any(
        u == unit and not any(_negation_unit(p) for p in f.units[max(0, i - 2) : i])
        for i, u in enumerate(f.units)
    )


def _negation_unit(unit: str) -> bool:
    return unit in lx.NEGATIONS_EN or unit in lx.NEGATION_CHARS_ZH


_A_NOT_A = re.compile(rf"([{_CJK}])[不没]\1")
_QUESTION_NOT = re.compile(r"(?<=[\u4e00-\u9fff])[不没](?=\s*(?:[?!.,\uff1f\uff01\u3002\uff0c]|$))")


def _scope(lower: list[str], text: str) -> frozenset[str]:
    found = {lx.QUANTIFIERS[t] for t in lower if t in lx.QUANTIFIERS}
    found.update("one" for i, t in enumerate(lower[:-1]) if t == "one" and lower[i + 1] == "of")
    found.update(_deixis(m.group()) for m in _DEIXIS_ZH.finditer(text))
    found.update("zh:" + _QUANTITY_ZH[m.group()] for m in lx.QUANTIFIERS_ZH.finditer(text))
    return frozenset(found)


# All of it, one of it, only some: the same meaning in different words.
_QUANTITY_ZH = {
    **dict.fromkeys(("所有", "全部", "整个", "整套", "全屋", "全家", "全员", "全体"), "all"),
    **dict.fromkeys(("全国", "各省", "各地", "各个", "清空"), "all"),
    **dict.fromkeys(("单个", "单条", "某个", "某一"), "one"),
    **dict.fromkeys(("仅", "只"), "only"),
}


_DEIXIS_ZH = re.compile(f"[{lx.DEIXIS_ZH}]个?(?:{'|'.join(lx.TIME_UNITS_ZH)})")
# One period in its usual wordings: 每月 / 每个月, 这周 / 这个星期 / 这个礼拜.
_PERIOD_WORDS_ZH = str.maketrans({"个": None})


def _deixis(words: str) -> str:
    return words.translate(_PERIOD_WORDS_ZH).replace("星期", "周").replace("礼拜", "周")


def _asks(lower: list[str], text: str) -> frozenset[str]:
    """What kind of thing a question asks for (person, place, time, reason). An English
    wh-word asks when it opens a clause or ends the text ("...when I run my script,
    why?"); inside a clause it joins one ("why does it crash when I open it": reason),
    unless the text has no other ("can you tell me where the DMV is": place)."""
    kinds = [
        (i, lx.QUESTION_KINDS_EN[t])
        for i, t in enumerate(lower)
        if t in lx.QUESTION_KINDS_EN
        and not (i + 1 < len(lower) and lower[i + 1].endswith("ing"))  # "when connecting"
    ]
    kinds += [  # "how long" asks a time, as "when" does ("how long until" / "when can I");
        # "how often" a frequency ("how long should I practise" / "how often should I")
        (i, _HOW_KINDS[lower[i + 1]])
        for i, t in enumerate(lower[:-1])
        if t == "how" and lower[i + 1] in _HOW_KINDS
    ]
    last = max((i for i, t in enumerate(lower) if t not in _PUNCT), default=-1)

    def opens(i: int) -> bool:
        before = lower[i - 1] if i else ""
        return (
            i in (0, last)
            or before in _PUNCT
            or before in _CLAUSE_OPENERS
            or (before in _WHAT_OPENERS and lower[i] in _WHAT)  # "at what age"
        )

    # "what" with a verb after it asks a thing ("what should he say" / "when does he
    # speak"); followed by a time, place or reason word, that kind ("what age": a time)
    kinds += [
        (i, k) for i, t in enumerate(lower) if t in _WHAT and (k := _what_kind(lower[i + 1 :]))
    ]
    found = {kind for i, kind in kinds if opens(i)}
    if "thing" in found or "frequency" in found:
        # "what does it cost" / "how much is it"; "how often" / "how many times"
        found.add("amount")
    inner = {kind for i, kind in kinds if lower[i] not in _WHAT}  # "see what websites I visit"
    if not found and inner:  # a wh-word inside a clause may not be the question
        found = inner | {_INNER}
    for i, t in enumerate(lower[:-2]):  # an amount, when it opens the question
        if t == "how" and lower[i + 1] in ("much", "many") and opens(i):
            # "how many hours" or "how much time" is an amount of time: either kind;
            # "how many times" one of a frequency
            found.add("amount")
            after = lower[i + 2 : i + 10]
            counted = lower[i + 2]
            per = any(w in _PER_PERIOD and n in _PERIODS for w, n in itertools.pairwise(after))
            if counted in _TIME_UNITS_EN and not (per and counted in ("days", "nights")):
                # "how many hours a day": a time; "how many weeks between grooms": the
                # interval of a frequency
                found.update(("time", "frequency") if "between" in after else ("time",))
            elif counted == "times" or per:  # "how many meals a day", "days a week"
                found.add("frequency")
    found.update(kind for word, kind in lx.QUESTION_KINDS_ZH if word in text)
    if "frequency" in found and _REPLACED.search(text):
        found.add("time")  # how often a thing is replaced: how long it lasts, when it is due
    return frozenset(found)


# "how often should I replace X" asks how long X lasts; "how many sessions a week" how often.
_REPLACED = re.compile(r"\b(?:replac|chang|swap|renew|servic)", re.I)
_PER_PERIOD = frozenset(["a", "per", "each", "every"])
_PERIODS = frozenset(["day", "week", "month", "year", "fortnight", "night", "session"])


_HOW_KINDS = {"long": "time", "often": "frequency", "frequently": "frequency"}
_CLAUSE_OPENERS = frozenset({"and", "but", "so", "then", "also", "ok", "okay", "hey"})
_WHAT = frozenset(["what", "whats"])
_WHAT_SKIP = frozenset(["is", "are", "the", "a", "an", "best", "right", "ideal", "good", "usual"])


_INNER = "inner"  # the kinds asked come from wh-words inside clauses


def _ask_differently(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two questions ask for different kinds of thing. A "what" that asks a
    thing differs only from a wh-word that opens a question: "what should I do when he
    cries" and "how do I calm him when he cries" ask one thing."""
    if not a or not b or a & b - {_INNER}:
        return False
    return not ((_INNER in a and "thing" in b) or (_INNER in b and "thing" in a))


def _what_kind(after: list[str]) -> str | None:
    """The kind a "what" asks: that of the first word after it that names one ("what
    time", "what's the best age": a time; "what causes": a reason; "what store": a
    place), else a thing if a verb follows it or its noun ("what should I", "what
    documents do I need"), else none: "what's the warranty period" asks how long."""
    clause = list(itertools.takewhile(lambda w: w not in _PUNCT, after))
    if any(w in lx.WHAT_MEANING_EN for w in clause):  # "what does X mean": a definition
        return None
    words = [w for w in clause[:5] if w not in _WHAT_SKIP]
    if (
        any(w in lx.WHAT_REASON_EN for w in words[:4])
        or words[:2] == ["point", "of"]
        or (len(clause) == 3 and clause[2] == "be")
    ):
        return "reason"  # "what could be causing it", "what's the point of", "what could it be"
    if words and words[0] in lx.WHAT_KINDS_EN:
        return lx.WHAT_KINDS_EN[words[0]]
    if words[:1] and words[0] in _AUXILIARIES:  # "what should I say"
        return "thing"
    if words[:1] and words[0] in _MEASURES:
        return None  # "what length paddle do I need" asks how long it should be
    if any(w in _AUXILIARIES - {"to"} for w in words[1:4]):
        return "thing"  # "what documents do I need", "what sparring gear do I need"
    return None


_WHAT_OPENERS = frozenset(["at", "in", "by", "until", "till", "from", "on"])
_MEASURES = frozenset(["size", "length", "weight", "height", "width", "depth", "thickness"])
_AUXILIARIES = frozenset(
    ["should", "do", "does", "did", "can", "could", "would", "will", "to", "shall", "must", "might"]
)
_TIME_UNITS_EN = frozenset(
    [
        "time",
        "seconds",
        "minutes",
        "mins",
        "hours",
        "hrs",
        "days",
        "nights",
        "weeks",
        "months",
        "years",
        "decades",
    ]
)


def _focus(lowered: str) -> frozenset[str]:
    """What a question wants: a problem's cause or remedy, an action's consequence or
    procedure (``lexicon.FOCUS``). A remedy is a procedure too ("tips to stop X" / "how
    do I keep X from...")."""
    found = {name for name, pattern in lx.FOCUS.items() if pattern.search(lowered)}
    if "remedy" in found:
        found.add("procedure")
    return frozenset(found)


def _aspects(text: str) -> frozenset[str]:
    """The aspects a Chinese question asks about (``lexicon.ASPECTS_ZH``); one that asks
    how often asks no "time" besides (多久 in 多久清洗一次), unless what recurs is a
    replacement: how long the thing lasts (多久换一次 / 用几年要换)."""
    found = {name for name, pattern in lx.ASPECTS_ZH.items() if pattern.search(text)}
    if "frequency" in found:
        found.discard("time")
        if lx.REPLACING_ZH.search(text):
            found = (found - {"frequency"}) | {"time"}
    return frozenset(found)


def _defines(text: str) -> str:
    """ "what" for a Chinese question about what a thing is or how it works, "how" for one
    about doing something with it, "" for neither or both (lexicon.DEFINITION_ZH)."""
    return _plainly(text, (lx.DEFINITION_ZH, "what"), (lx.PROCEDURE_ZH, "how"))


def _form(text: str) -> str:
    """ "yes-no" or "wh" for a Chinese question that is plainly one of them, else ""."""
    return _plainly(text, (lx.YES_NO_ZH, "yes-no"), (lx.WH_ZH, "wh"))


def _plainly(
    text: str, first: tuple[re.Pattern[str], str], second: tuple[re.Pattern[str], str]
) -> str:
    """The name of the one pattern of two that ``text`` matches, "" for neither or both."""
    one = first[0].search(text) is not None
    other = second[0].search(text) is not None
    if one != other:
        return first[1] if one else second[1]
    return ""


def _units(lower: list[str]) -> tuple[str, ...]:
    """The text as a sequence for alignment: English words (stemmed) and CJK characters;
    "an" is "a" (the article follows the next word's sound, not the question), and "the
    us" is the country, no pronoun ("internship in the us for a uk student visa" / "…in
    the uk for a us student visa": blind97)."""
    out: list[str] = []
    for tok in lower:
        if tok in _PUNCT:
            continue
        if tok == "an":
            tok = "a"
        elif tok == "us" and out and out[-1] == "the":
            tok = "usa"
        if _CJK_RUN.fullmatch(tok):
            out.extend(_A_NOT_A.sub(r"\1", tok))  # 收不收 reads as 收
        else:
            out.append(tok if tok in lx.STOPWORDS else _stem(tok))
    return tuple(out)


def _is_content(unit: str) -> bool:
    """Numbers and negations have rules of their own; here they are not subject words."""
    if _CJK_RUN.fullmatch(unit):
        return (
            unit not in lx.STOP_CHARS_ZH
            and unit not in lx.NEGATION_CHARS_ZH
            and unit not in ZH_NUMERAL_CHARS
        )
    return (
        unit not in lx.STOPWORDS
        and unit not in lx.NEGATIONS_EN
        and not any(c.isdigit() for c in unit)
        and not any(part in lx.NUMBER_WORDS_EN for part in unit.split("-"))
    )


def _reordered(a: Features, b: Features) -> bool:
    """Exactly the same subject words (and numbers) in another order, where the order
    carries meaning that the direction rule did not read: "Sketch转Figma" / "Figma转Sketch",
    "port 80 towards 443" / "port 443 towards 80", "my cat outranks my dog" / the
    reverse. Paraphrases that only move the same words around happen too ("selling on
    eBay" / "selling work on eBay"), so without a word of direction, comparison or
    precedence a reordering is not a disagreement, and words the direction rule placed
    in roles ("from iCloud to Google Photos" / "to Google Photos from iCloud") may move."""
    content_a = [unit for unit in a.units if _is_subject(unit)]
    content_b = [unit for unit in b.units if _is_subject(unit)]
    if (
        len(set(content_a)) < 2
        or content_a == content_b
        or Counter(content_a) != Counter(content_b)
    ):
        return False
    if not (_directed(a.units) or _directed(b.units)):
        return False
    placed = a.sources | a.destinations | b.sources | b.destinations
    placed |= {ch for role in placed if not role.isascii() for ch in role}
    return [u for u in content_a if u not in placed] != [u for u in content_b if u not in placed]


def _is_subject(unit: str) -> bool:
    """A unit whose place counts: content words and numbers ("port 80 towards 443"), not
    the direction words themselves, which move with the phrase they start."""
    if unit in lx.DIRECTION_TO_EN or unit in lx.DIRECTION_FROM_EN or unit in _ORDER_WORDS_EN:
        return False
    return _is_content(unit) or (unit.isascii() and any(c.isdigit() for c in unit))


def _infinitive_to(tokens: Sequence[str], i: int) -> bool:
    """ "how to", "way to", "used to", "to rent": a "to" that starts an infinitive, not a
    direction."""
    if tokens[i] != "to":
        return False
    return (i > 0 and tokens[i - 1] in lx.INFINITIVE_BEFORE_EN) or (
        i + 1 < len(tokens) and tokens[i + 1] in lx.INFINITIVE_VERBS_EN
    )


def _directed(units: tuple[str, ...]) -> bool:
    for i, unit in enumerate(units):
        if unit in _ORDER_WORDS_EN:
            return True
        if unit in lx.DIRECTION_TO_EN or unit in lx.DIRECTION_FROM_EN:
            if not _infinitive_to(units, i) and not (i and units[i - 1] in lx.DIFFERENT_EN):
                return True
        elif unit in _DIRECTION_CHARS_ZH:
            return True
    return False


# Words that make the order of the things around them matter, besides the direction
# words: who beat or outranks whom, what comes before or after, what is chosen over what
# (units are lower-cased and lightly stemmed).
_ORDER_WORDS_EN = frozenset(
    [
        "beat",
        "defeat",
        "outrank",
        "outperform",
        "outsell",
        "outnumber",
        "overtake",
        "before",
        "after",
        "over",
    ]
)
# Single characters of Chinese direction and comparison (units of CJK text are
# characters). Not 把/将: they front an object ("把灯打开" / "打开灯"), a reordering
# that keeps the meaning.
_DIRECTION_CHARS_ZH = frozenset("到至往去比从由换成转飞寄→")


def _minimal_pair(
    a: tuple[str, ...], b: tuple[str, ...], changes: list[_Change], chinese: bool
) -> bool:
    """Nearly the same sentence with a few meaning-bearing units replaced, inserted or
    dropped: "in the kitchen" / "in the whole house", 年假 / 病假. Words that only moved
    ("books about X" / "X books") are not changes. In Chinese also one stretch replaced
    by another of any length (原神 / 崩坏星穹铁道怎么兑换礼包码, 怎么退 / 怎么买学生票):
    a rewording of the same question changes it in more than one place."""
    if not a or not b:
        return False
    same = len(a) - sum(i2 - i1 for _, i1, i2, _, _ in changes)
    changed_a: Counter[str] = Counter()
    changed_b: Counter[str] = Counter()
    for _, i1, i2, j1, j2 in changes:
        changed_a.update(u for u in a[i1:i2] if _is_content(u))
        changed_b.update(u for u in b[j1:j2] if _is_content(u))
    only_a = changed_a - changed_b
    only_b = changed_b - changed_a
    if not only_a and not only_b:
        return False
    longest = max(len(a), len(b))
    if (
        chinese
        and _one_substitution(a, b, changes)
        and changed_a
        and changed_b
        and not changed_a.keys() & changed_b.keys()
        and same >= 0.5 * longest
    ):
        return True
    if ONE_SIDED_SWAP is False and not (only_a and only_b):
        return False
    size = max(_weight(only_a), _weight(only_b))
    return size <= _MAX_SWAP_UNITS and same >= _MIN_SHARED * longest


def _one_substitution(a: tuple[str, ...], b: tuple[str, ...], changes: list[_Change]) -> bool:
    """Every change replaces the same stretch by the same other stretch: one swap, made
    once or repeated (爷爷是爱尔兰人能申请爱尔兰国籍吗 / …意大利人…意大利国籍吗)."""
    return all(op == "replace" for op, *_ in changes) and (
        len({(a[i1:i2], b[j1:j2]) for _, i1, i2, j1, j2 in changes}) == 1
    )


def _exchanged(a: tuple[str, ...], b: tuple[str, ...], changes: list[_Change]) -> bool:
    """Two things trade places in an otherwise unchanged frame, with no direction word
    to say so: "Can a tenant sue a landlord" / "...a landlord sue a tenant", "9 am in
    London, what time in New York" / the reverse, 北京时间8点是纽约几点 / 纽约时间8点是
    北京几点. Items with "and", "or", 和, 还是... between them may trade places ("TCP
    and UDP"), and so may anything in a comparison (the difference between...). The
    exchanged items must match unit for unit: a paraphrase that fronts its topic
    ("ibuprofen side effects, which are common" / "the common side effects of
    ibuprofen") moves words, but not two whole items. Questions only: past
    ``_MAX_EXCHANGE_UNITS`` the search (quadratic and more) is not run."""
    if max(len(a), len(b)) > _MAX_EXCHANGE_UNITS:
        return False
    if any(u.startswith(lx.SYMMETRIC_EN) for u in a + b) or any(
        w in "".join(a + b) for w in lx.SYMMETRIC_ZH
    ):
        return False
    replaced = [op for op in changes if op[0] == "replace"]
    for n, (_, i1, i2, j1, j2) in enumerate(replaced):
        for _, k1, k2, l1, l2 in replaced[n + 1 :]:
            if (
                a[i1:i2] == b[l1:l2]
                and a[k1:k2] == b[j1:j2]
                and _items(a[i1:i2], a[k1:k2], a[i2:k1])
            ):
                return True
    return _exchanged_middle(a, b)


def _exchanged_middle(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """The whole difference is X…Y against Y…X ("learn Spanish for English speakers" /
    "learn English for Spanish speakers"), which difflib aligns as one item kept."""
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    mid_a, mid_b = a[start : len(a) - end], b[start : len(b) - end]
    if len(mid_a) != len(mid_b):
        return False
    for x in range(1, len(mid_a) - 1):
        if mid_b[-x:] != mid_a[:x]:
            continue
        for y in range(1, len(mid_a) - x):
            between = mid_a[x:-y]
            if (
                mid_b[:y] == mid_a[-y:]
                and mid_b[y:-x] == between
                and _items(mid_a[:x], mid_a[-y:], between)
            ):
                return True
    return False


def _items(x: tuple[str, ...], y: tuple[str, ...], between: tuple[str, ...]) -> bool:
    """Two different items with content, in a frame of more than articles and with no
    coordinator in it (coordinated items may trade places)."""
    if x == y or not any(map(_has_content, x)) or not any(map(_has_content, y)):
        return False
    if any(u in lx.COORDINATORS_EN for u in between) and not any(map(_is_content, between)):
        return False  # "TCP and UDP"; not "I'm British and travelling to the US"
    joined = "".join(u for u in between if not u.isascii())
    if any(word in joined for word in lx.COORDINATORS_ZH):
        return False
    return any(u not in lx.ARTICLES_EN and u not in _PUNCT for u in between)


def _has_content(unit: str) -> bool:
    """A content word, a number with its unit ("3.5mm" against "Type-C") or a Chinese
    personal pronoun (我 against 爸妈: whose account pays for whom)."""
    return (
        _is_content(unit)
        or unit in _PERSONS_ZH
        or (any(c.isdigit() for c in unit) and any(c.isascii() and c.isalpha() for c in unit))
    )


_PERSONS_ZH = frozenset("我你您他她")


def _weight(units: Counter[str]) -> float:
    """English words count 1, CJK characters 0.5 (a Chinese word is about two)."""
    return sum(n * (0.5 if _CJK_RUN.fullmatch(u) else 1.0) for u, n in units.items())


# Aligning two texts (difflib) costs up to cubic time on repetitive text: 28 s for two
# 2,000-character Chinese prompts that repeat one phrase. Longer texts than this are
# not aligned; unless they are the same units they are refused ("long"), which also
# keeps two long documents that differ in a detail from sharing an answer.
_MAX_ALIGN_UNITS = 400
_MAX_EXCHANGE_UNITS = 64
ONE_SIDED_SWAP = True
_MAX_SWAP_UNITS = 2
_MIN_SHARED = 0.6


def _polarity(lower: list[str], text: str) -> frozenset[tuple[str, int]]:
    found: set[tuple[str, int]] = set()
    for i, tok in enumerate(lower):
        word = tok
        if "-" in tok:
            word = tok.replace("-", "_")  # opt-out, check-in
        elif tok == "with" and i + 1 < len(lower) and lower[i + 1] == "no":
            word = "without"  # "with no chemicals" = "without chemicals"
        elif i + 1 < len(lower) and f"{tok}_{lower[i + 1]}" in lx.POLARITY_EN:
            word = f"{tok}_{lower[i + 1]}"  # side effects
        elif tok in lx.PARTICLE_VERBS or _stem(tok) in lx.PARTICLE_VERBS:
            nxt = lower[i + 1] if i + 1 < len(lower) else ""
            if nxt in lx.PARTICLES:
                word = f"{_stem(tok)}_{lx.PARTICLES[nxt]}"
        for candidate in _lemmas(word):
            pole = lx.POLARITY_EN.get(candidate)
            if pole is not None:
                found.add(pole)
                break
    if text.isascii():
        return frozenset(found)
    found.update(
        (axis, pole) for pattern, axis, pole in lx.POLARITY_PATTERNS_ZH if pattern.search(text)
    )
    rest = text
    for phrase, axis, pole_index in lx.POLARITY_ZH:
        if phrase in rest:
            found.add((axis, pole_index))
            rest = rest.replace(phrase, "□")
    return frozenset(found)


def _opposed(a: frozenset[tuple[str, int]], b: frozenset[tuple[str, int]]) -> bool:
    for axis, pole in a:
        if (axis, 1 - pole) in b and (axis, pole) not in b:
            return True
    return any((axis, 1 - pole) in a and (axis, pole) not in a for axis, pole in b)


def _roles(lower: list[str], text: str) -> tuple[frozenset[str], frozenset[str]]:
    sources: set[str] = set()
    destinations: set[str] = set()
    for i, tok in enumerate(lower):
        if tok in lx.DIRECTION_FROM_EN and i and lower[i - 1] in lx.DIFFERENT_EN:
            continue  # "different from": a comparison, its sides may trade places
        if tok in lx.DIRECTION_FROM_EN:
            sources.update(_span(lower, i + 1))
        elif tok in lx.DIRECTION_TO_EN:
            if _infinitive_to(lower, i):
                continue
            destinations.update(_span(lower, i + 1))
            if "from" not in lower[max(0, i - 6) : i]:
                span = _DIRECTION_SPAN if tok in lx.COMPARISONS_EN else 1
                sources.update(_previous_content(lower, i, span))
    _cjk_roles(text, sources, destinations)
    both = sources & destinations
    sources -= both
    destinations -= both
    order_sources, order_destinations = conversion_roles(text)
    return frozenset(sources | order_sources), frozenset(destinations | order_destinations)


def _span(lower: list[str], start: int) -> list[str]:
    out: list[str] = []
    for tok in lower[start:]:
        if tok in _PUNCT or tok in lx.DIRECTION_TO_EN or tok in lx.DIRECTION_FROM_EN:
            break
        if tok in _CLAUSE_JOINS or tok in lx.MODIFIERS_EN:  # "from Rome and land in Madrid",
            break  # "to a set in Python": Rome, set alone
        if tok not in lx.STOPWORDS and not tok.isdigit():
            out.append(_stem(tok))
            if len(out) >= _DIRECTION_SPAN:
                break
    return out


def _previous_content(lower: list[str], index: int, span: int) -> list[str]:
    """Up to ``span`` content words before a "to"/"than" with no "from": the source
    side of "USD to EUR" (one word: "to" is often an infinitive), "Python faster than
    Java" (the comparison's subject)."""
    out: list[str] = []
    for tok in reversed(lower[max(0, index - 6) : index]):
        if tok in _PUNCT or tok in lx.DIRECTION_TO_EN:
            break
        if tok not in lx.STOPWORDS and not tok.isdigit():
            out.append(_stem(tok))
            if len(out) >= span:
                break
    return out


def _cjk_roles(text: str, sources: set[str], destinations: set[str]) -> None:
    for run in _CJK_RUN.findall(text):
        to_at = _find_to_marker(run)
        if to_at is None:
            continue
        index, marker = to_at
        head = run[:index]
        for start in lx.DIRECTION_FROM_ZH:
            at = head.find(start)
            if at >= 0:
                head = head[at + len(start) :]
                break
        sources.update(_bigrams(head))
        destinations.update(_bigrams(run[index + len(marker) :]))


def _find_to_marker(run: str) -> tuple[int, str] | None:
    for marker in lx.DIRECTION_TO_ZH:
        at = run.find(marker)
        while at > 0 and marker == "到" and run[at - 1] in lx.NOT_DIRECTION_BEFORE_TO_ZH:
            at = run.find(marker, at + 1)
        if at > 0:
            return at, marker
    return None


def _bigrams(run: str) -> set[str]:
    chars = [ch for ch in run if ch not in lx.STOP_CHARS_ZH]
    return {chars[i] + chars[i + 1] for i in range(len(chars) - 1)} or set(chars)


# --- order-aware roles of conversion and movement ------------------------------------
#
# "Convert a JSON file to YAML" / "... a YAML file to JSON", "把Word转换为PDF" / "把PDF转换为
# Word", "redirect www.example.org to example.org" / the reverse: the same words in the
# opposite order. The span-limited roles above miss them (the word before "to" is "file"
# in both; the ASCII arguments of a Chinese sentence sit outside its CJK runs). Here a
# clause that has a conversion or movement marker is split at its last forward marker:
# every subject unit (stemmed English word, CJK bigram) before it is a source, after it a
# destination, except the span after "from"/从/由, which is a source wherever it stands.
# A unit that is a source in one text and a destination in the other is a direction
# disagreement. Only clauses with a conversion/movement verb, a "from", an arrow or
# "into" take part, so "learn to code" / "best way to learn coding" are not compared.

_CLAUSE_END = re.compile(r"[.!?;:,]+(?:\s|$)|[\n\u3002\uff01\uff1f\uff1b\uff1a\uff0c]")
_COMPOUND_TO = re.compile(r"(?<=[A-Za-z0-9])(?:-(?:to|into)-|2(?=[A-Za-z]{2}))", re.IGNORECASE)
_ORDER_TOKEN = re.compile(rf"→|->|=>|[A-Za-z0-9]+(?:['\-][A-Za-z0-9]+)*|[{_CJK}]+")


def conversion_roles(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """(sources, destinations) of the conversions and movements in ``text``."""
    text = _COMPOUND_TO.sub(" → ", normalize(text))
    sources: set[str] = set()
    destinations: set[str] = set()
    for clause in _CLAUSE_END.split(text):
        _clause_roles(clause, sources, destinations)
    both = sources & destinations
    return frozenset(sources - both), frozenset(destinations - both)


def _clause_roles(clause: str, sources: set[str], destinations: set[str]) -> None:
    # Items in order: ("to" | "from", "") for a marker, ("", text) for a piece of text.
    items: list[tuple[str, str]] = []
    moving = False
    previous = ""
    tokens = _ORDER_TOKEN.findall(clause)
    for at_token, tok in enumerate(tokens):
        if _CJK_RUN.fullmatch(tok):
            rest = tok
            while rest:
                at, marker, kind = _first_zh_marker(rest)
                if marker is None:
                    items.append(("", rest))
                    break
                if at:
                    items.append(("", rest[:at]))
                items.append((kind, ""))
                moving = moving or (kind == "to" and marker != "到") or kind == "from"
                rest = rest[at + len(marker) :]
            previous = ""
            continue
        lower = tok.lower()
        following = tokens[at_token + 1].lower() if at_token + 1 < len(tokens) else ""
        if lower in lx.ORDER_TO_EN and not _infinitive_to((previous, lower, following), 1):
            items.append(("to", ""))
            moving = moving or lower != "to"
        elif lower in lx.DIRECTION_FROM_EN and previous not in lx.DIFFERENT_EN:
            items.append(("from", ""))
            moving = True
        elif lower in lx.MODIFIERS_EN:  # "a list into a set in Python": Python is no role
            items.append(("end", ""))
        elif lower not in lx.ORDER_TO_EN:
            items.append(("", lower))
            moving = moving or lower.startswith(lx.MOVEMENT_PREFIXES_EN)
        previous = lower
    if not moving:
        return
    for i, (kind, _) in enumerate(items):
        if kind == "to":
            sources.update(_window(items, i, -1))
            destinations.update(_window(items, i, 1))
        elif kind == "from":
            sources.update(_window(items, i, 1))


def _window(items: list[tuple[str, str]], at: int, step: int) -> set[str]:
    """The subject units of the nearest ``_ORDER_SPAN`` pieces of text on one side of a
    marker, up to the next marker."""
    out: set[str] = set()
    taken = 0
    i = at + step
    while 0 <= i < len(items) and taken < _ORDER_SPAN:
        kind, unit = items[i]
        if kind:
            break
        units = _order_units(unit)
        if units:
            out |= units
            taken += 1
        i += step
    return out


_ORDER_SPAN = 3


def _first_zh_marker(run: str) -> tuple[int, str | None, str]:
    best: tuple[int, str | None, str] = (len(run), None, "")
    for marker in lx.ORDER_TO_ZH:
        at = run.find(marker)
        if marker == "到":
            while at > 0 and run[at - 1] in lx.NOT_DIRECTION_BEFORE_TO_ZH:
                at = run.find(marker, at + 1)
        longer = best[1] is not None and len(marker) > len(best[1])
        if 0 <= at < best[0] or (at == best[0] and longer):
            best = (at, marker, "to")
    for marker in lx.ORDER_FROM_ZH:
        at = run.find(marker)
        if 0 <= at < best[0]:
            best = (at, marker, "from")
    return best


def _order_units(unit: str) -> set[str]:
    if not unit:
        return set()
    if _CJK_RUN.fullmatch(unit):
        return _bigrams(unit)
    if unit in lx.STOPWORDS or unit.isdigit() or unit.startswith(lx.MOVEMENT_PREFIXES_EN):
        return set()
    return {_stem(unit)}


def _names(tokens: list[str]) -> frozenset[str]:
    names: set[str] = set()
    sentence_start = True
    previous = ""
    for tok in tokens:
        if tok in _SENTENCE_END:
            # "Dr. Okafor": a full stop after a title does not end the sentence.
            sentence_start = not (tok == "." and previous.lower() in lx.TITLES)
            previous = tok
            continue
        previous = tok
        if tok in _PUNCT or _CJK_RUN.fullmatch(tok):
            continue
        if (
            not sentence_start
            and tok[:1].isupper()
            and tok not in ("I", "I'm", "I'd", "I've", "I'll")
            and not any(c.isdigit() for c in tok)
        ):
            names.update(_stem(w) for w in _spelled(tok))
        sentence_start = False
    return frozenset(names)


def _lemmas(word: str) -> tuple[str, ...]:
    """The word and its likely base forms: enabled → enable, stopping → stop."""
    out = [word]
    for suffix in ("ing", "ed", "es", "s", "d"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 2:
            base = word[: -len(suffix)]
            out.extend((base, base + "e"))
            if len(base) > 2 and base[-1] == base[-2]:
                out.append(base[:-1])
    return tuple(out)


def _stem(word: str) -> str:
    """A light stemmer: enough that "bookings"/"booking"/"booked" compare equal."""
    if len(word) <= 3 or not word.isascii() or word in lx.NOT_PLURAL_EN:
        return word
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            if suffix in ("ing", "ed") and len(stem) > 3 and stem[-1] == stem[-2]:
                stem = stem[:-1]  # stopped → stop
            if suffix == "es" and not stem.endswith(("s", "x", "z", "ch", "sh")):
                stem = word[:-1]
            return stem
    return word

"""Personal data and secrets: patterns that are validated, not just matched.

Each entity type is one compiled pattern plus a check (``checksums``), so order
numbers, firmware versions, ISBNs and placeholders pass while real values are caught.
Boundaries are written with explicit ASCII look-arounds instead of ``\\b``: in Chinese
text a value sits right next to CJK characters (``身份证号110105…``, ``手机号是+86…``),
where a Unicode ``\\b`` does not match.

Types: ``EMAIL``, ``PHONE`` (E.164, North American, Chinese mobile; other national
formats only next to a phone keyword such as "phone:"/"电话"), ``CN_ID_CARD``,
``CREDIT_CARD``, ``IBAN``, ``IP_ADDRESS`` (v4 and v6), ``US_SSN``, ``API_KEY``
(OpenAI, AWS, GitHub, Slack, Google, Stripe keys, private-key blocks, JWTs and
``api_key=...`` assignments with random-looking values).

Cheap pre-checks (is there a digit? an ``@``? a key prefix?) skip whole families of
patterns, so a plain prose prompt costs a few substring tests.
"""

from __future__ import annotations

import ipaddress
import re
import string
from collections.abc import Iterable

from gateway.guard import checksums, quad_context
from gateway.guard.findings import Finding, resolve_overlaps

ENTITY_TYPES = (
    "EMAIL",
    "PHONE",
    "CN_ID_CARD",
    "CREDIT_CARD",
    "IBAN",
    "IP_ADDRESS",
    "US_SSN",
    "API_KEY",
)
# When two validated candidates overlap, the more specific type wins: an 18-digit
# string that passes the PRC ID check is an ID even if it also happens to pass Luhn.
_PRIORITY = {
    "API_KEY": 90,
    "CN_ID_CARD": 80,
    "IBAN": 70,
    "EMAIL": 65,
    "CREDIT_CARD": 60,
    "US_SSN": 50,
    "PHONE": 40,
    "IP_ADDRESS": 30,
}
_A = r"A-Za-z0-9"  # ASCII word characters: the only ones that glue to a value

_EMAIL = re.compile(
    rf"(?<![{_A}._%+\-])[{_A}](?:[{_A}._%+\-]{{0,62}}[{_A}_%+\-])?"
    rf"@(?:[{_A}](?:[{_A}\-]{{0,61}}[{_A}])?\.)+[A-Za-z]{{2,24}}(?![{_A}\-])"
)
_CN_MOBILE = re.compile(
    rf"(?<![{_A}+])(?:(?:\(\+?86\)|\+?86)[ \-]?)?1[3-9]\d"
    r"(?:(?:[ \-]?\d{4}){2}|\.\d{4}\.\d{4})(?!\d|\.\d)"  # 185 2104-7736, 185.2104.7736
)
_E164 = re.compile(r"(?<![A-Za-z0-9_+])\+[1-9](?:[ \-.]?(?:\(0\)|\(\d{1,4}\)|\d)){6,16}(?![\d])")
_NANP = re.compile(
    r"(?<![A-Za-z0-9_+])(?:(?:\+?1|001)[ \-.]?)?(?:\(\d{3}\) ?|\d{3}[ \-.])\d{3}[ \-.]\d{4}"
    r"(?: ?(?:x|ext\.? ?)\d{1,5})?(?![\d])"
)
# National formats without a country code look like any other number: only taken
# next to a phone keyword (checked by ``_phone_context``).
_LOOSE_PHONE = re.compile(
    r"(?<![A-Za-z0-9_+\-.])(?:\(\d{1,4}\) ?)?\d{2,5}(?:[ \-.]\d{2,8}){1,4}(?: ?x\d{1,5})?"
    r"(?![A-Za-z0-9_]|[\-.]\d)"
    r"|(?<![A-Za-z0-9_+\-.])\d{7,12}(?![A-Za-z0-9_]|[\-.]\d)"
)
_PHONE_BEFORE = re.compile(
    r"(?i)(?:\b(?:phone|tel|telephone|mobile|cell|cellphone|fax|call|sms|whatsapp|desk|"
    r"contact|landline|hotline|text me|ring|callback|call-back|call back)\b"
    r"|\b(?:my|new|mobile|cell|phone|contact|home|"
    r"work)\s+(?:number|no\.?)\b|\b(?:driver|courier|doctor|dentist|landlord|agent|manager|friend|mum|mom|"
    r"dad|wife|husband|son|daughter|brother|sister|boss|plumber|electrician|nurse|teacher|tutor|"
    r"client|customer|supplier|contractor|technician|engineer|neighbou?r|owner|host|guide|"
    r"caller|sender)'s\s+(?:number|no\.?)\b|电话|手机|致电|联系|热线|座机|传真|拨打|总机|分机|来电"
    r"|(?<!发票)(?<!订单)(?<!快递)(?<!运单)(?<!工单)(?<!证件)(?<!合同)号码)"  # not 发票号码
    r"[^\n\d]{0,16}$"
    # a form's label, then a name: "Emergency contact: Helen Ward (mother), 0161 496 0754"
    r"|(?i:\b(?:contact|phone|tel|mobile)\s*:[^\n\d]{0,40}$)"
)
# A number the sentence says to call, further from its verb: "please call the ward
# reception on 020 7946 0321", "phone the school office on 01632 960118" (not a call of
# code: "call the function at …").
_PHONE_VERB_ON = re.compile(
    r"(?i)\b(?:call|phone|ring|text|reach)\b"
    r"(?:(?!function|method|api\b|endpoint|hook)[^\n\d.!?]){0,40}\b(?:on|at)\s*$"
)
# A Chinese landline: a trunk 0 and a two- or three-digit area code, then a dash or the
# code in brackets (full-width too), seven or eight digits (021-54387206, 0755-86329154,
# (010) 8456 2317, the same in full-width brackets): the 0 and the dash or brackets make it
# a phone number.
_CN_LANDLINE = re.compile(
    r"(?<![A-Za-z0-9_+\-.])(?:0[1-9]\d{1,2}-|[(\uff08]0[1-9]\d{1,2}[)\uff09] ?)[2-8]\d{2,3} ?\d{4}"
    r"(?![A-Za-z0-9_\-]|\.\d)"
)
# A UK mobile as people write it, 07 and nine digits with a space after the fifth (07700
# 900461, 07911 284 650): the 07 and the grouping make it a phone number.
_UK_MOBILE = re.compile(r"(?<![A-Za-z0-9_+\-.])07\d{3} \d{3} ?\d{3}(?![A-Za-z0-9_\-]|\.\d)")
# Australian mobiles as written, 4-3-3 with spaces ("0412 557 903").
_AU_MOBILE = re.compile(r"(?<![A-Za-z0-9_+\-.])04\d{2} \d{3} \d{3}(?![A-Za-z0-9_\-]|[.\s]\d)")
# Between two phone numbers: "call 020 7946 0321 or 07911 284650" (the second shares
# the first's keyword).
_PHONE_JOIN = re.compile(
    "\\s*(?:or|and|/|,|或|或者|和|\u3001|\uff0c)\\s*$"
    # "… or our Manchester branch on 0161 496 0352"
    "|\\s*(?:or|and)\\s+(?:our|the|their|your)\\b[^\\n\\d.!?]{0,40}\\b(?:on|at)\\s*$",
    re.I,
)
_PHONE_AFTER = re.compile(r"(?i)\W{0,3}(?:office|fax|mobile|cell|home|work|desk)\b")
_CN_ID = re.compile(rf"(?<![{_A}])(\d{{6}})[ \-]?(\d{{8}})[ \-]?(\d{{3}}[0-9Xx])(?![{_A}])")
_CARD = re.compile(rf"(?<![{_A}.\-])\d(?:[ \-]?\d){{11,22}}(?![{_A}]|[.\-]\d)")
# An IBAN starts a word, or is glued to its own label ("IBANBE86310123456789").
_IBAN_START = re.compile(
    r"(?:(?<![A-Za-z0-9])|(?<=IBAN)|(?<=iban))[A-Za-z]{2}\d{2}(?=[ ]?[A-Za-z0-9])"
)
_IPV4 = re.compile(
    r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    r"(?!\d|\.\d)"
)
# A version word just before a dotted quad makes it a version, build or section number.
# Nouns may take one more word ("SNMP object", "firmware image") and Chinese ones up
# to four characters ("驱动停在", "固件目前是"), unless those words name a host
# ("version control server 10.0.0.8", "驱动服务器192.168.3.9"). ASCII words count as
# words when glued to Chinese ("BIOS从1.0.2.9").
_VERSION_NOUNS_EN = (
    r"version|ver|vers|firmware|fw|build|release|rel|bios|uefi|driver|kernel|clause|section|"
    r"sec|chapter|article|art|paragraph|para|rule|oid|snmp|mib|package|pkg|runtime|sdk|jdk|"
    r"jre|plugin|library|framework|installer|launcher"
)
_VERSION_VERBS_EN = (
    r"patch|hotfix|update|updated|updating|upgrade|upgraded|upgrading|downgrade|downgraded"
)
_HOST_WORDS = (
    r"server|servers|host|hosts|address|addr|ip|ips|gateway|router|dns|proxy|node|box|"
    r"machine|endpoint|subnet|vip|mirror|repo|registry|site|service|agent|runner|worker|服务器|主机|地址|网关|节点|机器|"
    r"部署|灰度"
)
_LINK = r"(?:\s+(?:is|was|at|from|to|of|now|on|stays at|still at)\b|从|在|为|是)?"
_VERSION_BEFORE = re.compile(
    rf"(?i)(?:(?<![A-Za-z])(?:{_VERSION_NOUNS_EN})(?![A-Za-z])\.?"
    rf"(?:\s+(?!(?:{_HOST_WORDS})s?\b|(?:for|from|at|on|via|against|through)\b)[a-z]+)?"
    rf"|(?<![A-Za-z])(?:{_VERSION_VERBS_EN})(?![A-Za-z])\.?"
    rf"|(?-i:(?<=[a-z])Version)|[_-]version"  # a key or tag: <AssemblyVersion>, app_version=
    rf"|(?-i:(?<![A-Za-z])EC(?:\s+number)?)"  # an enzyme: EC 3.4.21.4
    rf"|(?:版本号?|固件|内核|驱动|补丁|病毒库)(?:(?!{_HOST_WORDS})[\u4e00-\u9fff]){{0,4}}"
    rf"|[\u4e00-\u9fff]版"  # an edition: 电脑版, 专业版
    rf"|§|升级到?|升到|降级到?|第)"
    rf"{_LINK}[^\w\n,;\uff0c\uff1b\u3002]{{0,4}}\Z"  # a comma ends the clause: "2.5版本上线之后, X"
)
_GLUED = frozenset(string.ascii_letters + "_-")
# The word ending right before a quad, or before the spaces, ``:`` or ``=`` that lead to it.
_WORD_BEFORE = re.compile(r"([A-Za-z]+)[\s:=]*$")
# After the quad: a port (``:8080``), a prefix length (``/24``), 上, "on" (10.1.5.40上
# 的服务; not 上线, 上市, 上架: a release goes live) or an access log's " - user [";
# before it: ``user@`` or ``//`` (a URL).
_HOST_AFTER = re.compile(
    r":\d{1,5}(?![\d.])|/(?:[0-9]|[12]\d|3[0-2])(?![\d.])|上(?![线市架映])"
    r"| - \S+ \["  # an access log's client: "45.33.32.156 - - [14/Mar/2026:…"
)
_HOST_BEFORE = re.compile(r"(?:@|//)$")
# Private, loopback and link-local ranges, those for documentation examples (RFC 5737:
# 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) and multicast (224/4), whose first parts
# no version number uses.
_PRIVATE = re.compile(
    r"192\.168\.|172\.(?:1[6-9]|2\d|3[01])\.|127\.|169\.254\."
    r"|192\.0\.2\.|198\.51\.100\.|203\.0\.113\."
    r"|2(?:2[4-9]|3\d)\."  # multicast groups (an IPTV stream's 239.1.1.10)
)
# The internet node of the OID tree (iso.org.dod.internet, under which every SNMP MIB
# hangs), X.500's attribute types (2.5.4.3, commonName) and certificate extensions
# (2.5.29.17): texts name them far more often than the hosts of those addresses.
_OID = re.compile(r"1\.3\.6\.1$|2\.5\.(?:4|29)\.\d+$")
_SECTION_AFTER = re.compile(r"\s?(?:[这那]一?)?(?:[条节章款項]|项(?!目))")  # 8.1.4.2 这一项
# A named app, client or agent right before the quad is that product's version: "the
# camera app 3.2.0.11", "VPN client 4.10.8.25", 游戏客户端1.6.0.13. A bare one is the
# peer of a log line or a request ("- client 198.51.100.23", "(client 10.0.0.23)",
# "our client X", 这个客户端X), and a word that says what the peer did is no name
# ("blocked client X").
_PRODUCT_BEFORE = re.compile(
    r"(?i)(?<![\w-])(?!(?:the|a|an|our|my|your|their|his|her|its|this|that|each|every|"
    r"any|some|per|new|old|rogue|bad|unknown|remote|local|suspicious|malicious)\s)"
    r"[a-z][a-z0-9-]*(?<!ed)\s+(?:app|client|agent)\s*$"
    r"|[^\W\d_这那个台该此的]客户端\s*$"
)
# "Update your Zoom client to 5.16.10.26", "pin the agent to X", 把agent锁在X: a product
# updated or pinned to the quad, a release (but "point the VPN client to X" names its
# server).
_UPDATED_TO = re.compile(
    r"(?i)(?<![A-Za-z])(?:update|upgrade|pin|downgrade|roll(?:ed|ing)?\s*back)[a-z]*\s"
    r"[^,.;:!?\n]{0,30}?(?<![A-Za-z])(?:app|client|agent|software|runtime|plugin)\s+to\s*$"
    r"|(?<![A-Za-z])(?:agent|client|app|客户端|插件|软件)\s*(?:版本)?(?:锁在|锁定在|固定在|停在|回退到|退回到)\s*$"
)
# 图3.2.1.4, 表10.4.2.1 (a figure, a table), right before the quad; not 列表, 代表, 拓扑图.
_FIGURE_BEFORE = re.compile(r"(?<![列代报扑地])[图表] ?$")  # 见表3.2.1.4, 如图 2.1.3.5
_VERSION_JOIN = re.compile(r"(?i)\s*(?:to|and|or|-|\u2013|~|/|,|到|至|或|和|、)\s*")
# Between an unmarked quad and the version after it: "from 1.0.2.9 to 1.0.3.1",
# "1.0.2.9升到1.0.3.1", "6.0.1.3 → version 6.0.2.0": the first is a version too.
_VERSION_STEP = re.compile(
    r"(?i)\s*(?:to|->|→|~|-|\u2013|到|至|升到|升级到|降到|降级到|更新到|改到)\s*"
    r"(?:the\s+)?(?:version|ver|v|版本)?\s*"
)
_IPV6 = re.compile(r"(?<![0-9A-Za-z:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![0-9A-Za-z:])")
# A value glued to its label is still one: "员工SSN134-02-7768".
_SSN = re.compile(
    rf"(?:(?<![{_A}\-])|(?<=[Ss][Ss][Nn]))(\d{{3}})([\- ])(\d{{2}})\2(\d{{4}})(?![{_A}]|-\d)"
)
_SSN_COMPACT = re.compile(
    r"(?i)(?:ssn|social security(?: number| no\.?)?)\W{0,12}(?<!\d)(\d{3})(\d{2})(\d{4})(?!\d)"
)
# Each pattern starts with its literal prefix (the engine then skips ahead with a fast
# substring search) and checks the character before it with a look-behind placed after.
_KEY_PATTERNS: tuple[tuple[str, re.Pattern[str], int], ...] = (
    # (cheap substring pre-check, pattern, minimum random-looking body length)
    ("sk-", re.compile(
        r"sk-(?<![A-Za-z0-9_\-]sk-)(?:proj-|ant-(?:api\d\d-)?|svcacct-)?[A-Za-z0-9_\-]{20,}"
    ), 20),
    ("k_", re.compile(r"[sr]k_(?<![A-Za-z0-9_\-][sr]k_)(?:live|test)_[A-Za-z0-9]{16,}"), 16),
    ("AKIA", re.compile(r"AKIA(?<![A-Za-z0-9]AKIA)[A-Z0-9]{16}(?![A-Za-z0-9])"), 16),
    ("ASIA", re.compile(r"ASIA(?<![A-Za-z0-9]ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])"), 16),
    ("gh", re.compile(r"gh[pousr]_(?<![A-Za-z0-9_]gh._)[A-Za-z0-9]{36,}(?![A-Za-z0-9])"), 30),
    ("github_pat_", re.compile(r"github_pat_[A-Za-z0-9_]{60,}"), 40),
    # GitLab access tokens (personal, project, group) and deploy tokens.
    ("glpat-", re.compile(
        r"glpat-(?<![A-Za-z0-9_\-]glpat-)[A-Za-z0-9_\-]{20,}(?![A-Za-z0-9_\-])"
    ), 16),
    ("gldt-", re.compile(
        r"gldt-(?<![A-Za-z0-9_\-]gldt-)[A-Za-z0-9_\-]{20,}(?![A-Za-z0-9_\-])"
    ), 16),
    ("xox", re.compile(r"xox[abprs]-(?<![A-Za-z0-9_\-]xox.-)[A-Za-z0-9\-]{10,}"), 10),
    ("AIza", re.compile(r"AIza(?<![A-Za-z0-9_\-]AIza)[0-9A-Za-z_\-]{35}"), 30),
    # Hugging Face and npm access tokens.
    ("hf_", re.compile(r"hf_(?<![A-Za-z0-9_\-]hf_)[A-Za-z0-9]{30,}(?![A-Za-z0-9_\-])"), 30),
    ("npm_", re.compile(r"npm_(?<![A-Za-z0-9_\-]npm_)[A-Za-z0-9]{36}(?![A-Za-z0-9_\-])"), 30),
    ("eyJ", re.compile(
        r"eyJ(?<![A-Za-z0-9_\-]eyJ)[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"
    ), 20),
    ("PRIVATE KEY", re.compile(
        r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY-----(?:[\s\S]{16,8192}?"
        r"-----END (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY-----)?"
    ), 0),
)  # fmt: skip
# Only run around the words it starts with.
_SECRET_WORDS = ("key", "secret", "token", "passw")
_ASSIGNED_SECRET = re.compile(
    r"(?i)(?:api[_\-]?key|secret(?:[_\-]?key)?|access[_\-]?token|auth[_\-]?token|password|passwd)"
    r"[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9_\-/+=.]{16,128})"
)
_KEY_BODY = re.compile(r"[A-Za-z0-9]+")
# Where digit-bearing entities can be: a run of digits and the separators they are
# written with. A charset-first pattern, so the engine skips prose quickly.
_DIGIT_RUN = re.compile(r"\d[\d \-.()/:+xX]*")
_MARGIN = 16  # characters around a run that entity patterns may need (+86, "NL27 INGB")
_RECENT = 32  # texts remembered: more than the messages of one request usually has
_V6_HINT = re.compile(r":[0-9A-Fa-f]{0,4}:")


class PiiScanner:
    """Finds validated candidates of ``entities`` in one pass over a text.

    Cost: one fast pass finds digit runs, ``@`` and ``:`` hints and key prefixes; the
    entity patterns then run only on the small windows around them, so prose without
    such characters costs a few C-speed scans whatever its length. Several rules of a
    policy (secrets: block, personal data: redact, IPs: flag) share one scanner: the
    candidates of the last few texts are kept, so the rules after the first pay nothing.
    """

    def __init__(self, entities: Iterable[str] = ENTITY_TYPES) -> None:
        self.entities = _checked(entities)
        digit_scanners = {
            "PHONE": _scan_phones,
            "CN_ID_CARD": _scan_cn_ids,
            "CREDIT_CARD": _scan_cards,
            "IBAN": _scan_ibans,
            "IP_ADDRESS": _scan_ipv4,
            "US_SSN": _scan_ssns,
        }
        self._digit_scanners = [digit_scanners[t] for t in ENTITY_TYPES if t in digit_scanners
                                and t in self.entities]  # fmt: skip
        # id(text) → (text, candidates) for the texts of the request being checked; the
        # text itself is kept so an id reused by a new string never matches.
        self._recent: dict[int, tuple[str, list[Finding]]] = {}

    def candidates(self, text: str) -> list[Finding]:
        hit = self._recent.get(id(text))
        if hit is not None and hit[0] is text:
            return hit[1]
        found: list[Finding] = []
        if "EMAIL" in self.entities and "@" in text:
            _scan_emails(text, found)
        if "API_KEY" in self.entities:
            _scan_keys(text, found)
        if "IP_ADDRESS" in self.entities and ("::" in text or text.count(":") >= 7):
            _scan_ipv6(text, found)
        if self._digit_scanners:
            for start, end in _digit_windows(text):
                for digit_scanner in self._digit_scanners:
                    digit_scanner(text, start, end, found)
        if len(self._recent) >= _RECENT:
            self._recent.clear()
        self._recent[id(text)] = (text, found)
        return found


class PiiDetector:
    """Validated personal data of ``entities``; overlapping candidates resolved in favour
    of the more specific type. ``scanner`` may be shared with other detectors."""

    def __init__(
        self, entities: Iterable[str] = ENTITY_TYPES, scanner: PiiScanner | None = None
    ) -> None:
        self.entities = _checked(entities)
        self._scanner = scanner or PiiScanner(self.entities)
        if not self.entities <= self._scanner.entities:
            raise ValueError("the shared scanner does not look for every entity type asked for")
        # The longest value a stream must see whole before releasing its first character
        # (an IBAN in groups of four is 42, a GitHub fine-grained token 93). Longer ones
        # (JWTs, private-key blocks) are still caught: a stream holds any match that is
        # still growing at the end of what it has received.
        self.max_span = 128

    def scan(self, text: str) -> list[Finding]:
        found = self._scanner.candidates(text)
        if not found:
            return []
        return resolve_overlaps([f for f in found if f.label in self.entities], _PRIORITY)


def _checked(entities: Iterable[str]) -> frozenset[str]:
    wanted = frozenset(entities)
    unknown = wanted - set(ENTITY_TYPES)
    if unknown:
        raise ValueError(f"unknown PII entity types: {sorted(unknown)}")
    return wanted


def _digit_windows(text: str) -> list[tuple[int, int]]:
    """Merged windows around digit runs long enough to hold an entity (4+ digits)."""
    windows: list[tuple[int, int]] = []
    size = len(text)
    for match in _DIGIT_RUN.finditer(text):
        run = match.group()
        if len(run) < 4 or sum(c.isdigit() for c in run) < 4:
            continue
        start, end = max(0, match.start() - _MARGIN), min(size, match.end() + _MARGIN)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return windows


def _around(text: str, needle: str, before: int, after: int) -> list[tuple[int, int]]:
    """Merged windows around every occurrence of ``needle``."""
    windows: list[tuple[int, int]] = []
    position = text.find(needle)
    while position >= 0:
        start, end = max(0, position - before), min(len(text), position + after)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
        position = text.find(needle, position + 1)
    return windows


def _scan_emails(text: str, found: list[Finding]) -> None:
    for start, end in _around(text, "@", 80, 200):
        for match in _EMAIL.finditer(text, start, end):
            local, _, domain = match.group().partition("@")
            if ".." not in local and len(match.group()) <= 254 and not _file_name(domain):
                found.append(Finding(match.start(), match.end(), "EMAIL"))


# File names that look like addresses: image density variants (icon@2x.png,
# hero@1.5x.webp) and anything whose "top-level domain" is a file extension that is no
# TLD (no .png or .jpg TLD exists; .zip, .mov, .py, .sh, .md are real TLDs and stay).
_DENSITY = re.compile(r"\d{1,2}(?:\.\d{1,2})?x\.", re.IGNORECASE)
_EXTENSIONS = (
    "png jpg jpeg gif webp svg ico bmp tif tiff avif heic heif psd raw jfif apng "
    "mp4 m4v webm mkv avi wmv flv mp3 wav ogg oga flac aac m4a opus "
    "pdf doc docx xls xlsx ppt pptx odt ods csv tsv txt rtf json yaml yml xml toml ini "
    "html htm css scss less js mjs cjs ts tsx jsx vue map wasm woff woff2 ttf otf eot "
    "gz tgz bz2 xz tar rar 7z dmg iso apk ipa exe msi dll bin lock log bak tmp"
)
_FILE_EXTENSIONS = frozenset(_EXTENSIONS.split())


_TLDS = (
    "com net org edu gov mil int io co ai app dev me info biz xyz online site tech cloud "
    "cn hk tw jp kr sg uk de fr es it nl be ch at se no dk fi pl ru in au nz ca us br mx"
)
_COMMON_TLDS = frozenset(_TLDS.split())


def _file_name(domain: str) -> bool:
    """True when the part after "@" is a file name, not a mail domain: the last label
    is a file extension, or the first is a density suffix (2x, 1.5x) and the last is
    no common TLD (``someone@2x.io`` stays an address)."""
    tld = domain.rpartition(".")[2].lower()
    if tld in _FILE_EXTENSIONS:
        return True
    return bool(_DENSITY.match(domain)) and tld not in _COMMON_TLDS


def _scan_phones(text: str, start: int, end: int, found: list[Finding]) -> None:
    first = len(found)
    for match in _CN_MOBILE.finditer(text, start, end):
        found.append(Finding(match.start(), match.end(), "PHONE"))
    for pattern in (_CN_LANDLINE, _UK_MOBILE, _AU_MOBILE):
        for match in pattern.finditer(text, start, end):
            found.append(Finding(match.start(), match.end(), "PHONE"))
    for match in _E164.finditer(text, start, end):
        digits = re.sub(r"\D", "", match.group())
        if _e164_ok(digits):
            found.append(Finding(match.start(), match.end(), "PHONE"))
    for match in _NANP.finditer(text, start, end):
        digits = re.sub(r"\D", "", match.group().split("x")[0].split("ext")[0])
        if digits.startswith("001"):
            digits = digits[3:]
        elif len(digits) == 11 and digits[0] == "1":
            digits = digits[1:]
        if checksums.nanp_ok(digits):
            found.append(Finding(match.start(), match.end(), "PHONE"))
    for match in _LOOSE_PHONE.finditer(text, start, end):
        count = sum(c.isdigit() for c in match.group())
        if (
            7 <= count <= 15
            and not _IPV4.fullmatch(match.group())  # "DNS on my phone to 208.67.222.222"
            and not any(f.start < match.end() and match.start() < f.end for f in found[first:])
            and (
                _phone_context(text, match.start(), match.end())
                or _after_phone(text, match.start(), found[first:])
            )
        ):
            found.append(Finding(match.start(), match.end(), "PHONE"))


def _after_phone(text: str, begin: int, phones: list[Finding]) -> bool:
    """A phone number found just before, joined by "or", "and", a comma or 或."""
    return any(
        f.end <= begin and _PHONE_JOIN.search(text, f.end, begin) is not None for f in phones
    )


def _e164_ok(digits: str) -> bool:
    if not 8 <= len(digits) <= 15:
        return False
    if digits[0] == "1":
        return checksums.nanp_ok(digits[1:])
    if digits.startswith("86"):
        # a mobile (1[3-9] and nine digits), Beijing's landline (area code 10 and eight
        # digits: +86-10-8456-7788) or another area's (no leading 1)
        national = digits[2:]
        return (
            (len(national) == 11 and national[0] == "1" and national[1] in "3456789")
            or (len(national) == 10 and national.startswith("10"))
            or (9 <= len(national) <= 11 and national[0] != "1")
        )
    return len(set(digits)) > 2


def _phone_context(text: str, start: int, end: int) -> bool:
    return bool(
        _PHONE_BEFORE.search(text, max(0, start - 40), start)
        or _PHONE_VERB_ON.search(text, max(0, start - 64), start)
        or _PHONE_AFTER.match(text, end, end + 12)
    )


def _scan_cn_ids(text: str, start: int, end: int, found: list[Finding]) -> None:
    for match in _CN_ID.finditer(text, start, end):
        if checksums.cn_id_ok("".join(match.groups())):
            found.append(Finding(match.start(), match.end(), "CN_ID_CARD"))


# A 19-digit UnionPay number as written, 4-4-4-4-3.
_UNIONPAY_19 = re.compile(r"62\d\d([ \-]?)\d{4}\1\d{4}\1\d{4}\1\d{3}")


def _scan_cards(text: str, start: int, end: int, found: list[Finding]) -> None:
    for match in _CARD.finditer(text, start, end):
        value = match.group()
        # Drop trailing groups until it fits: "4111 1111 1111 1111 2025" is a card
        # followed by a year, not a 20-digit non-card. Not a 19-digit UnionPay number
        # written 4-4-4-4-3: that is one card number, valid or not.
        groups = [value] if _UNIONPAY_19.fullmatch(value) else re.split(r"([ \-])", value)
        while groups:
            candidate = "".join(groups)
            digits = candidate.replace(" ", "").replace("-", "")
            if len(digits) < 12:
                break
            if _plausible_grouping(candidate) and checksums.card_ok(digits):
                found.append(Finding(match.start(), match.start() + len(candidate), "CREDIT_CARD"))
                break
            groups = groups[:-2]


def _plausible_grouping(candidate: str) -> bool:
    """Cards are written compact or in groups of 3-6 digits with one kind of separator."""
    parts = re.split(r"[ \-]", candidate)
    if len(parts) == 1:
        return True
    if ("-" in candidate) and (" " in candidate):
        return False
    return all(3 <= len(p) <= 7 for p in parts) and len(parts[0]) >= 4


def _scan_ibans(text: str, start: int, end: int, found: list[Finding]) -> None:
    for match in _IBAN_START.finditer(text, start, end):
        country = match.group()[:2].upper()
        length = checksums.IBAN_LENGTHS.get(country)
        if length is None:
            continue
        chars: list[str] = []
        position = match.start()
        limit = len(text)
        while position < limit and len(chars) < length:
            char = text[position]
            if char.isascii() and char.isalnum():
                chars.append(char.upper())
            elif not (char == " " and chars and position + 1 < limit and text[position + 1] != " "):
                break
            position += 1
        follows = text[position] if position < limit else ""
        if len(chars) != length or (follows.isascii() and follows.isalnum()):
            continue
        if checksums.iban_ok("".join(chars)):
            found.append(Finding(match.start(), position, "IBAN"))


def _scan_ipv4(text: str, start: int, end: int, found: list[Finding]) -> None:
    """Dotted quads, less those that are not host addresses: a netmask, or a version,
    build or section number (glued to a word, a version word just before it, a section
    word just after, or a version joined to it as in ``from 1.0.4.2 to 1.0.5.0``, either
    way round), or a number the words around it name as something else
    (``quad_context``). A port, a prefix length, ``user@`` or ``//`` makes it a host."""
    quads: list[tuple[int, int, bool]] = []
    previous_end = -1
    previous_version = False
    siblings: list[int] = []  # quads read from their words alone (no port, no range)
    for match in _IPV4.finditer(text, start, end):
        begin, stop = match.start(), match.end()
        before = text[max(0, begin - 24, previous_end) : begin]
        if _netmask(match.group()):
            version = True
        elif _HOST_AFTER.match(text, stop) or _HOST_BEFORE.search(before):
            version = False
        elif _PRIVATE.match(match.group()) or match.group() in _KNOWN_HOSTS:
            # no release is numbered 192.168 or 172.16, nor 8.8.4.4
            version = (
                _VERSION_BEFORE.search(before) is not None
                or quad_context.named_before(text, begin)
                or quad_context.named_after(text, stop)
                or quad_context.denied(text, stop)
            )
            siblings.append(len(quads))
        else:
            version = (
                _OID.match(match.group()) is not None
                or _glued(text, begin)  # v2.4.1.3, libfoo-5.2.0.1 (but IP10.0.0.1, ping8.8.8.8)
                or _VERSION_BEFORE.search(before) is not None
                or _SECTION_AFTER.match(text, stop) is not None
                or _FIGURE_BEFORE.search(before) is not None
                or _outline_heading(text, begin)
                or _PRODUCT_BEFORE.search(before) is not None
                or quad_context.named_before(text, begin)  # "cost centre 10.4.2.1"
                or _UPDATED_TO.search(text, max(0, begin - 48, previous_end), begin) is not None
                or (previous_version and _VERSION_JOIN.fullmatch(before) is not None)
                or quad_context.other_number(text, begin, stop)
                or quad_context.denied(text, stop)
            )
            siblings.append(len(quads))
        quads.append((begin, stop, version))
        previous_end, previous_version = stop, version
    _same_numbering(text, quads, siblings)
    hosts: list[Finding] = []
    following_version = False
    following_begin = -1
    for begin, stop, version in reversed(quads):
        if not version and following_version:
            version = _VERSION_STEP.fullmatch(text, stop, following_begin) is not None
        if not version:
            hosts.append(Finding(begin, stop, "IP_ADDRESS"))
        following_version, following_begin = version, begin
    found.extend(reversed(hosts))


def _same_numbering(text: str, quads: list[tuple[int, int, bool]], siblings: list[int]) -> None:
    """A quad read from its words alone that shares its first three parts with one read
    as a version or a label is that number's sibling: "driver version 12.19.2.45 and the
    vendor site lists 12.19.2.60", "part no. 192.168.7.2 does not fit the older chassis,
    which takes 192.168.7.20", or with a four-part number no address can be ("3.12.0.1205,
    iOS 端是 3.12.0.98"), unless a network word stands right before it ("ping
    12.19.2.60"). Netmasks are no numbering."""
    if not siblings:
        return
    numbered = [(b, e) for b, e, version in quads if version and not _netmask(text[b:e])]
    versions = {_three_parts(text, b, e) for b, e in numbered}
    # a four-part number that no address can be ("版本号 3.12.0.1205") numbers too
    versions |= {m.group(1) for m in _FOUR_PARTS.finditer(text) if not _IPV4.fullmatch(m.group())}
    for i in siblings:
        begin, stop, version = quads[i]
        if version or not (
            _three_parts(text, begin, stop) in versions
            or any(_next_release(text, b, e, begin, stop) for b, e in numbered)
        ):
            continue
        word = _WORD_BEFORE.search(text, max(0, begin - 32), begin)
        if word is not None and quad_context.network_word(word.group(1)):
            continue
        near = text[max(0, begin - 6) : begin]  # 服务器 192.168.2.6
        if not near.isascii() and quad_context.names_network(near):
            continue
        quads[i] = (begin, stop, True)


_FOUR_PARTS = re.compile(r"(?<![\d.])(\d{1,5}\.\d{1,5}\.\d{1,5})\.\d{1,6}(?!\d)")


def _next_release(text: str, b: int, e: int, begin: int, stop: int) -> bool:
    """Two quads of one sentence, the first a version, that share their first two parts
    ("firmware 2.4.11.208 fixes the dropouts and 2.4.12.31 adds WPA3"), or their first
    part with the second one apart ("Build 3.18.0.2 fails, 3.17.9.4 was fine"): another
    release."""
    first, second = text[b:e].split("."), text[begin:stop].split(".")
    return (
        e <= begin
        and first[0] == second[0]
        and (
            (first[1] == second[1] and first[2] != second[2])
            or abs(int(first[1]) - int(second[1])) == 1
        )
        and _SENTENCE_END.search(text, e, begin) is None
    )


# A semicolon goes on about the same release ("upgrade to 7.3.2.118 before Friday;
# 7.3.1.95 still leaks").
_SENTENCE_END = re.compile("[.!?](?:\\s|$)|[\n\u3002\uff01\uff1f]")


def _three_parts(text: str, begin: int, stop: int) -> str:
    return text[begin:stop].rsplit(".", 1)[0]


# A heading of a numbered outline: single-digit parts, the quad opening its line (after a
# list bullet, if any), a title (capitalised, or Chinese).
_HEADING = re.compile(
    r"(?m)^[ \t]*(?:[-*\u2022][ \t]+)?(\d\.\d\.\d)\.\d[ \t]+(?:[A-Z][a-z]|[\u4e00-\u9fff])"
)
# A lone heading's title, ended by a colon (ASCII or full-width).
_TITLED = re.compile(r"(\d\.\d\.\d\.\d)[ \t]+[^\n:\uff1a]{2,40}[:\uff1a]")
# Public resolvers written with single-digit parts: no lone heading (8.8.4.4 never gets
# here: it is one of ``_KNOWN_HOSTS``).
_RESOLVERS = frozenset(
    {"1.0.0.1", "1.0.0.2", "1.0.0.3", "1.1.1.2", "1.1.1.3", "4.2.2.1", "4.2.2.2"}
)
# Public resolvers and well-known multicast groups no outline, ratio or release shares
# (not 1.1.1.1 or 9.9.9.9): addresses whatever words stand near them ("set the DNS on the
# kiosk image to 8.8.4.4", "the smart TV in Meeting Room B to 239.255.255.250"), as
# private ranges are.
_KNOWN_HOSTS = frozenset(
    {
        "8.8.4.4",
        "149.112.112.112",
        "239.255.255.250",  # SSDP's multicast group
        "224.0.0.251",  # mDNS's
        "208.67.222.222",
        "208.67.220.220",
        "114.114.114.114",
        "114.114.115.115",
        "223.5.5.5",
        "223.6.6.6",
        "119.29.29.29",
        "180.76.76.76",
    }
)


def _outline_heading(text: str, begin: int) -> bool:
    """The quad heads a line of an outline ("1.2.1.1 Background", "- 3.1.2.1 需求调研")
    that numbers another line the same way ("1.2.1.2 Research question"), or a lone
    line whose title ends in a colon. Hosts listed with their names ("10.0.0.2 Printer",
    "1.1.1.1 Cloudflare" / "1.0.0.1 Cloudflare") share no such single-digit numbering."""
    heading = _HEADING.match(text, text.rfind("\n", 0, begin) + 1)  # its line's start
    if heading is None or heading.start(1) != begin:
        return False
    numbering: str = heading.group(1)
    lines = sum(1 for other in _HEADING.finditer(text) if other.group(1) == numbering)
    if lines >= 2:
        return True
    # A lone heading: a title and a colon after it ("1.2.4.6 Risk register review: the
    # board...", 5.1.2.3 项目背景 and a full-width colon), and no networking word on its
    # line ("8.8.8.8 Google DNS: slow" is a host).
    end = text.find("\n", begin)
    line = text[heading.start() : end if end != -1 else len(text)]
    titled = _TITLED.match(line, begin - heading.start())
    return (
        titled is not None
        and titled.group(1) not in _RESOLVERS
        and len(set(titled.group(1).split("."))) > 1  # 8.8.8.8, 9.9.9.9
        and not quad_context.names_network(line)
    )


def _glued(text: str, begin: int) -> bool:
    """A letter, ``_`` or ``-`` right before the quad, unless the letters name a host
    (``IP39.144.22.87``, ``ping114.114.114.114`` in Chinese text). A ``-`` after a digit
    joins a range (``10.244.3.1-10.244.3.254``): the first quad decides for both."""
    if begin == 0 or text[begin - 1] not in _GLUED:
        return False
    if text[begin - 1] == "-" and begin > 1 and text[begin - 2].isdigit():
        return False
    word = _WORD_BEFORE.search(text, max(0, begin - 32), begin)
    return word is None or not quad_context.network_word(word.group(1))


def _netmask(quad: str) -> bool:
    """255.x.x.x with contiguous leading ones (255.255.255.0): a mask, not a host."""
    value = int.from_bytes(bytes(int(part) for part in quad.split(".")), "big")
    hosts = ~value & 0xFFFFFFFF
    return value >> 24 == 255 and hosts & (hosts + 1) == 0


def _scan_ipv6(text: str, found: list[Finding]) -> None:
    seen: set[int] = set()
    for hint in _V6_HINT.finditer(text):
        for match in _IPV6.finditer(text, max(0, hint.start() - 40), hint.end() + 40):
            value = match.group()
            if match.start() in seen or sum(c != ":" for c in value) < 3:
                continue
            seen.add(match.start())
            try:
                ipaddress.IPv6Address(value)
            except ValueError:
                continue
            found.append(Finding(match.start(), match.end(), "IP_ADDRESS"))


def _scan_ssns(text: str, start: int, end: int, found: list[Finding]) -> None:
    for match in _SSN.finditer(text, start, end):
        area, _, group, serial = match.groups()
        if checksums.ssn_ok(area, group, serial):
            found.append(Finding(match.start(), match.end(), "US_SSN"))
    for match in _SSN_COMPACT.finditer(text, max(0, start - 40), end):
        if checksums.ssn_ok(*match.groups()):
            found.append(Finding(match.start(1), match.end(3), "US_SSN"))


def _scan_keys(text: str, found: list[Finding]) -> None:
    for probe, pattern, min_body in _KEY_PATTERNS:
        if probe not in text:
            continue
        for match in pattern.finditer(text):
            if min_body == 0 or _random_looking(match.group(), min_body):
                found.append(Finding(match.start(), match.end(), "API_KEY"))
    lowered = text.lower()
    if len(lowered) != len(text):  # a rare character changed length: offsets differ
        lowered = text
    for word in _SECRET_WORDS:
        for start, end in _around(lowered, word, 16, 200):
            for match in _ASSIGNED_SECRET.finditer(text, start, end):
                if _random_looking(match.group(1), 16):
                    found.append(Finding(match.start(1), match.end(1), "API_KEY"))


def _random_looking(value: str, min_body: int) -> bool:
    """Real keys are long random strings; ``sk-xxxx`` or ``AKIA...EXAMPLE`` are not."""
    body = "".join(_KEY_BODY.findall(value))
    if len(body) < min_body or "EXAMPLE" in value.upper():
        return False
    letters = [c for c in body if c.isalpha()]
    if not letters or checksums.shannon_bits(body) < 3.0:
        return False
    if any(c.isdigit() for c in body):
        return True
    # No digit: random only if long and of both cases throughout, as a random base-62
    # body is (CamelCase words have about one capital per word).
    upper = sum(c.isupper() for c in letters) / len(letters)
    return len(body) >= 30 and 0.25 <= upper <= 0.75

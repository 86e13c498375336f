"""Check digits and structural rules that turn a pattern match into a validated entity.

A regex alone flags order numbers, firmware versions and placeholders; these checks
are what lets ``PiiDetector`` pass look-alikes: Luhn for cards, ISO 13616 mod-97 for
IBANs, ISO 7064 MOD 11-2 plus a real birth date and province for PRC resident IDs,
the SSA's area/group/serial rules for US SSNs, and an entropy floor for API keys.
All functions are pure and take the digits/characters already stripped of separators.
"""

from __future__ import annotations

import datetime
import math
from collections import Counter

# ISO 13616 IBAN lengths by country (SWIFT IBAN registry).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
    "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27,
    "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip

# First two digits of a PRC resident ID: the province-level division (GB/T 2260).
CN_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
     50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91}
)  # fmt: skip
_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_CHECK = "10X98765432"


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def card_brand(digits: str) -> str | None:
    """The scheme whose IIN range and length fit ``digits``, else None.

    Ranges follow the schemes' published IIN tables; a Luhn-valid number outside every
    range (e.g. an order number starting with 9) is not treated as a card.
    """
    n = len(digits)
    p2, p3, p4 = int(digits[:2]), int(digits[:3]), int(digits[:4])
    if digits[0] == "4":
        return "visa" if n in (13, 16, 19) else None
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return "mastercard" if n == 16 else None
    if p2 in (34, 37):
        return "amex" if n == 15 else None
    if p2 == 62 or p2 == 81:
        return "unionpay" if 16 <= n <= 19 else None
    if p4 == 6011 or 644 <= p3 <= 649 or p2 == 65:
        return "discover" if 16 <= n <= 19 else None
    if p2 == 35:  # JCB (3528-3589 officially; issuers and test data use all of 35xx)
        return "jcb" if 16 <= n <= 19 else None
    if p4 in (1800, 2131):
        return "jcb" if n == 15 else None
    if 300 <= p3 <= 305 or p2 in (36, 38, 39) or p4 == 3095:
        return "diners" if 14 <= n <= 19 else None
    if 2200 <= p4 <= 2204:
        return "mir" if 16 <= n <= 19 else None
    if p2 == 50 or 56 <= p2 <= 69:
        return "maestro" if 12 <= n <= 19 else None
    return None


def card_ok(digits: str) -> bool:
    return 12 <= len(digits) <= 19 and card_brand(digits) is not None and luhn_ok(digits)


def iban_ok(compact: str) -> bool:
    """``compact``: upper-case, no spaces. Length per country, then mod-97 == 1."""
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def cn_id_ok(chars: str, today: datetime.date | None = None) -> bool:
    """18 characters: 6-digit region, 8-digit birth date, 3-digit sequence, check char."""
    if len(chars) != 18 or not chars[:17].isdigit():
        return False
    if int(chars[:2]) not in CN_PROVINCES:
        return False
    try:
        born = datetime.date(int(chars[6:10]), int(chars[10:12]), int(chars[12:14]))
    except ValueError:
        return False
    if born.year < 1900 or born > (today or datetime.date.today()):
        return False
    total = sum(int(c) * w for c, w in zip(chars[:17], _CN_WEIGHTS, strict=True))
    return _CN_CHECK[total % 11] == chars[17].upper()


def ssn_ok(area: str, group: str, serial: str) -> bool:
    """SSA rules: area not 000, 666 or 9xx; group not 00; serial not 0000."""
    return area != "000" and area != "666" and area[0] != "9" and group != "00" and serial != "0000"


def nanp_ok(digits: str) -> bool:
    """10 digits of a North American number: area and exchange do not start with 0/1
    (the exchange rule is relaxed: test data and fictional ranges ignore it)."""
    return len(digits) == 10 and digits[0] not in "01" and len(set(digits)) > 2


def shannon_bits(text: str) -> float:
    """Entropy per character; real keys are random, placeholders (``sk-xxxx``) are not."""
    counts = Counter(text)
    size = len(text)
    return -sum(c / size * math.log2(c / size) for c in counts.values())

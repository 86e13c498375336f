"""Input tokens of an image part, by OpenAI's published vision formula.

https://platform.openai.com/docs/guides/vision (calculating costs): ``detail: low`` costs
a fixed base; otherwise the image is fitted into 2048x2048, its shortest side brought
down to 768 px, and each 512 px tile costs ``tile`` more. gpt-4o-mini bills the same
pixels at 100/3 times the rate.

Only ``data:`` URLs carry their dimensions; they are read from the image header (PNG,
GIF, JPEG, WebP) without decoding pixels. A remote URL is never fetched: it is counted
as a 1024x1024 image (4 tiles), a documented assumption.
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
from fractions import Fraction

_HEADER_B64_CHARS = 64 * 1024  # JPEG dimensions sit in the SOF marker, near the start
_ASSUMED_SIZE = (1024, 1024)
_BASE = Fraction(85)
_MINI_MULTIPLIER = Fraction(100, 3)


def image_tokens(url: str, detail: str | None, model: str) -> int:
    base = _BASE * (_MINI_MULTIPLIER if "4o-mini" in model else 1)
    if detail == "low":
        return int(base)
    width, height = data_url_size(url) or _ASSUMED_SIZE
    if max(width, height) > 2048:
        ratio = 2048 / max(width, height)
        width, height = int(width * ratio), int(height * ratio)
    if min(width, height) > 768:
        ratio = 768 / min(width, height)
        width, height = int(width * ratio), int(height * ratio)
    tiles = math.ceil(width / 512) * math.ceil(height / 512)
    return math.ceil(base + tiles * base * 2)


def data_url_size(url: str) -> tuple[int, int] | None:
    """(width, height) of a base64 ``data:image/...`` URL, or None if unknown."""
    if not url.startswith("data:"):
        return None
    _, sep, payload = url.partition(",")
    if not sep:
        return None
    head = payload[:_HEADER_B64_CHARS]
    head = head[: len(head) - len(head) % 4]
    try:
        data = base64.b64decode(head, validate=False)
    except (binascii.Error, ValueError):
        return None
    return _image_size(data)


def _image_size(data: bytes) -> tuple[int, int] | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return _webp_size(data)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        # SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(width), int(height)
        i += 2 + length
    return None

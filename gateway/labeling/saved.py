"""Reading a saved response: ``curl -i`` output, a JSON envelope, or a bare body/stream.

Accepted shapes, tried in this order:

1. a raw HTTP response (``curl -i``, ``curl -D -``): status line, headers, blank line,
   body; interim responses (``100 Continue``, a proxy's ``200 Connection established``)
   before the final one are skipped;
2. a JSON envelope ``{"headers": {...}, "body": "..." | {...}}``;
3. anything else is a body without headers (a JSON completion or an SSE capture).
"""

from __future__ import annotations

import json
from typing import Any

_BLANK_LINES = (b"\r\n\r\n", b"\n\n")


def parse_saved(data: bytes) -> tuple[dict[str, str], bytes]:
    stripped = data.lstrip()
    if stripped.startswith(b"HTTP/"):
        return split_http(stripped)
    if stripped.startswith(b"{"):
        envelope = _envelope(stripped)
        if envelope is not None:
            return envelope
    return {}, data


def split_http(data: bytes) -> tuple[dict[str, str], bytes]:
    """Headers (lower-cased names) and body of the last response in a ``curl -i`` dump."""
    headers: dict[str, str] = {}
    rest = data
    while rest.startswith(b"HTTP/"):
        cut, width = _first_blank_line(rest)
        if cut < 0:
            head, rest = rest, b""
        else:
            head, rest = rest[:cut], rest[cut + width :]
        headers = parse_header_lines(head)
    return headers, rest


def parse_header_lines(head: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw in head.decode("latin-1").splitlines():
        name, colon, value = raw.partition(":")
        if not colon or raw.startswith("HTTP/") or name != name.strip():
            continue
        headers[name.lower()] = value.strip()
    return headers


def _first_blank_line(data: bytes) -> tuple[int, int]:
    found = [(data.find(mark), len(mark)) for mark in _BLANK_LINES]
    hits = [item for item in found if item[0] >= 0]
    return min(hits) if hits else (-1, 0)


def _envelope(data: bytes) -> tuple[dict[str, str], bytes] | None:
    try:
        document: Any = json.loads(data)
    except ValueError:
        return None
    if not isinstance(document, dict) or "body" not in document:
        return None
    raw_headers = document.get("headers") or {}
    if not isinstance(raw_headers, dict):
        return None
    headers = {str(name).lower(): str(value) for name, value in raw_headers.items()}
    body = document["body"]
    if isinstance(body, str):
        return headers, body.encode("utf-8")
    return headers, json.dumps(body, ensure_ascii=False).encode("utf-8")

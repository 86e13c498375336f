"""Helpers for the labeling tests: saving responses the way users do, and tampering."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.labeling.keys import PublicKey, b64url_decode, public_key

JWKS = "/.well-known/jwks.json"


def keys_from_jwks(document: dict[str, Any]) -> list[PublicKey]:
    return [public_key(b64url_decode(entry["x"])) for entry in document["keys"]]


def flip_char(text: str, *, digit: bool = False) -> str:
    """``text`` with exactly one character changed (the first digit, if ``digit``)."""
    for index, char in enumerate(text):
        if digit and not char.isdigit():
            continue
        replacement = str((int(char) + 1) % 10) if digit else ("b" if char != "b" else "c")
        return text[:index] + replacement + text[index + 1 :]
    raise ValueError(f"nothing to flip in {text!r}")


def http_dump(response: httpx.Response, body: bytes | None = None) -> bytes:
    """What ``curl -i`` saves: status line, headers, blank line, body."""
    lines = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}"]
    lines += [f"{name}: {value}" for name, value in response.headers.items()]
    head = "\r\n".join(lines).encode("latin-1")
    return head + b"\r\n\r\n" + (response.content if body is None else body)


def stream_capture(http: httpx.Client, body: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    """A streamed answer's headers and raw bytes, as ``curl -N`` would save them."""
    with http.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as response:
        assert response.status_code == 200, response.read()
        return dict(response.headers), response.read()

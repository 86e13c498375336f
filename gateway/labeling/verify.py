"""Checking a label against the response it came with: valid, tampered or unsigned.

- **unsigned**: no label at all, or a label whose binding is missing (a stream that
  was cut short, or whose comment line was stripped): nothing vouches for the text.
- **tampered**: a binding is present but does not hold: a bad signature, an unknown
  key, or a signed fact (producer, ProduceID, model, text hash) that differs from the
  response. Editing the signed time or any other claim breaks the signature itself.
- **valid**: signed by one of the given keys, and every signed fact matches.

Pure functions over bytes: the CLI, the HTTP endpoint and the tests share them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import msgspec

from gateway.labeling.content import StreamText, body_text, sha256_hex
from gateway.labeling.keys import PublicKey, b64url_decode
from gateway.labeling.label import AIGC_HEADER, JWS_TYPE, STREAM_COMMENT_PREFIX, Claims

Result = Literal["valid", "tampered", "unsigned"]


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    result: Result
    reason: str
    label: dict[str, Any] | None = None
    claims: dict[str, Any] | None = None
    kid: str | None = None


class _Tampered(Exception):
    pass


class Verifier:
    def __init__(self, keys: Iterable[PublicKey]) -> None:
        self._keys = {key.kid: key for key in keys}

    @property
    def kids(self) -> list[str]:
        return list(self._keys)

    def verify(self, headers: Mapping[str, str], body: bytes) -> Verdict:
        headers = {name.lower(): value for name, value in headers.items()}
        header_label = _label_json(headers.get(AIGC_HEADER))
        if header_label is None and headers.get(AIGC_HEADER):
            return Verdict(result="tampered", reason="the AIGC header is not a JSON object")
        if _is_stream(headers, body):
            return self._verify_stream(header_label, body)
        if header_label is None:
            return Verdict(result="unsigned", reason="the response carries no AIGC label")
        binding = header_label.get("ReservedCode1")
        if not binding:
            return Verdict(
                result="unsigned", reason="the AIGC label has no binding", label=header_label
            )
        try:
            document = json.loads(body)
        except ValueError:
            return Verdict(
                result="tampered", reason="the body is not the JSON answer", label=header_label
            )
        if not isinstance(document, dict):
            return Verdict(result="tampered", reason="the body is not a JSON object")
        model = document.get("model")
        return self._check(header_label, str(binding), str(model), body_text(document))

    def _verify_stream(self, header_label: dict[str, Any] | None, body: bytes) -> Verdict:
        text = StreamText()
        comment_label: dict[str, Any] | None = None
        for raw in body.decode("utf-8", "replace").splitlines():
            line = raw.rstrip("\r")
            if line.startswith(":"):
                comment = line[1:].lstrip(" ")
                if comment.startswith(STREAM_COMMENT_PREFIX):
                    comment_label = _label_json(comment[len(STREAM_COMMENT_PREFIX) :])
                continue
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            try:
                chunk = json.loads(data)
            except ValueError:
                return Verdict(result="tampered", reason="a stream event is not valid JSON")
            if isinstance(chunk, dict):
                text.feed(chunk)
        if comment_label is None:
            if header_label is None:
                return Verdict(result="unsigned", reason="the stream carries no AIGC label")
            return Verdict(
                result="unsigned",
                reason="the stream has no label binding (cut short, or its comment was removed)",
                label=header_label,
            )
        if header_label is not None and header_label.get("ProduceID") != comment_label.get(
            "ProduceID"
        ):
            return Verdict(
                result="tampered",
                reason="the ProduceID in the headers differs from the stream's binding",
                label=comment_label,
            )
        binding = comment_label.get("ReservedCode1")
        if not binding:
            return Verdict(result="unsigned", reason="the binding is empty", label=comment_label)
        return self._check(comment_label, str(binding), str(text.model), text.text())

    def _check(self, label: dict[str, Any], binding: str, model: str, text: str) -> Verdict:
        try:
            kid, claims = self._open(binding)
        except _Tampered as exc:
            return Verdict(result="tampered", reason=str(exc), label=label)
        facts = msgspec.structs.asdict(claims)
        mismatches = [
            name
            for name, signed, seen in (
                ("Label", claims.label, label.get("Label")),
                ("ContentProducer", claims.producer, label.get("ContentProducer")),
                ("ProduceID", claims.produce_id, label.get("ProduceID")),
                ("model", claims.model, model),
                ("text (SHA-256)", claims.sha256, sha256_hex(text)),
            )
            if signed != seen
        ]
        if mismatches:
            return Verdict(
                result="tampered",
                reason="differs from what was signed: " + ", ".join(mismatches),
                label=label,
                claims=facts,
                kid=kid,
            )
        return Verdict(
            result="valid",
            reason=f"signed by key {kid} for {claims.producer} at {claims.time}",
            label=label,
            claims=facts,
            kid=kid,
        )

    def _open(self, binding: str) -> tuple[str, Claims]:
        parts = binding.split(".")
        if len(parts) != 3:
            raise _Tampered("ReservedCode1 is not a compact JWS")
        try:
            header = json.loads(b64url_decode(parts[0]))
        except ValueError:
            raise _Tampered("the JWS header is unreadable") from None
        if not isinstance(header, dict) or header.get("alg") != "EdDSA":
            raise _Tampered("the JWS is not an EdDSA signature")
        if header.get("typ") not in (None, JWS_TYPE):
            raise _Tampered("the JWS is not an AIGC label")
        kid = str(header.get("kid"))
        key = self._keys.get(kid)
        if key is None:
            raise _Tampered(f"signed by an unknown key ({kid}); give the producer's public keys")
        try:
            valid = key.verify(b64url_decode(parts[2]), f"{parts[0]}.{parts[1]}".encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            valid = False
        if not valid:
            raise _Tampered("the signature does not match the signed claims")
        try:
            claims = msgspec.json.decode(b64url_decode(parts[1]), type=Claims)
        except (msgspec.DecodeError, ValueError):
            raise _Tampered("the signed claims are unreadable") from None
        return kid, claims


def _label_json(value: str | None) -> dict[str, Any] | None:
    if not value:
        return None
    try:
        label = json.loads(value)
    except ValueError:
        return None
    return label if isinstance(label, dict) else None


def _is_stream(headers: Mapping[str, str], body: bytes) -> bool:
    if "text/event-stream" in headers.get("content-type", ""):
        return True
    head = body.lstrip()[:5]
    return head.startswith((b"data:", b":"))

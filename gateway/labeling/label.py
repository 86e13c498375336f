"""Building a label: the GB 45438 ``AIGC`` fields, the AI-Disclosure marker, the signature.

Header values must survive any HTTP stack, and many (proxies, the WSGI/ASGI latin-1
rule, some SDKs) mangle non-ASCII. So:

- ``aigc``: the ``AIGC`` metadata object exactly as GB 45438-2025 names it, as JSON
  with every non-ASCII character written as a ``\\uXXXX`` escape. Any JSON parser
  restores the original text; a client can copy the value into a saved file's metadata.
- ``ai-disclosure``: an RFC 9651 structured-field dictionary (the AI Content Disclosure
  header of draft-abaris-aicdh) saying the content is machine-generated, by which model
  and producer and when: the EU AI Act Art. 50(2) machine-readable marker. Non-ASCII
  values use RFC 9651 display strings (``%"..."``).

``ReservedCode1`` (the producer's integrity field) holds a compact JWS (RFC 7515) signed
with Ed25519 (``alg: EdDSA``, RFC 8037) over the claims below, so any JOSE library
can check it with the key from ``/.well-known/jwks.json``. Everything that is the same
for every answer is encoded once, at start-up.

Signing runs through libsodium (PyNaCl): 34 µs per answer inside a running gateway,
where ``cryptography``'s OpenSSL took 53 (Ed25519 is deterministic: the same bytes).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

import msgspec
from nacl.bindings import crypto_sign

from gateway.labeling.content import sha256_hex
from gateway.labeling.keys import PrivateKey, b64url

AIGC_HEADER = "aigc"
DISCLOSURE_HEADER = "ai-disclosure"
STREAM_COMMENT_PREFIX = "aigc "
JWS_TYPE = "aigc+jws"
LABEL_AI_GENERATED = "1"


class Claims(msgspec.Struct, frozen=True, kw_only=True):
    """What the signature covers. ``time`` is RFC 3339 UTC; ``sha256`` is of the text."""

    v: int = 1
    label: str = LABEL_AI_GENERATED
    producer: str
    produce_id: str
    model: str
    time: str
    sha256: str


_encode_claims = msgspec.json.Encoder().encode


def ascii_json(value: str) -> str:
    """A JSON string literal with non-ASCII escaped, safe in any header."""
    return json.dumps(value, ensure_ascii=True)


def sf_string(value: str) -> str:
    """An RFC 9651 string, or a display string when the value is not printable ASCII."""
    if value.isascii() and value.isprintable():
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    encoded = "".join(
        chr(byte) if 0x20 <= byte <= 0x7E and byte not in (0x22, 0x25) else f"%{byte:02x}"
        for byte in value.encode("utf-8")
    )
    return '%"' + encoded + '"'


def _sodium_signer(secret: bytes) -> Callable[[bytes], bytes]:
    """The detached Ed25519 signature of a message under libsodium's ``secret`` key."""

    def sign(message: bytes) -> bytes:
        return crypto_sign(message, secret)[:64]  # signed message = signature + message

    return sign


class Labeler:
    """Signs answers for one producer with one key. Shared by all requests (no state)."""

    def __init__(
        self,
        producer: str,
        key: PrivateKey,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.producer = producer
        self.public, secret = key.keypair()
        self._sign = _sodium_signer(secret)
        self._clock = clock
        header = {"alg": "EdDSA", "kid": self.public.kid, "typ": JWS_TYPE}
        self._jws_header = b64url(json.dumps(header, separators=(",", ":")).encode())
        self._aigc_head = (
            '{"Label":"' + LABEL_AI_GENERATED + '","ContentProducer":' + ascii_json(producer)
        )
        self._aigc_tail = ',"ContentPropagator":"","PropagateID":"","ReservedCode2":""}'
        self._disclosure_provider = sf_string(producer)

    @staticmethod
    def new_id() -> str:
        """128 random bits: unique per answer without coordination between replicas."""
        return os.urandom(16).hex()

    def sign(self, produce_id: str, model: str, text: str) -> str:
        """The compact JWS binding producer, id, model, time and the text's hash."""
        now = self._clock()
        claims = Claims(
            producer=self.producer,
            produce_id=produce_id,
            model=model,
            time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            sha256=sha256_hex(text),
        )
        signing_input = self._jws_header + "." + b64url(_encode_claims(claims))
        return signing_input + "." + b64url(self._sign(signing_input.encode("ascii")))

    def aigc(self, produce_id: str, binding: str) -> str:
        """The ``AIGC`` object as ASCII JSON; ``binding`` is empty until the text is known."""
        return (
            self._aigc_head
            + ',"ProduceID":"'
            + produce_id
            + '","ReservedCode1":"'
            + binding
            + '"'
            + self._aigc_tail
        )

    def headers(self, produce_id: str, model: str, binding: str) -> dict[str, str]:
        return {
            AIGC_HEADER: self.aigc(produce_id, binding),
            DISCLOSURE_HEADER: (
                f"mode=machine-generated, model={sf_string(model)}, "
                f"provider={self._disclosure_provider}, date=@{int(self._clock())}"
            ),
        }

    def stream_comment(self, produce_id: str, binding: str) -> str:
        """The SSE comment (sent before ``data: [DONE]``) that completes a stream's label."""
        return STREAM_COMMENT_PREFIX + self.aigc(produce_id, binding)

"""The signing key: from config, else from a file created atomically at first start.

Several workers (or replicas sharing a volume) may start at once; the key is written to
a temporary file and linked into place, so exactly one key wins and every process
reads that one. A key id (``kid``) is the first 16 hex digits of the SHA-256 of the raw
public key, so a verifier can pick the right key without trying them all.

Keys are raw Ed25519 bytes, signed and checked with libsodium (PyNaCl). Key files are
PEM in RFC 8410's layout, the one Ed25519 layout that ``openssl genpkey -algorithm
ed25519`` and ``cryptography`` write and read: a fixed DER prefix and the 32 bytes, so
they are read here without ``cryptography`` (9 MB of memory in every worker).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.bindings import crypto_sign_open, crypto_sign_seed_keypair
from nacl.exceptions import BadSignatureError

from gateway.labeling.config import Labeling

log = logging.getLogger("gateway.labeling")
KEY_FILE_NAME = "aigc-ed25519.pem"


class LabelKeyError(ValueError):
    """A configured key cannot be read; the message names the config field."""


@dataclass(frozen=True, slots=True)
class PublicKey:
    kid: str
    raw: bytes  # the 32-byte Ed25519 public key

    def jwk(self) -> dict[str, Any]:
        """RFC 8037 OKP key, usable by any JOSE library to check the labels' JWS."""
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64url(self.raw),
            "kid": self.kid,
            "use": "sig",
            "alg": "EdDSA",
        }

    def verify(self, signature: bytes, message: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            crypto_sign_open(signature + message, self.raw)
        except (BadSignatureError, ValueError, TypeError):
            return False
        return True


@dataclass(frozen=True, slots=True)
class PrivateKey:
    seed: bytes  # the 32-byte Ed25519 private key (RFC 8032's seed)

    @staticmethod
    def generate() -> PrivateKey:
        return PrivateKey(os.urandom(32))

    def keypair(self) -> tuple[PublicKey, bytes]:
        """The public key and libsodium's 64-byte secret key, derived from the seed."""
        raw, secret = crypto_sign_seed_keypair(self.seed)
        return public_key(raw), secret

    def public(self) -> PublicKey:
        return self.keypair()[0]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key(raw: bytes) -> PublicKey:
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return PublicKey(hashlib.sha256(raw).hexdigest()[:16], bytes(raw))


def default_key_path() -> Path:
    base = os.environ.get("GATEWAY_DATA_DIR")
    if base:
        return Path(base) / KEY_FILE_NAME
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "gateway" / KEY_FILE_NAME


def key_path(config: Labeling) -> Path:
    return Path(config.key_file).expanduser() if config.key_file else default_key_path()


def signing_key(config: Labeling) -> PrivateKey:
    """The configured key, else the key file's, else a new key persisted there."""
    if config.signing_key:
        return _parse_private(config.signing_key, "labeling.signing_key")
    path = key_path(config)
    if path.exists():
        return _read_private(path)
    key = PrivateKey.generate()
    try:
        _persist(key, path)
    except OSError as exc:
        # Labels stay verifiable through /.well-known/jwks.json until a restart.
        log.error(
            "cannot persist the label signing key to %s (%s); using a key for this process "
            "only: set labeling.key_file or labeling.signing_key",
            path,
            exc.strerror,
        )
        return key
    return _read_private(path)


def verification_keys(config: Labeling) -> list[PublicKey]:
    """Every key whose labels this gateway vouches for: its own first, then the extras.

    Never creates a key: ``gateway verify`` must not invent one the server never used.
    """
    keys: list[PublicKey] = []
    if config.signing_key:
        keys.append(_parse_private(config.signing_key, "labeling.signing_key").public())
    else:
        path = key_path(config)
        if path.exists():
            keys.append(_read_private(path).public())
    for index, text in enumerate(config.verify_keys):
        keys.append(parse_public(text, f"labeling.verify_keys[{index}]"))
    return keys


# RFC 8410 DER prefixes: PKCS#8 v1 (OneAsymmetricKey) and SubjectPublicKeyInfo, id-Ed25519.
_PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")
_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
_PEM = re.compile(r"-----BEGIN ([A-Z ]+)-----(.*?)-----END \1-----", re.DOTALL)


def parse_public(text: str, where: str) -> PublicKey:
    """A PEM public key, a PEM private key (its public half), or base64 of the 32 bytes."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            if "PRIVATE KEY" in text:
                return _parse_private(text, where).public()
            der = _pem_der(text)
            if len(der) != 44 or not der.startswith(_SPKI_PREFIX):
                raise ValueError("not an Ed25519 SubjectPublicKeyInfo")
            return public_key(der[12:])
        return public_key(_b64_any(text))
    except (ValueError, binascii.Error) as exc:
        if isinstance(exc, LabelKeyError):
            raise
        raise LabelKeyError(f"{where}: not an Ed25519 public key (PEM or base64 raw)") from None


def _parse_private(text: str, where: str) -> PrivateKey:
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            der = _pem_der(text)
            if len(der) != 48 or not der.startswith(_PKCS8_PREFIX):
                raise ValueError("not an Ed25519 PKCS#8 key")
            return PrivateKey(der[16:])
        seed = _b64_any(text)
        if len(seed) != 32:
            raise ValueError("an Ed25519 seed is 32 bytes")
        return PrivateKey(seed)
    except (ValueError, binascii.Error) as exc:
        if isinstance(exc, LabelKeyError):
            raise
        raise LabelKeyError(
            f"{where}: not an Ed25519 private key (PKCS#8 PEM or base64 seed)"
        ) from None


def _pem_der(text: str) -> bytes:
    match = _PEM.search(text)
    if match is None:
        raise ValueError("not a PEM block")
    return base64.b64decode("".join(match.group(2).split()), validate=True)


def _b64_any(text: str) -> bytes:
    """Standard or URL-safe base64, padded or not."""
    text = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _read_private(path: Path) -> PrivateKey:
    return _parse_private(path.read_text(encoding="ascii"), str(path))


def private_pem(key: PrivateKey) -> bytes:
    """PKCS#8 PEM in RFC 8410's layout: byte for byte what ``cryptography`` writes."""
    body = base64.b64encode(_PKCS8_PREFIX + key.seed).decode("ascii")
    return f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n".encode("ascii")


def _persist(key: PrivateKey, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".aigc-key-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(private_pem(key))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # fails if another process won the race: use its key
        except FileExistsError:
            pass
        else:
            log.info("generated the label signing key %s", path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)

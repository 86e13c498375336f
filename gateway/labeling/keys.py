"""The signing key: from config, else from a file created atomically at first start.

Several workers (or replicas sharing a volume) may start at once; the key is written to
a temporary file and linked into place, so exactly one key wins and every process
reads that one. A key id (``kid``) is the first 16 hex digits of the SHA-256 of the raw
public key, so a verifier can pick the right key without trying them all.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.labeling.config import Labeling

log = logging.getLogger("gateway.labeling")
KEY_FILE_NAME = "aigc-ed25519.pem"


class LabelKeyError(ValueError):
    """A configured key cannot be read; the message names the config field."""


@dataclass(frozen=True, slots=True)
class PublicKey:
    kid: str
    key: Ed25519PublicKey

    def raw(self) -> bytes:
        return self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def jwk(self) -> dict[str, Any]:
        """RFC 8037 OKP key, usable by any JOSE library to check the labels' JWS."""
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64url(self.raw()),
            "kid": self.kid,
            "use": "sig",
            "alg": "EdDSA",
        }


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key(key: Ed25519PublicKey) -> PublicKey:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return PublicKey(hashlib.sha256(raw).hexdigest()[:16], key)


def default_key_path() -> Path:
    base = os.environ.get("GATEWAY_DATA_DIR")
    if base:
        return Path(base) / KEY_FILE_NAME
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "gateway" / KEY_FILE_NAME


def key_path(config: Labeling) -> Path:
    return Path(config.key_file).expanduser() if config.key_file else default_key_path()


def signing_key(config: Labeling) -> Ed25519PrivateKey:
    """The configured key, else the key file's, else a new key persisted there."""
    if config.signing_key:
        return _parse_private(config.signing_key, "labeling.signing_key")
    path = key_path(config)
    if path.exists():
        return _read_private(path)
    key = Ed25519PrivateKey.generate()
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
        keys.append(
            public_key(_parse_private(config.signing_key, "labeling.signing_key").public_key())
        )
    else:
        path = key_path(config)
        if path.exists():
            keys.append(public_key(_read_private(path).public_key()))
    for index, text in enumerate(config.verify_keys):
        keys.append(public_key(parse_public(text, f"labeling.verify_keys[{index}]")))
    return keys


def parse_public(text: str, where: str) -> Ed25519PublicKey:
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            if "PRIVATE KEY" in text:
                return _parse_private(text, where).public_key()
            loaded = serialization.load_pem_public_key(text.encode())
            if not isinstance(loaded, Ed25519PublicKey):
                raise LabelKeyError(f"{where}: not an Ed25519 public key")
            return loaded
        return Ed25519PublicKey.from_public_bytes(_b64_any(text))
    except (ValueError, UnsupportedAlgorithm, binascii.Error) as exc:
        if isinstance(exc, LabelKeyError):
            raise
        raise LabelKeyError(f"{where}: not an Ed25519 public key (PEM or base64 raw)") from None


def _parse_private(text: str, where: str) -> Ed25519PrivateKey:
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            loaded = serialization.load_pem_private_key(text.encode(), password=None)
            if not isinstance(loaded, Ed25519PrivateKey):
                raise LabelKeyError(f"{where}: not an Ed25519 private key")
            return loaded
        return Ed25519PrivateKey.from_private_bytes(_b64_any(text))
    except (ValueError, TypeError, UnsupportedAlgorithm, binascii.Error) as exc:
        if isinstance(exc, LabelKeyError):
            raise
        raise LabelKeyError(
            f"{where}: not an Ed25519 private key (PKCS#8 PEM or base64 seed)"
        ) from None


def _b64_any(text: str) -> bytes:
    """Standard or URL-safe base64, padded or not."""
    text = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _read_private(path: Path) -> Ed25519PrivateKey:
    return _parse_private(path.read_text(encoding="ascii"), str(path))


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _persist(key: Ed25519PrivateKey, path: Path) -> None:
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

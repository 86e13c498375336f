"""API keys held only as SHA-256 digests: indexed by a digest prefix, confirmed by
comparing the whole digest in constant time.

A key is high-entropy, so an unsalted digest is safe to store. The index makes a lookup
one dict hit whatever the number of keys; ``hmac.compare_digest`` on the full digest
keeps the confirming comparison constant-time. Raw keys never leave this module:
records carry an id and a display prefix.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from gateway.config.schema import Config
from gateway.errors import AuthenticationError

MASTER_TEAM = "__admin__"
_INDEX_BYTES = 8


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    team: str
    key_prefix: str
    is_master: bool = False
    _allowed: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def may_use(self, model: str) -> bool:
        return self.is_master or (self._allowed is not None and bool(self._allowed.match(model)))


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def key_id_for(key_digest: bytes) -> str:
    return "key_" + key_digest.hex()[:16]


def display_prefix(key: str) -> str:
    return key[:7] + "…"


class KeyStore:
    def __init__(self, config: Config) -> None:
        team_patterns = {
            name: _compile_patterns(team.models) for name, team in config.teams.items()
        }
        self._index: dict[bytes, list[tuple[bytes, Principal]]] = {}
        for entry in config.keys:
            key_digest = digest(entry.key)
            self._add(
                key_digest,
                Principal(
                    key_id=key_id_for(key_digest),
                    team=entry.team,
                    key_prefix=display_prefix(entry.key),
                    _allowed=team_patterns[entry.team],
                ),
            )
        master = config.admin.master_key
        self._master_digest = digest(master) if master else None
        if self._master_digest is not None:
            self._add(
                self._master_digest,
                Principal(
                    key_id=key_id_for(self._master_digest),
                    team=MASTER_TEAM,
                    key_prefix=display_prefix(master),
                    is_master=True,
                ),
            )

    def _add(self, key_digest: bytes, principal: Principal) -> None:
        self._index.setdefault(key_digest[:_INDEX_BYTES], []).append((key_digest, principal))

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        key_digest = digest(bearer_token(headers))
        found: Principal | None = None
        for stored, principal in self._index.get(key_digest[:_INDEX_BYTES], ()):
            if hmac.compare_digest(stored, key_digest):
                found = principal
        if found is None:
            raise AuthenticationError(
                "Incorrect API key provided. You can find your gateway key with your platform team."
            )
        return found

    def is_master(self, headers: Mapping[str, str]) -> bool:
        if self._master_digest is None:
            return False
        try:
            key = bearer_token(headers)
        except AuthenticationError:
            return False
        return hmac.compare_digest(digest(key), self._master_digest)


def bearer_token(headers: Mapping[str, str]) -> str:
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        api_key = headers.get("api-key", "").strip()  # Azure-style clients
        if api_key:
            return api_key
        raise AuthenticationError(
            "You didn't provide an API key. You need to provide your gateway key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            code="missing_api_key",
        )
    return token


def _compile_patterns(patterns: list[str]) -> re.Pattern[str]:
    if not patterns:
        return re.compile(r"(?!)")
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))

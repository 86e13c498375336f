"""API keys held only as SHA-256 digests: indexed by a digest prefix, confirmed by
comparing the whole digest in constant time.

A key is high-entropy, so an unsalted digest is safe to store. The index makes a lookup
one dict hit whatever the number of keys; ``hmac.compare_digest`` on the full digest
keeps the confirming comparison constant-time. Raw keys never leave this module:
records carry an id and a display prefix.

Two sources feed the index: the config's ``keys:`` (static, built once) and keys created
through the admin API or CLI (held in the state store; ``auth.directory`` swaps in a new
index whenever they change). Either way ``authenticate`` is a dict lookup.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from gateway.config.schema import Config, Team
from gateway.errors import AuthenticationError
from gateway.limits.config import Limits
from gateway.pipeline.context import Slot

MASTER_TEAM = "__admin__"
_INDEX_BYTES = 8
_BAD_KEY = "Incorrect API key provided. You can find your gateway key with your platform team."


@dataclass(frozen=True, slots=True)
class KeyBudget:
    usd: float
    period: str | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    team: str
    key_prefix: str
    is_master: bool = False
    # What the team's stored data is keyed by (``TeamRecord.team_id``; a config team's
    # name): a team that reuses a deleted team's name gets a new one.
    team_id: str = ""
    _allowed: re.Pattern[str] | None = field(default=None, repr=False, compare=False)
    # The team's settings (from the config or the admin API), for stages acting per team.
    team_settings: Team | None = field(default=None, repr=False, compare=False)
    # This key's own rate limits and budget (admin-created keys, or config keys' limits).
    limits: Limits | None = field(default=None, compare=False)
    budget: KeyBudget | None = field(default=None, compare=False)
    expires_at: float | None = field(default=None, compare=False)
    # Where this key's spend is counted: ``key:<id>``, or for a rotated key the id of
    # the first key of its chain (its budget carries over).
    spend_scope: str = field(default="", compare=False)

    @property
    def key_scope(self) -> str:
        return self.spend_scope or "key:" + self.key_id

    def may_use(self, model: str) -> bool:
        return self.is_master or (self._allowed is not None and bool(self._allowed.match(model)))


# Who is calling: set by authentication, read by every stage acting per team or key.
PRINCIPAL: Slot[Principal] = Slot("principal")

Index = dict[bytes, list[tuple[bytes, Principal]]]


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def key_id_for(key_digest: bytes) -> str:
    return "key_" + key_digest.hex()[:16]


def display_prefix(key: str) -> str:
    return key[:7] + "…"


def principal_for_team(
    key_id: str,
    team: str,
    key_prefix: str,
    settings: Team | None,
    *,
    limits: Limits | None = None,
    budget: KeyBudget | None = None,
    expires_at: float | None = None,
    spend_scope: str = "",
    team_id: str = "",
) -> Principal:
    return Principal(
        key_id=key_id,
        team=team,
        key_prefix=key_prefix,
        team_id=team_id or team,
        _allowed=compile_patterns(settings.models if settings is not None else []),
        team_settings=settings,
        limits=limits,
        budget=budget,
        expires_at=expires_at,
        spend_scope=spend_scope,
    )


class KeyStore:
    def __init__(self, config: Config) -> None:
        self._static: Index = {}
        for entry in config.keys:
            key_digest = digest(entry.key)
            _add(
                self._static,
                key_digest,
                principal_for_team(
                    key_id_for(key_digest),
                    entry.team,
                    display_prefix(entry.key),
                    config.teams[entry.team],
                    limits=getattr(entry, "limits", None),
                ),
            )
        master = config.admin.master_key
        self._master_digest = digest(master) if master else None
        if self._master_digest is not None:
            _add(
                self._static,
                self._master_digest,
                Principal(
                    key_id=key_id_for(self._master_digest),
                    team=MASTER_TEAM,
                    team_id=MASTER_TEAM,
                    key_prefix=display_prefix(master),
                    is_master=True,
                ),
            )
        self._dynamic: Index = {}

    def replace_dynamic(self, entries: Iterable[tuple[bytes, Principal]]) -> None:
        """Swap in the admin-created keys (one assignment: lookups never see a half-built
        index)."""
        index: Index = {}
        for key_digest, principal in entries:
            _add(index, key_digest, principal)
        self._dynamic = index

    def add_dynamic(self, key_digest: bytes, principal: Principal) -> None:
        """One key found in the store on a cache miss, until the next full reload."""
        index = dict(self._dynamic)
        index[key_digest[:_INDEX_BYTES]] = [
            *index.get(key_digest[:_INDEX_BYTES], ()),
            (key_digest, principal),
        ]
        self._dynamic = index

    def static_principals(self) -> list[Principal]:
        return [p for entries in self._static.values() for _, p in entries if not p.is_master]

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        return self.lookup(digest(bearer_token(headers)))

    def lookup(self, key_digest: bytes) -> Principal:
        found = _find(self._static, key_digest) or _find(self._dynamic, key_digest)
        if found is None:
            raise AuthenticationError(_BAD_KEY)
        if found.expires_at is not None and time.time() >= found.expires_at:
            raise AuthenticationError("This API key has expired.", code="expired_api_key")
        return found

    def is_master(self, headers: Mapping[str, str]) -> bool:
        if self._master_digest is None:
            return False
        try:
            key = bearer_token(headers)
        except AuthenticationError:
            return False
        return hmac.compare_digest(digest(key), self._master_digest)


def _add(index: Index, key_digest: bytes, principal: Principal) -> None:
    index.setdefault(key_digest[:_INDEX_BYTES], []).append((key_digest, principal))


def _find(index: Index, key_digest: bytes) -> Principal | None:
    found: Principal | None = None
    for stored, principal in index.get(key_digest[:_INDEX_BYTES], ()):
        if hmac.compare_digest(stored, key_digest):
            found = principal
    return found


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


def compile_patterns(patterns: list[str]) -> re.Pattern[str]:
    if not patterns:
        return re.compile(r"(?!)")
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))

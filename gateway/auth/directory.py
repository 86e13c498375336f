"""Keeps the key index in step with the keys and teams in the state store.

Every change through the admin API or CLI bumps a version number in the store. Each
gateway process polls it every ``POLL_S`` and, when it moved, reloads all keys and teams
and swaps in a new index. So a revoked key stops working on every replica within
``POLL_S`` plus one reload (well under a second), and the request path never waits on
the store.

A key the index does not know yet (created a moment ago on another replica) is looked
up in the store once; misses are remembered for ``NEGATIVE_TTL_S`` so a client hammering
with a bad key costs one store lookup per second, not one per request.

If the store is unreachable the last loaded keys keep working (fail-static) and the
failure is logged once; revocations made meanwhile take effect when it is back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

import msgspec

from gateway.auth.keys import (
    KeyBudget,
    KeyStore,
    Principal,
    bearer_token,
    digest,
    principal_for_team,
)
from gateway.background import cancel_all
from gateway.config.schema import Config, Team
from gateway.errors import AuthenticationError
from gateway.limits.config import Limits
from gateway.state.base import StateBackend, StateError
from gateway.state.records import AuthSnapshot, KeyRecord, TeamRecord

log = logging.getLogger("gateway.auth")

POLL_S = 0.25
NEGATIVE_TTL_S = 1.0
_MAX_NEGATIVE = 10_000


class KeyDirectory:
    def __init__(self, keys: KeyStore, backend: StateBackend, config: Config) -> None:
        self._keys = keys
        self._backend = backend
        self._config_teams = dict(config.teams)
        self._stored_teams: dict[str, Team] = {}
        self._stored_ids: dict[str, str] = {}
        self._version = -1
        self._task: asyncio.Task[None] | None = None
        self._misses: dict[bytes, float] = {}
        self._failing = False

    async def start(self) -> None:
        try:
            await self.reload()
        except StateError as exc:
            log.error("cannot load keys and teams from the state store: %s", exc)
            self._failing = True
        self._task = asyncio.create_task(self._poll(), name="gateway-auth-poll")

    async def stop(self) -> None:
        await cancel_all(self._task)
        self._task = None

    def team(self, name: str) -> Team | None:
        return self._config_teams.get(name) or self._stored_teams.get(name)

    def team_id(self, name: str) -> str:
        """The id the team's data is stored under: a stored team's immutable id, else the
        name (config teams, teams stored before ids, names no team has now)."""
        return self._stored_ids.get(name, name) if name not in self._config_teams else name

    async def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """The caller's principal: the in-memory index first (the common case), then the
        store for a key created elsewhere since the last reload."""
        key_digest = digest(bearer_token(headers))
        try:
            return self._keys.lookup(key_digest)
        except AuthenticationError as exc:
            if exc.code != "invalid_api_key":
                raise
            found = await self._fetch(key_digest)
            if found is None:
                raise
            return self._keys.lookup(key_digest)

    async def reload(self) -> None:
        snapshot = await self._backend.load_auth()
        self._apply(snapshot)

    def _apply(self, snapshot: AuthSnapshot) -> None:
        stored: dict[str, Team] = {}
        for record in snapshot.teams:
            team = team_settings(record)
            if team is not None:
                stored[record.name] = team
        self._stored_teams = stored
        self._stored_ids = {record.name: record.team_id for record in snapshot.teams}
        now = time.time()
        entries = []
        for key in snapshot.keys:
            principal = self._principal(key, now)
            if principal is not None:
                entries.append((bytes.fromhex(key.digest), principal))
        self._keys.replace_dynamic(entries)
        self._version = snapshot.version
        self._misses.clear()

    def _principal(self, key: KeyRecord, now: float) -> Principal | None:
        if key.revoked_at is not None and key.revoked_at <= now:
            return None
        settings = self.team(key.team)
        if settings is None or (key.team_id and key.team_id != self.team_id(key.team)):
            return None  # its team was deleted (or this view is stale: see _fetch)
        limits = None
        if key.limits:
            try:
                limits = msgspec.convert(key.limits, Limits)
            except msgspec.ValidationError as exc:
                log.error("key %s has invalid limits, ignored: %s", key.id, exc)
        budget = None if key.budget_usd is None else KeyBudget(key.budget_usd, key.budget_period)
        return principal_for_team(
            key.id,
            key.team,
            key.prefix,
            settings,
            limits=limits,
            budget=budget,
            expires_at=key.expires_at,
            spend_scope=key.budget_scope,
            team_id=key.team_id or self.team_id(key.team),
        )

    async def _fetch(self, key_digest: bytes) -> Principal | None:
        now = time.monotonic()
        if self._misses.get(key_digest, 0.0) > now:
            return None
        try:
            record = await self._backend.find_key(key_digest.hex())
        except StateError as exc:
            log.warning("key lookup in the state store failed: %s", exc)
            return None
        principal = None if record is None else self._principal(record, time.time())
        if (
            principal is None
            and record is not None
            and (
                self.team(record.team) is None
                or (record.team_id and record.team_id != self.team_id(record.team))
            )
        ):
            # Its team was created (or deleted and made again) since the last reload:
            # reload now, not at the poll.
            try:
                await self.reload()
            except StateError as exc:
                log.warning("reloading keys and teams failed: %s", exc)
            principal = self._principal(record, time.time())
        if principal is None:
            if len(self._misses) >= _MAX_NEGATIVE:
                self._misses.clear()
            self._misses[key_digest] = now + NEGATIVE_TTL_S
            return None
        self._keys.add_dynamic(key_digest, principal)
        return principal

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_S)
            try:
                version = await self._backend.auth_version()
                if version != self._version:
                    await self.reload()
            except StateError as exc:
                if not self._failing:
                    log.error("state store unreachable; keys as last loaded stay valid: %s", exc)
                self._failing = True
                continue
            if self._failing:
                log.warning("state store reachable again; keys and teams reloaded")
            self._failing = False


def team_settings(record: TeamRecord) -> Team | None:
    try:
        return msgspec.convert(record.settings, Team)
    except msgspec.ValidationError as exc:
        log.error("team %s has settings this version cannot read, ignored: %s", record.name, exc)
        return None

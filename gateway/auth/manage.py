"""Creating, listing, changing and revoking teams and keys: what the admin API and the
``gateway keys`` command both do, against the configured state store.

A new key is returned once, in clear, and stored only as its SHA-256 digest; listings
show an id and a short prefix. Teams and keys from the config file are listed too but
are read-only here (the file is their source of truth): changing them answers 409.
Deleting a team revokes its keys first, so no key outlives its team.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec

from gateway.accounting.config import BudgetPeriod
from gateway.auth.keys import KeyStore, digest, key_id_for
from gateway.config.schema import Config, Team
from gateway.errors import ConflictError, InvalidRequestError, NotFoundError
from gateway.limits.config import Limits
from gateway.state.base import StateBackend
from gateway.state.records import KeyRecord, TeamRecord

KEY_PREFIX = "sk-gw-"
_SHOWN_CHARS = 10
_TEAM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_PERIODS = ("daily", "weekly", "monthly", "total")
_KEY_FIELDS = frozenset({"name", "expires_at", "budget_usd", "budget_period", "limits"})


# A feature's check of team settings it cannot honour on this gateway: None, or the
# offending field's path and the message for the admin.
TeamCheck = Callable[[Team], "tuple[str, str] | None"]


class AccountAdmin:
    def __init__(self, config: Config, backend: StateBackend, keys: KeyStore) -> None:
        self._config = config
        self._backend = backend
        self._keys = keys
        # Registered by the features that read per-team settings (see ``app.py``).
        self.team_checks: list[TeamCheck] = []

    # --- teams ----------------------------------------------------------------------

    async def list_teams(self) -> list[dict[str, Any]]:
        views = [_team_view(name, team, "config") for name, team in self._config.teams.items()]
        for record in await self._backend.list_teams():
            if record.name not in self._config.teams:
                views.append(_stored_team_view(record))
        return views

    async def get_team(self, name: str) -> dict[str, Any]:
        if name in self._config.teams:
            return _team_view(name, self._config.teams[name], "config")
        record = await self._backend.get_team(name)
        if record is None:
            raise NotFoundError(f"No team named '{name}'.", param="name", code="not_found")
        return _stored_team_view(record)

    async def team_id(self, name: str) -> str:
        """The id the team now named ``name`` stores its data under, read from the store
        (not a replica's cached view): a config team's name, else the stored team's id;
        the name itself when no team has it."""
        if name in self._config.teams:
            return name
        record = await self._backend.get_team(name)
        return name if record is None else record.team_id

    async def team_settings(self, name: str) -> Team | None:
        if name in self._config.teams:
            return self._config.teams[name]
        record = await self._backend.get_team(name)
        return None if record is None else _validate_team(record.settings)

    async def create_team(self, name: object, settings: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(name, str) or not _TEAM_NAME.match(name):
            raise InvalidRequestError(
                "A team name is 1-64 letters, digits, '.', '_' or '-', starting with a "
                "letter or digit.",
                param="name",
            )
        if name in self._config.teams:
            raise ConflictError(f"Team '{name}' is defined in the config file.", param="name")
        team = self._checked(settings)
        now = time.time()
        record = TeamRecord(
            name=name,
            settings=_builtins(team),
            created_at=now,
            updated_at=now,
            id="team_" + secrets.token_hex(8),
        )
        if not await self._backend.put_team(record, create=True):
            raise ConflictError(f"Team '{name}' already exists.", param="name")
        return _stored_team_view(record)

    async def update_team(self, name: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Top-level fields given replace the stored ones; the rest are kept."""
        self._writable_team(name)
        record = await self._backend.get_team(name)
        if record is None:
            raise NotFoundError(f"No team named '{name}'.", param="name", code="not_found")
        team = self._checked({**record.settings, **changes})
        updated = TeamRecord(
            name=name,
            settings=_builtins(team),
            created_at=record.created_at,
            updated_at=time.time(),
            id=record.id,
        )
        if not await self._backend.put_team(updated, create=False):
            raise NotFoundError(f"No team named '{name}'.", param="name", code="not_found")
        return _stored_team_view(updated)

    async def delete_team(self, name: str) -> list[str]:
        self._writable_team(name)
        if await self._backend.get_team(name) is None:
            raise NotFoundError(f"No team named '{name}'.", param="name", code="not_found")
        revoked = []
        for key in await self._backend.list_keys(name):
            if key.revoked_at is None:
                await self._backend.put_key(msgspec.structs.replace(key, revoked_at=time.time()))
                revoked.append(key.id)
        await self._backend.delete_team(name)
        return revoked

    def _checked(self, settings: object) -> Team:
        team = _validate_team(settings)
        for check in self.team_checks:
            problem = check(team)
            if problem is not None:
                param, message = problem
                raise InvalidRequestError(message, param=param)
        return team

    def _writable_team(self, name: str) -> None:
        if name in self._config.teams:
            raise ConflictError(
                f"Team '{name}' is defined in the config file; change it there.", param="name"
            )

    # --- keys -----------------------------------------------------------------------

    async def create_key(
        self,
        team: str,
        *,
        name: str = "",
        expires_at: float | None = None,
        budget_usd: float | None = None,
        budget_period: str | None = None,
        limits: dict[str, Any] | None = None,
        rotated_from: KeyRecord | None = None,
    ) -> tuple[KeyRecord, str]:
        if await self.team_settings(team) is None:
            raise NotFoundError(f"No team named '{team}'.", param="team", code="not_found")
        team_id = await self.team_id(team)
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        key_digest = digest(secret)
        record = KeyRecord(
            id=key_id_for(key_digest),
            digest=key_digest.hex(),
            team=team,
            team_id=team_id,
            prefix=secret[:_SHOWN_CHARS] + "…",
            name=name,
            created_at=time.time(),
            expires_at=expires_at,
            budget_usd=budget_usd,
            budget_period=budget_period,
            limits=limits,
            rotated_from=rotated_from.id if rotated_from else None,
            lineage=(rotated_from.lineage or rotated_from.id) if rotated_from else None,
        )
        _validate_key(record)
        await self._backend.put_key(record)
        return record, secret

    async def list_keys(self, team: str | None = None) -> list[dict[str, Any]]:
        now = time.time()
        views = [
            {
                "id": p.key_id,
                "object": "api_key",
                "team": p.team,
                "prefix": p.key_prefix,
                "source": "config",
                "status": "active",
            }
            for p in self._keys.static_principals()
            if team is None or p.team == team
        ]
        views += [key_view(k, now) for k in await self._backend.list_keys(team)]
        return views

    async def get_key(self, key_id: str) -> KeyRecord:
        record = await self._backend.get_key(key_id)
        if record is None:
            if any(p.key_id == key_id for p in self._keys.static_principals()):
                raise ConflictError(
                    f"Key '{key_id}' is defined in the config file; change it there.",
                    param="id",
                )
            raise NotFoundError(f"No key with id '{key_id}'.", param="id", code="not_found")
        return record

    async def update_key(self, key_id: str, changes: dict[str, Any]) -> KeyRecord:
        unknown = set(changes) - _KEY_FIELDS
        if unknown:
            raise InvalidRequestError(
                f"Unknown field '{sorted(unknown)[0]}'; a key's "
                f"{', '.join(sorted(_KEY_FIELDS))} can be changed.",
                param=sorted(unknown)[0],
            )
        record = await self.get_key(key_id)
        if "expires_at" in changes:
            changes = {**changes, "expires_at": parse_time(changes["expires_at"], "expires_at")}
        try:
            updated = msgspec.convert(
                {**msgspec.to_builtins(record), **changes}, KeyRecord, strict=False
            )
        except msgspec.ValidationError as exc:
            raise InvalidRequestError(f"Invalid key field: {exc}") from None
        _validate_key(updated)
        await self._backend.put_key(updated)
        return updated

    async def revoke_key(self, key_id: str) -> KeyRecord:
        record = await self.get_key(key_id)
        if record.revoked_at is not None:
            return record
        revoked = msgspec.structs.replace(record, revoked_at=time.time())
        await self._backend.put_key(revoked)
        return revoked

    async def rotate_key(self, key_id: str, grace_s: float = 0.0) -> tuple[KeyRecord, str]:
        """A new key with the same team, settings and budget (the budget's spend carries
        over); the old one is revoked now, or expires after ``grace_s``."""
        old = await self.get_key(key_id)
        if old.revoked_at is not None:
            raise ConflictError(f"Key '{key_id}' is revoked.", param="id")
        new, secret = await self.create_key(
            old.team,
            name=old.name,
            expires_at=old.expires_at,
            budget_usd=old.budget_usd,
            budget_period=old.budget_period,
            limits=old.limits,
            rotated_from=old,
        )
        if grace_s > 0:
            until = time.time() + grace_s
            expiry = until if old.expires_at is None else min(old.expires_at, until)
            await self._backend.put_key(msgspec.structs.replace(old, expires_at=expiry))
        else:
            await self._backend.put_key(msgspec.structs.replace(old, revoked_at=time.time()))
        return new, secret


def key_view(record: KeyRecord, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    status = "active"
    if record.revoked_at is not None and record.revoked_at <= now:
        status = "revoked"
    elif record.expires_at is not None and record.expires_at <= now:
        status = "expired"
    view: dict[str, Any] = {
        "id": record.id,
        "object": "api_key",
        "team": record.team,
        "name": record.name,
        "prefix": record.prefix,
        "source": "admin",
        "status": status,
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "revoked_at": record.revoked_at,
        "budget_usd": record.budget_usd,
        "budget_period": record.budget_period,
        "limits": record.limits,
    }
    if record.rotated_from:
        view["rotated_from"] = record.rotated_from
    return view


def parse_time(value: object, param: str) -> float | None:
    """Unix seconds or an ISO-8601 timestamp (UTC unless it names a zone)."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                from datetime import UTC

                moment = moment.replace(tzinfo=UTC)
            return moment.timestamp()
    raise InvalidRequestError(
        f"Invalid '{param}': expected unix seconds or an ISO-8601 time.", param=param
    )


def _validate_team(settings: object) -> Team:
    if not isinstance(settings, dict):
        raise InvalidRequestError("Team settings must be a JSON object.")
    try:
        return msgspec.convert(settings, Team)
    except msgspec.ValidationError as exc:
        message = str(exc)
        problem, _, where = message.partition(" - at `$")
        param = where.rstrip("`").lstrip(".") or None
        raise InvalidRequestError(f"Invalid team settings: {problem}.", param=param) from None


def _validate_key(record: KeyRecord) -> None:
    if record.budget_usd is not None and record.budget_usd < 0:
        raise InvalidRequestError("'budget_usd' must be at least 0.", param="budget_usd")
    if record.budget_period is not None and record.budget_period not in _PERIODS:
        raise InvalidRequestError(
            f"'budget_period' must be one of {', '.join(_PERIODS)}.", param="budget_period"
        )
    if record.limits is not None:
        try:
            msgspec.convert(record.limits, Limits)
        except msgspec.ValidationError as exc:
            raise InvalidRequestError(f"Invalid 'limits': {exc}.", param="limits") from None


def _builtins(team: Team) -> dict[str, Any]:
    value = msgspec.to_builtins(team)
    assert isinstance(value, dict)
    return value


def _team_view(name: str, team: Team, source: str) -> dict[str, Any]:
    return {"name": name, "object": "team", "source": source, **_builtins(team)}


def _stored_team_view(record: TeamRecord) -> dict[str, Any]:
    view = {"name": record.name, "object": "team", "source": "admin", **record.settings}
    view["created_at"] = record.created_at
    view["updated_at"] = record.updated_at
    return view


def budget_period(value: str | None, default: BudgetPeriod) -> BudgetPeriod:
    if value in _PERIODS:
        return value  # type: ignore[return-value]
    return default

"""The state seam: what keys, teams, budgets and the usage ledger need from storage.

Two implementations pass the same behavioural tests (``tests/test_state.py``):

- ``EmbeddedState`` (no ``state.url``): one SQLite file, durable across restarts; budget
  counters live in the process and are persisted with the ledger.
- ``RedisState`` (``state.url: redis://...``): every replica shares keys, teams, budget
  counters and the ledger; anything that must be atomic runs as one Lua script on the
  server, never as a read followed by a write from the gateway.

Both write usage records in the background, batched (``settle`` only queues), so the
hot path never waits on storage for bookkeeping. ``flush`` drains the queue; ``aclose``
flushes before it closes. Writes are idempotent per ``usage_id``: a batch retried after
an ambiguous failure cannot count a request twice.

Auth changes bump a version number; every replica polls it (``auth_version``) and
reloads, which bounds how long a revoked key keeps working.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from gateway.state.records import (
    AuthSnapshot,
    BudgetCheck,
    Hold,
    KeyRecord,
    OpenRecord,
    Refusal,
    Settlement,
    TeamRecord,
    UsageQuery,
    UsageRecord,
)


class StateError(RuntimeError):
    """The state store failed (unreachable, corrupt); the message names the store."""


class StateBackend(Protocol):
    kind: str

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...

    # --- teams and keys -------------------------------------------------------------

    async def auth_version(self) -> int: ...

    async def load_auth(self) -> AuthSnapshot: ...

    async def find_key(self, digest: str) -> KeyRecord | None:
        """The key with this SHA-256 hex digest, revoked or not."""
        ...

    async def get_key(self, key_id: str) -> KeyRecord | None: ...

    async def list_keys(self, team: str | None = None) -> list[KeyRecord]: ...

    async def put_key(self, key: KeyRecord) -> None:
        """Create or replace (revocation and rotation replace)."""
        ...

    async def get_team(self, name: str) -> TeamRecord | None: ...

    async def list_teams(self) -> list[TeamRecord]: ...

    async def put_team(self, team: TeamRecord, *, create: bool) -> bool:
        """``create``: only if absent; else only if present. False when that fails."""
        ...

    async def delete_team(self, name: str) -> bool: ...

    # --- budgets and the ledger -----------------------------------------------------

    async def reserve(self, checks: Sequence[BudgetCheck], hold: Hold) -> Refusal | None:
        """Atomically: if every check passes (spent + held + amount within its limit),
        hold ``amount`` on every scope; else hold nothing and say which check failed."""
        ...

    def open(self, record: OpenRecord) -> None:
        """Queue an admitted request's open record, to be written by ``reap`` if nobody
        settles it by its ``due``: a replica killed mid-request still leaves one ledger
        record, and its hold is released. Never blocks: it is written with the next
        batch of settlements, and not at all if the request settles first (most do),
        so it costs a write only for requests that outlive a flush interval."""
        ...

    async def reap(self, now: float, limit: int = 100) -> int:
        """Settle up to ``limit`` open records whose ``due`` has passed (their replica
        died); returns how many. Any replica may reap: a record is written once."""
        ...

    def settle(self, settlement: Settlement) -> None:
        """Queue a finished request: its record, its cost added to every scope and
        period, its hold released. Never blocks."""
        ...

    async def flush(self, within_s: float = 10.0) -> None:
        """Return once everything queued before the call is written (StateError if not
        done within ``within_s``)."""
        ...

    async def spend(self, scope: str, periods: Sequence[str]) -> tuple[dict[str, int], int]:
        """(spent per period, currently held) for one scope, in nano-dollars."""
        ...

    def records(self, query: UsageQuery) -> AsyncIterator[UsageRecord]: ...

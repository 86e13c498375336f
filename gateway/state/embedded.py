"""The embedded backend: one SQLite file, no server.

Durable: keys, teams, spend counters and the ledger are in the file (WAL journal), so
they survive a restart. All SQLite work runs on one dedicated thread, so the event loop
never waits on the disk and the connection is never shared between threads.

Budgets are decided in memory (a reservation is a dict update, microseconds), which is
exact for one process. The counters are the database's totals plus this process's
not-yet-written deltas; after every write, and every second, the totals are re-read, so
several workers on one file see each other's spend within about a second. Their
in-flight reservations stay private to each worker: for exact budgets across processes,
use Redis.

A crash loses at most the records queued since the last write (``flush_interval_s``);
a clean shutdown writes everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from gateway.state.base import StateError
from gateway.state.records import (
    USAGE_FIELDS,
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
    encode,
    key_decoder,
    note_decoder,
    settlement_decoder,
    team_decoder,
)
from gateway.state.write_behind import WriteBehind

log = logging.getLogger("gateway.state")
T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('auth_version', 0);
CREATE TABLE IF NOT EXISTS teams (name TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, digest TEXT NOT NULL UNIQUE, team TEXT NOT NULL, doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS api_keys_team ON api_keys (team);
CREATE TABLE IF NOT EXISTS spend (
    scope TEXT NOT NULL, period TEXT NOT NULL, spent INTEGER NOT NULL,
    PRIMARY KEY (scope, period)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ledger (
    seq INTEGER PRIMARY KEY,
    usage_id TEXT NOT NULL UNIQUE, time REAL NOT NULL, request_id TEXT NOT NULL,
    team TEXT NOT NULL, key_id TEXT NOT NULL, model TEXT NOT NULL, target TEXT NOT NULL,
    endpoint TEXT NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
    cached_tokens INTEGER NOT NULL, cost_nano INTEGER NOT NULL, cache TEXT NOT NULL,
    latency_ms REAL NOT NULL, status INTEGER NOT NULL, estimated INTEGER NOT NULL,
    stream INTEGER NOT NULL, pipeline TEXT, team_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS ledger_time ON ledger (time);
CREATE TABLE IF NOT EXISTS open_requests (
    usage_id TEXT PRIMARY KEY, due REAL NOT NULL, doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS open_requests_due ON open_requests (due);
"""
# Column names are the record's own field names (constants); values are parameters.
_INSERT_USAGE = (
    f"INSERT OR IGNORE INTO ledger ({', '.join(USAGE_FIELDS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' for _ in USAGE_FIELDS)})"
)
_SELECT_USAGE = f"SELECT seq, {', '.join(USAGE_FIELDS)} FROM ledger WHERE seq > ?"  # noqa: S608
_ADD_SPEND = (
    "INSERT INTO spend (scope, period, spent) VALUES (?, ?, ?) "
    "ON CONFLICT (scope, period) DO UPDATE SET spent = spent + excluded.spent"
)
_PIPELINE = USAGE_FIELDS.index("pipeline")
_BUMP_VERSION = "UPDATE meta SET value = value + 1 WHERE key = 'auth_version'"
_MAX_QUEUE = 200_000
_BATCH = 2_000
_REFRESH_S = 1.0
_PAGE = 1_000

Totals = dict[str, dict[str, int]]


def default_path() -> Path:
    base = os.environ.get("GATEWAY_DATA_DIR") or ".gateway"
    return Path(base) / "state.db"


class EmbeddedState:
    kind = "embedded"

    def __init__(
        self, path: Path, *, flush_interval_s: float = 0.05, open_delay_s: float = 0.01
    ) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="gateway-state")
        self._conn: sqlite3.Connection | None = None
        self._writes = WriteBehind(
            self._write_batch,
            where=str(path),
            errors=(sqlite3.Error, StateError),
            interval=flush_interval_s,
            open_delay=open_delay_s,
            batch=_BATCH,
            max_queue=_MAX_QUEUE,
        )
        # Budgets: scope -> period -> nano-dollars.
        self._snapshot: Totals = {}
        self._pending: Totals = defaultdict(lambda: defaultdict(int))
        self._held: dict[str, int] = defaultdict(int)
        self._holds: dict[str, tuple[Hold, float]] = {}
        self._next_expiry = float("inf")
        self._refreshed = 0.0

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        await self._run(self._open)
        self._writes.start()

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(_SCHEMA)
            _migrate(conn)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"cannot open the state file {self.path}: {exc}") from exc
        self._conn = conn

    async def aclose(self) -> None:
        await self._writes.aclose()
        if self._conn is not None:
            await self._run(self._conn.close)
            self._conn = None
        self._executor.shutdown(wait=True)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StateError("the state store is not open")
        return self._conn

    # --- teams and keys -------------------------------------------------------------

    async def auth_version(self) -> int:
        return await self._run(self._version)

    def _version(self) -> int:
        row = self._db().execute("SELECT value FROM meta WHERE key = 'auth_version'").fetchone()
        return int(row[0]) if row else 0

    async def load_auth(self) -> AuthSnapshot:
        def load() -> AuthSnapshot:
            db = self._db()
            db.execute("BEGIN")
            try:
                version = self._version()
                teams = [team_decoder.decode(r[0]) for r in db.execute("SELECT doc FROM teams")]
                keys = [key_decoder.decode(r[0]) for r in db.execute("SELECT doc FROM api_keys")]
            finally:
                db.execute("COMMIT")
            return AuthSnapshot(version, teams, keys)

        return await self._run(load)

    async def find_key(self, digest: str) -> KeyRecord | None:
        return await self._one_key("SELECT doc FROM api_keys WHERE digest = ?", digest)

    async def get_key(self, key_id: str) -> KeyRecord | None:
        return await self._one_key("SELECT doc FROM api_keys WHERE id = ?", key_id)

    async def _one_key(self, sql: str, arg: str) -> KeyRecord | None:
        def query() -> KeyRecord | None:
            row = self._db().execute(sql, (arg,)).fetchone()
            return key_decoder.decode(row[0]) if row else None

        return await self._run(query)

    async def list_keys(self, team: str | None = None) -> list[KeyRecord]:
        def query() -> list[KeyRecord]:
            if team is None:
                rows = self._db().execute("SELECT doc FROM api_keys ORDER BY rowid")
            else:
                rows = self._db().execute(
                    "SELECT doc FROM api_keys WHERE team = ? ORDER BY rowid", (team,)
                )
            return [key_decoder.decode(r[0]) for r in rows]

        return await self._run(query)

    async def put_key(self, key: KeyRecord) -> None:
        def write() -> None:
            with self._transaction() as db:
                db.execute(
                    "INSERT INTO api_keys (id, digest, team, doc) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET team = excluded.team, doc = excluded.doc",
                    (key.id, key.digest, key.team, encode(key).decode()),
                )
                db.execute(_BUMP_VERSION)

        await self._run(write)

    async def get_team(self, name: str) -> TeamRecord | None:
        def query() -> TeamRecord | None:
            row = self._db().execute("SELECT doc FROM teams WHERE name = ?", (name,)).fetchone()
            return team_decoder.decode(row[0]) if row else None

        return await self._run(query)

    async def list_teams(self) -> list[TeamRecord]:
        def query() -> list[TeamRecord]:
            rows = self._db().execute("SELECT doc FROM teams ORDER BY name")
            return [team_decoder.decode(r[0]) for r in rows]

        return await self._run(query)

    async def put_team(self, team: TeamRecord, *, create: bool) -> bool:
        def write() -> bool:
            doc = encode(team).decode()
            with self._transaction() as db:
                if create:
                    cursor = db.execute(
                        "INSERT OR IGNORE INTO teams (name, doc) VALUES (?, ?)", (team.name, doc)
                    )
                else:
                    cursor = db.execute("UPDATE teams SET doc = ? WHERE name = ?", (doc, team.name))
                if cursor.rowcount != 1:
                    return False
                db.execute(_BUMP_VERSION)
                return True

        return await self._run(write)

    async def delete_team(self, name: str) -> bool:
        def write() -> bool:
            with self._transaction() as db:
                if db.execute("DELETE FROM teams WHERE name = ?", (name,)).rowcount != 1:
                    return False
                db.execute(_BUMP_VERSION)
                return True

        return await self._run(write)

    def _fetch(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        return self._db().execute(sql, args).fetchall()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # --- budgets --------------------------------------------------------------------

    async def reserve(self, checks: Sequence[BudgetCheck], hold: Hold) -> Refusal | None:
        missing = [c.scope for c in checks if c.scope not in self._snapshot]
        if missing:
            loaded = await self._run(self._read_totals, missing)
            for scope in missing:
                self._snapshot.setdefault(scope, loaded.get(scope, {}))
        # From here on no await: check and hold are one step for this process.
        now = time.monotonic()
        if now >= self._next_expiry:
            self._expire(now)
        for check in checks:
            spent = self._spent(check.scope, check.period)
            held = self._held[check.scope]
            if spent >= check.limit_nano or spent + held + hold.amount_nano > check.limit_nano:
                return Refusal(check, spent, held)
        for scope in hold.scopes:
            self._held[scope] += hold.amount_nano
        expiry = now + hold.ttl_s
        self._holds[hold.id] = (hold, expiry)
        self._next_expiry = min(self._next_expiry, expiry)
        return None

    def _spent(self, scope: str, period: str) -> int:
        base = self._snapshot.get(scope, {}).get(period, 0)
        pending = self._pending.get(scope)
        return base + (pending.get(period, 0) if pending else 0)

    def _release(self, hold: Hold) -> None:
        if self._holds.pop(hold.id, None) is None:
            return
        for scope in hold.scopes:
            self._held[scope] -= hold.amount_nano

    def _expire(self, now: float) -> None:
        expired = [hold for hold, expiry in self._holds.values() if expiry <= now]
        for hold in expired:
            log.warning("budget hold %s expired unsettled; released", hold.id)
            self._release(hold)
        self._next_expiry = min((e for _, e in self._holds.values()), default=float("inf"))

    async def spend(self, scope: str, periods: Sequence[str]) -> tuple[dict[str, int], int]:
        await self.flush()
        totals = await self._run(self._read_totals, [scope])
        spent = totals.get(scope, {})
        return {p: spent.get(p, 0) for p in periods}, self._held.get(scope, 0)

    # --- the ledger -----------------------------------------------------------------

    def settle(self, settlement: Settlement) -> None:
        cost = settlement.record.cost_nano
        if cost:
            for scope in settlement.scopes:
                pending = self._pending[scope]
                for period in settlement.periods:
                    pending[period] += cost
        if settlement.hold is not None:
            self._release(settlement.hold)
        self._writes.put(settlement)

    def open(self, record: OpenRecord) -> None:
        self._writes.open(record)

    async def reap(self, now: float, limit: int = 100) -> int:
        """Open records of a worker that died (or of this one, before a restart); the
        ledger's unique usage id keeps one that two workers reap at once to one row."""
        rows = await self._run(self._due, now, limit)
        for (doc,) in rows:
            self.settle(settlement_decoder.decode(doc))
        if rows:
            await self.flush()
        return len(rows)

    def _due(self, now: float, limit: int) -> list[tuple[str]]:
        return (
            self._db()
            .execute(
                "SELECT doc FROM open_requests WHERE due <= ? ORDER BY due LIMIT ?", (now, limit)
            )
            .fetchall()
        )

    async def flush(self, within_s: float = 10.0) -> None:
        """Return once everything queued before the call is written."""
        await self._writes.flush(within_s)

    async def _write_batch(self, opens: list[OpenRecord], batch: list[Settlement]) -> None:
        """Write open records and a batch (also, every ``_REFRESH_S``, an empty one:
        budget totals are re-read then, to see other processes' spend) and move its
        spend from pending to the snapshot."""
        refresh = time.monotonic() - self._refreshed >= _REFRESH_S
        if not (opens or batch or refresh):
            return
        scopes = list(self._snapshot) if refresh else _scopes(batch, self._snapshot)
        rows = [(o.usage_id, o.due, encode(o.settlement).decode()) for o in opens]
        totals = await self._run(self._write, rows, batch, scopes)
        for settlement in batch:
            _subtract(self._pending, settlement)
        self._snapshot.update(totals)
        if refresh:
            self._refreshed = time.monotonic()

    def _write(
        self, opens: list[tuple[str, float, str]], batch: list[Settlement], scopes: list[str]
    ) -> Totals:
        """Write open records and the batch in one transaction (rows already present
        are skipped, with their spend); return the new totals of ``scopes``."""
        with self._transaction() as db:
            deltas: dict[tuple[str, str], int] = defaultdict(int)
            db.executemany(
                "INSERT OR REPLACE INTO open_requests (usage_id, due, doc) VALUES (?, ?, ?)", opens
            )
            db.executemany(
                "DELETE FROM open_requests WHERE usage_id = ?",
                [(s.record.usage_id,) for s in batch],
            )
            for settlement in batch:
                record = settlement.record
                cursor = db.execute(_INSERT_USAGE, _row(record))
                if cursor.rowcount != 1 or not record.cost_nano:
                    continue
                for scope in settlement.scopes:
                    for period in settlement.periods:
                        deltas[scope, period] += record.cost_nano
            db.executemany(_ADD_SPEND, [(s, p, v) for (s, p), v in deltas.items()])
            return self._read_totals(scopes)

    def _read_totals(self, scopes: Sequence[str]) -> Totals:
        totals: Totals = {scope: {} for scope in scopes}
        db = self._db()
        for scope in scopes:
            for period, spent in db.execute(
                "SELECT period, spent FROM spend WHERE scope = ?", (scope,)
            ):
                totals[scope][period] = int(spent)
        return totals

    async def records(self, query: UsageQuery) -> AsyncIterator[UsageRecord]:
        await self.flush()
        where, args = _where(query)
        after = 0
        while True:
            sql = f"{_SELECT_USAGE}{where} ORDER BY seq LIMIT {_PAGE}"
            rows = await self._run(self._fetch, sql, (after, *args))
            for row in rows:
                yield _record(row[1:])
            if len(rows) < _PAGE:
                return
            after = rows[-1][0]


def _migrate(conn: sqlite3.Connection) -> None:
    """Columns added after a state file was created (nullable, so old rows stay valid)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(ledger)")}
    if "pipeline" not in columns:
        conn.execute("ALTER TABLE ledger ADD COLUMN pipeline TEXT")
    if "team_id" not in columns:
        conn.execute("ALTER TABLE ledger ADD COLUMN team_id TEXT NOT NULL DEFAULT ''")


def _row(record: UsageRecord) -> tuple[Any, ...]:
    values = [getattr(record, name) for name in USAGE_FIELDS]
    note = record.pipeline
    values[_PIPELINE] = encode(note).decode() if note is not None else None
    return tuple(values)


def _record(row: Sequence[Any]) -> UsageRecord:
    values = dict(zip(USAGE_FIELDS, row, strict=True))
    values["estimated"] = bool(values["estimated"])
    values["stream"] = bool(values["stream"])
    note = values["pipeline"]
    values["pipeline"] = note_decoder.decode(note) if note else None
    return UsageRecord(**values)


def _where(query: UsageQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    for column, op, value in (
        ("time", ">=", query.start),
        ("time", "<", query.end),
        ("COALESCE(NULLIF(team_id, ''), team)", "=", query.team),
        ("key_id", "=", query.key_id),
        ("model", "=", query.model),
        ("request_id", "=", query.request_id),
    ):
        if value is not None:
            clauses.append(f" AND {column} {op} ?")
            args.append(value)
    return "".join(clauses), args


def _scopes(batch: list[Settlement], loaded: Totals) -> list[str]:
    return list({s for settlement in batch for s in settlement.scopes if s in loaded})


def _subtract(pending: Totals, settlement: Settlement) -> None:
    cost = settlement.record.cost_nano
    if not cost:
        return
    for scope in settlement.scopes:
        periods = pending.get(scope)
        if periods is None:
            continue
        for period in settlement.periods:
            periods[period] -= cost
            if not periods[period]:
                del periods[period]
        if not periods:
            del pending[scope]

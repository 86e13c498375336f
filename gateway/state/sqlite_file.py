"""One SQLite file served by one thread: what the embedded stores share.

SQLite calls block, so each store runs them on its own single worker thread (one
connection, never used from two threads at once) and awaits them from the event loop;
a failure surfaces as ``StateError`` naming the store, as the state backends' do.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from gateway.state.base import StateError

T = TypeVar("T")


class SqliteFile:
    def __init__(self, path: Path, schema: str, what: str) -> None:
        """``schema``: the script run at every open (``CREATE ... IF NOT EXISTS``);
        ``what``: the store's name in errors ("the feedback store")."""
        self.path = path
        self._schema = schema
        self._what = what
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="gateway-sqlite")
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        await self.run(self._open)

    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 5000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(self._schema)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"cannot open {self._what} {self.path}: {exc}") from exc
        self._conn = conn

    async def aclose(self) -> None:
        if self._conn is not None:
            await self.run(self._conn.close)
            self._conn = None
        self._executor.shutdown(wait=True)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the store's thread."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        except sqlite3.Error as exc:
            raise StateError(f"{self._what} {self.path} failed: {exc}") from exc

    @property
    def connection(self) -> sqlite3.Connection:
        """For use on the store's thread only (inside ``run``)."""
        if self._conn is None:
            raise StateError(f"{self._what} is not open")
        return self._conn


class SqliteStore:
    """An embedded store over one ``SqliteFile``: the life cycle the stores share.
    Subclasses name their ``schema`` and what they are called in errors."""

    kind = "embedded"
    schema: ClassVar[str]
    what: ClassVar[str]

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = SqliteFile(path, self.schema, self.what)
        self._run = self._file.run

    async def start(self) -> None:
        await self._file.open()

    async def aclose(self) -> None:
        await self._file.aclose()

"""The usage ledger's write-behind queue, shared by both state backends.

A request settles by appending to an in-memory queue and never waits for the store; one
task writes the queue in batches every ``interval`` (or at once when a batch fills). A
failing store is retried with backoff and the batch kept at the head of the queue, so
records are written in order and none is lost short of ``max_queue`` (or a crash).

Open records (an admitted request's provisional settlement, for crash recovery) ride
the same batches: kept by usage id, written with the first batch after they are
``open_delay`` old, and dropped unwritten when their request settles first. Requests
that answer within the delay therefore never write one, and those that run longer share
one write per batch (no extra wake-ups). A replica killed less than ``open_delay`` plus
one interval after admitting a request may leave no record of it, as a crash may lose
the settlements of the last interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from gateway.state.base import StateError
from gateway.state.records import OpenRecord, Settlement

log = logging.getLogger("gateway.state")

_MAX_BACKOFF_S = 5.0


class WriteBehind:
    def __init__(
        self,
        write: Callable[[list[OpenRecord], list[Settlement]], Awaitable[None]],
        *,
        where: str,
        errors: tuple[type[BaseException], ...],
        interval: float,
        batch: int,
        max_queue: int = 200_000,
        retry_on_close_s: float = 0.0,
        open_delay: float = 0.01,
    ) -> None:
        """``write`` gets the open records due for writing and every batch, empty ones
        too (a backend may refresh then); ``errors`` are the store's failures worth a
        retry. On close, a failing store is retried until the backoff reaches
        ``retry_on_close_s``."""
        self._write = write
        self._where = where
        self._errors = errors
        self._interval = interval
        self._batch = batch
        self._max_queue = max_queue
        self._retry_on_close_s = retry_on_close_s
        self._open_delay = open_delay
        self._queue: list[Settlement] = []
        # Insertion order is admission order: the first is the oldest.
        self._opens: dict[str, OpenRecord] = {}
        self._wake: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task = asyncio.create_task(self._loop(), name="gateway-state-flush")

    async def aclose(self) -> None:
        """Write what is queued (retrying as configured), then stop."""
        self._closing = True
        if self._task is not None:
            if self._wake is not None:
                self._wake.set()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._queue:
            log.error("%d usage records could not be written to %s", len(self._queue), self._where)

    def open(self, record: OpenRecord) -> None:
        self._opens[record.usage_id] = record

    def _due_opens(self) -> list[OpenRecord]:
        """The open records old enough to write (all of them on close)."""
        if self._closing:
            return list(self._opens.values())
        cutoff = time.time() - self._open_delay
        due = []
        for record in self._opens.values():
            if record.settlement.record.time > cutoff:
                break
            due.append(record)
        return due

    def put(self, settlement: Settlement) -> None:
        self._opens.pop(settlement.record.usage_id, None)
        if len(self._queue) >= self._max_queue:
            dropped = self._queue.pop(0)
            log.error("usage queue full: dropped the record of %s", dropped.record.request_id)
        self._queue.append(settlement)
        if self._idle is not None:
            self._idle.clear()
        if len(self._queue) >= self._batch and self._wake is not None:
            self._wake.set()

    async def flush(self, within_s: float = 10.0) -> None:
        """Return once everything queued before the call is written."""
        if self._wake is None or self._idle is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while self._queue:
            self._wake.set()
            try:
                await asyncio.wait_for(self._idle.wait(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise StateError(f"usage records are not being written to {self._where}") from None

    async def _loop(self) -> None:
        assert self._wake is not None and self._idle is not None
        backoff = self._interval
        failing = False
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            batch, self._queue = self._queue[: self._batch], self._queue[self._batch :]
            # Opens stay listed until written: one settled meanwhile is dropped by
            # ``put``, or (if already being written) deleted by its settlement's batch.
            opens = self._due_opens()
            try:
                await self._write(opens, batch)
            except self._errors as exc:
                if not failing:
                    log.error("cannot write usage to %s (will retry): %s", self._where, exc)
                failing = True
                self._queue[:0] = batch
                if self._closing and backoff >= self._retry_on_close_s:
                    return
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)
                continue
            for record in opens:
                if self._opens.get(record.usage_id) is record:
                    del self._opens[record.usage_id]
            if failing:
                log.warning("usage writes to %s resumed", self._where)
            failing = False
            backoff = self._interval
            if not self._queue:
                self._idle.set()
                if self._closing and not self._opens:
                    return
            if self._queue or (self._closing and self._opens):
                self._wake.set()

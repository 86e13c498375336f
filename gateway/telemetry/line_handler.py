"""The access log's handler: a ``StreamHandler`` that also takes finished lines.

Why: through ``logging`` an access line cost about 5 % of a plain chat request's CPU
(a ``LogRecord``, the handler lock, the formatter, and one write syscall per line). The
access logger hands its line straight to this handler when it is the logger's only
handler and nothing filters (``AccessLogger``); lines handed over in one pass of the
event loop are written together, at the start of the next pass, in writes of at most
``PIPE_BUF`` bytes (so that other workers' lines never land inside one). Anything
else logged through the handler (``emit``) is written as a ``StreamHandler`` writes it,
after the lines still waiting. Its messages are written as they are: configure a plain
``StreamHandler`` for an access log with a formatter of its own.
"""

from __future__ import annotations

import asyncio
import logging
import select
from collections.abc import Iterator
from typing import TextIO

# Several workers write to one stderr, often a pipe (docker, systemd): a write of at most
# PIPE_BUF bytes is never interleaved with theirs, so a batch never splits a line.
ATOMIC_WRITE = getattr(select, "PIPE_BUF", 512)


class LineHandler(logging.StreamHandler[TextIO]):
    """Writes messages as they are, one per line; ``append`` batches per loop pass."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self.setFormatter(logging.Formatter("%(message)s"))
        self._pending: list[str] = []

    def append(self, line: str) -> None:
        """Queue one finished line (called on the event loop's thread)."""
        self._pending.append(line)
        if len(self._pending) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no loop running: write it now
                self.flush()

    def flush(self) -> None:
        """Write the waiting lines. Never raises: a broken stream (a closed pipe) is
        reported as ``logging`` reports it (``handleError``), and its lines dropped."""
        with self.lock:  # type: ignore[union-attr]
            lines, self._pending = self._pending, []
            try:
                if lines:
                    for text in _batches(lines):
                        self.stream.write(text)
                        self.stream.flush()
                else:
                    super().flush()
            except Exception:
                self.handleError(logging.makeLogRecord({"msg": f"{len(lines)} access lines"}))

    def emit(self, record: logging.LogRecord) -> None:
        self.flush()
        super().emit(record)

    @staticmethod
    def taking_lines(logger: logging.Logger, level: int) -> LineHandler | None:
        """The handler to hand ``logger``'s lines at ``level`` to, or None when the
        ``logging`` path must run (other handlers, filters, or a level that drops it)."""
        handlers = logger.handlers
        if len(handlers) != 1 or logger.filters or logger.propagate or logger.disabled:
            return None
        handler = handlers[0]
        if type(handler) is not LineHandler or handler.filters or handler.level > level:
            return None
        return handler if logger.isEnabledFor(level) else None


def _batches(lines: list[str]) -> Iterator[str]:
    """The lines, newline-terminated, joined into runs of at most ``ATOMIC_WRITE`` bytes
    (a longer line alone)."""
    start = size = 0
    for index, line in enumerate(lines):
        length = (len(line) if line.isascii() else len(line.encode())) + 1
        if index > start and size + length > ATOMIC_WRITE:
            yield "\n".join(lines[start:index]) + "\n"
            start, size = index, 0
        size += length
    yield "\n".join(lines[start:]) + "\n"

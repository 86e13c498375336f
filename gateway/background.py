"""Stopping the gateway's background tasks (pollers, flushers, reapers) at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def cancel_all(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancel the tasks (None: nothing to cancel) and wait until each has ended; their
    own cancellation is how they end, not an error."""
    live = [task for task in tasks if task is not None]
    for task in live:
        task.cancel()
    for task in live:
        with contextlib.suppress(asyncio.CancelledError):
            await task

"""The state backends: embedded (one SQLite file) and Redis (many replicas).

``open_state`` picks one from ``state:`` in the config; both implement
``state.base.StateBackend`` and pass the same tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gateway.state.base import StateBackend, StateError

if TYPE_CHECKING:
    from gateway.config.schema import Config

__all__ = ["StateBackend", "StateError", "open_state", "state_path"]

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def open_state(config: Config) -> StateBackend:
    """The configured backend, not yet started (``await backend.start()``)."""
    url = config.state.url
    interval = config.accounting.flush_interval_s
    delay = config.accounting.open_record_delay_s
    if url:
        if not url.startswith(_REDIS_SCHEMES):
            raise StateError(f"state.url must be a redis:// URL, not {url.split(':', 1)[0]}")
        from gateway.state.redis_store import RedisState

        return RedisState(url, flush_interval_s=interval, open_delay_s=delay)
    from gateway.state.embedded import EmbeddedState

    return EmbeddedState(state_path(config), flush_interval_s=interval, open_delay_s=delay)


def state_path(config: Config) -> Path:
    """The embedded state file (``state.path``, else the default data folder's); stores
    of other features that keep files (feedback) put them beside it."""
    from gateway.state.embedded import default_path

    return Path(config.state.path) if config.state.path else default_path()

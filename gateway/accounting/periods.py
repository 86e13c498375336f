"""Budget periods: UTC calendar days, ISO weeks, months, and all time.

Spend is counted per scope in every period at once (``d2025-06-14``, ``w2025-24``,
``m2025-06``, ``t``), so a budget added or changed mid-month sees what was already
spent. Period ids change only at midnight UTC, so they are computed once per day.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from gateway.accounting.config import BudgetPeriod

_INDEX: dict[str, int] = {"daily": 0, "weekly": 1, "monthly": 2, "total": 3}


@dataclass(frozen=True, slots=True)
class Periods:
    """The period ids that hold ``now``, and when each ends (unix seconds)."""

    ids: tuple[str, str, str, str]
    ends: tuple[float, float, float, float | None]
    day_start: float

    def id(self, period: BudgetPeriod) -> str:
        return self.ids[_INDEX[period]]

    def seconds_left(self, period: BudgetPeriod, now: float) -> int | None:
        end = self.ends[_INDEX[period]]
        return None if end is None else max(1, math.ceil(end - now))


def periods_at(now: float) -> Periods:
    moment = datetime.fromtimestamp(now, UTC)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    iso = day.isocalendar()
    week_start = day - timedelta(days=day.weekday())
    month = day.replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    return Periods(
        ids=(
            f"d{day:%Y-%m-%d}",
            f"w{iso.year:04d}-{iso.week:02d}",
            f"m{day:%Y-%m}",
            "t",
        ),
        ends=(
            (day + timedelta(days=1)).timestamp(),
            (week_start + timedelta(days=7)).timestamp(),
            next_month.timestamp(),
            None,
        ),
        day_start=day.timestamp(),
    )


class Clock:
    """``periods()`` recomputes only when the UTC day changes."""

    def __init__(self) -> None:
        self._current = periods_at(time.time())

    def periods(self, now: float | None = None) -> Periods:
        now = time.time() if now is None else now
        current = self._current
        if not current.day_start <= now < current.ends[0]:
            current = self._current = periods_at(now)
        return current

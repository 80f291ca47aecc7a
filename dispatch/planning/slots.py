"""The time grid: slots of `problem.slot` from `window_start`, and local time.

A slot is allowed when its local hour and weekday (in `problem.timezone`, read at
the slot's start) are allowed. Deployments start at a slot plus a minute offset.

**Allowed hours constrain the whole deployment, not only its start**: every
instant of `[start, end)` must fall in an allowed local hour on an allowed local
weekday (`rules.time_breaks`). A deployment ending exactly at 22:00 therefore only
needs hour 21 allowed. The grid's `run` (allowed slots in a row) lets the sampler
pick starts and lengths that fit; `rules.time_breaks` is the exact check (zones with
half-hour offsets make slot hours and local hours differ).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from dispatch.planning.model import Problem

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class SlotGrid:
    start: datetime  # window start (aware UTC)
    step: timedelta  # slot length
    count: int  # whole slots in the window (a last partial slot is dropped)
    hour: IntArray  # local hour at each slot's start
    weekday: IntArray  # local weekday at each slot's start, 0 = Monday
    allowed: BoolArray  # local hour and weekday allowed
    run: IntArray  # allowed slots in a row from each slot (0 when not allowed)
    zone: ZoneInfo

    def slot_start(self, index: int) -> datetime:
        return self.start + self.step * index

    def slot_of(self, when: datetime) -> float:
        """Position of `when` on the grid in slots (fractional; may be outside)."""
        return (when - self.start) / self.step


def build_grid(problem: Problem) -> SlotGrid:
    zone = ZoneInfo(problem.timezone)
    start = problem.window_start.astimezone(UTC)
    count = max(0, int((problem.window_end - problem.window_start) // problem.slot))
    hour = np.empty(count, dtype=np.int64)
    weekday = np.empty(count, dtype=np.int64)
    for i in range(count):
        lt = (start + problem.slot * i).astimezone(zone)
        hour[i] = lt.hour
        weekday[i] = lt.weekday()
    allowed = np.ones(count, dtype=np.bool_)
    if problem.allowed_hours is not None:
        allowed &= np.isin(hour, sorted(problem.allowed_hours))
    if problem.allowed_weekdays is not None:
        allowed &= np.isin(weekday, sorted(problem.allowed_weekdays))
    run = np.zeros(count, dtype=np.int64)
    ahead = 0
    for i in range(count - 1, -1, -1):
        ahead = ahead + 1 if allowed[i] else 0
        run[i] = ahead
    return SlotGrid(start, problem.slot, count, hour, weekday, allowed, run, zone)

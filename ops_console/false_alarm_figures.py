"""False alarms per officer and per operation over a rolling window, with no I/O.

A UK force withdraws its response to a personal-attack alarm after three false alarms in
twelve months. Here an alert counts against its officer when it was cancelled (by her or
by a supervisor) or closed with the outcome `false_alarm`; drills (exercises), crews'
calls for help and the alerts the system raised for her (a missed check-in, her escort
timer running out) never count. The window runs back from now by calendar months.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

FALSE_ALARM = "false_alarm"
CANCELLED = "cancelled"


class AlarmFacts(NamedTuple):
    """One alert as the false-alarm count reads it."""

    raised_at: datetime
    state: str
    outcome: str | None
    officer_id: str
    officer: str  # display name
    operation_id: str | None
    operation: str | None
    exercise: bool = False
    origin: str = "officer"


@dataclass(frozen=True)
class Tally:
    key: str  # the officer's or the operation's id ("" outside any operation)
    name: str
    cancelled: int
    false_alarm_outcomes: int
    flagged: bool = False  # an officer at or over the limit

    @property
    def false_alarms(self) -> int:
        return self.cancelled + self.false_alarm_outcomes


@dataclass(frozen=True)
class FalseAlarms:
    since: datetime
    until: datetime
    limit: int
    officers: list[Tally]  # most false alarms first, then by name
    operations: list[Tally]


def months_before(now: datetime, months: int) -> datetime:
    """The same moment `months` calendar months earlier (the 31st becomes the month's
    last day)."""
    index = now.year * 12 + (now.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    days = [31, 29 if _leap(year) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    return now.replace(year=year, month=month, day=min(now.day, days))


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def counts(alert: AlarmFacts) -> bool:
    """Whether this alert is one of its officer's real alerts: raised by her (not by
    the system for a missed check-in or her escort timer, not a crew's call), not a
    drill."""
    return not alert.exercise and alert.origin == "officer"


def false_alarms(
    alerts: Iterable[AlarmFacts], *, now: datetime, months: int = 12, limit: int = 3
) -> FalseAlarms:
    """Per officer and per operation, of the real alerts raised in (now - months, now]:
    how many were cancelled and how many closed as false alarms; officers with `limit` or
    more false alarms flagged. Officers and operations with none are left out."""
    since = months_before(now, months)
    officers: dict[str, list[int]] = {}
    operations: dict[str, list[int]] = {}
    names: dict[tuple[str, str], str] = {}
    for a in alerts:
        if not counts(a) or not since < a.raised_at <= now:
            continue
        cancelled = a.state == CANCELLED
        outcome = not cancelled and a.outcome == FALSE_ALARM
        op_key = a.operation_id or ""
        names[("o", a.officer_id)] = a.officer
        names[("p", op_key)] = a.operation or "(outside operations)"
        for book, key in ((officers, a.officer_id), (operations, op_key)):
            row = book.setdefault(key, [0, 0])
            row[0] += cancelled
            row[1] += outcome

    def tallies(book: dict[str, list[int]], kind: str, flag: bool) -> list[Tally]:
        rows = [
            Tally(key, names[(kind, key)], c, f, flagged=flag and c + f >= limit)
            for key, (c, f) in book.items()
            if c + f > 0
        ]
        return sorted(rows, key=lambda t: (-t.false_alarms, t.name, t.key))

    return FalseAlarms(
        since=since,
        until=now,
        limit=limit,
        officers=tallies(officers, "o", True),
        operations=tallies(operations, "p", False),
    )

"""The figures of the incident log and of a report (an operation's, a date range's, or
both), from rows, with no I/O.

Response times run from the moment the alert was raised to the first crew that
accepted it (or was assigned by hand), and to the first crew on scene.

Two summary figures are given for them:

- the median: the middle value, or the mean of the two middle values when the count
  is even;
- the 90th percentile by the nearest-rank method: the smallest observed value such
  that at least 90% of the values are at or below it, that is the value of rank
  ceil(0.9 * n) in ascending order. It is always a time that really happened, and
  reads as "nine alerts in ten were answered within this time".

Alerts that never reached that step (cancelled before any crew accepted, say) have
no time and are left out of the figure; the count says how many took part.

Times from her press run from when she pressed, by her phone's clock corrected by its
offset (`Alert.pressed_at`, see dispatch/core/press_time), to the server receiving the
alert, to its first offer and to the first crew accepting. Alerts whose phone did not
say when she pressed have none.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

STATES = ("raised", "dispatching", "unassigned", "assigned", "on_scene", "resolved", "cancelled")
NO_PLACE = "(no place)"


# The records below are NamedTuples rather than frozen dataclasses: a report builds one of
# each per alert (17,000 in a month's operation), and a NamedTuple is made in a third of
# the time. They are read by field name only.


class AlertFacts(NamedTuple):
    """One alert as the log and the reports show it."""

    id: str
    raised_at: datetime
    closed_at: datetime | None
    state: str
    urgent: bool
    category: str | None
    outcome: str | None
    officer: str
    crews: tuple[str, ...]  # callsigns of the crews that took it, in the order they did
    operation: str | None
    place: str | None
    accept_s: float | None  # raised -> first crew accepted (or assigned by hand)
    on_scene_s: float | None  # raised -> first crew on scene
    pressed_at: datetime | None = None  # her press, corrected (None: her phone did not say)
    press_received_s: float | None = None  # pressed -> the server received it
    press_offer_s: float | None = None  # pressed -> its first offer
    press_accept_s: float | None = None  # pressed -> first crew accepted (or assigned)
    exercise: bool = False  # a drill: left out of real reports, reported apart


class AlertColumns(NamedTuple):
    """The columns of an alert row that its facts are made of."""

    id: str
    raised_at: datetime
    closed_at: datetime | None
    state: str
    urgent: bool
    category: str | None
    outcome: str | None
    pressed_at: datetime | None = None
    first_offer_at: datetime | None = None  # its first offer's (any crew's, any ending)
    exercise: bool = False


class OfferTimes(NamedTuple):
    """The columns of an offer row that its alert's facts need: which crew, and when it
    accepted (or was assigned by hand) and was on scene."""

    crew_id: str
    accepted_at: datetime | None
    on_scene_at: datetime | None


def seconds_to_first(start: datetime, times: Iterable[datetime | None]) -> float | None:
    """Seconds from `start` to the earliest of `times` (None if there is none)."""
    present = [t for t in times if t is not None]
    if not present:
        return None
    return max(0.0, (min(present) - start).total_seconds())


def facts_of(
    alert: AlertColumns,
    offers: Sequence[OfferTimes],
    *,
    officer: str,
    callsigns: Mapping[str, str],
    operation: str | None,
    place: str | None,
) -> AlertFacts:
    """One alert's facts from its columns and its offers' times (any order)."""
    taken = sorted((o.accepted_at, o.crew_id) for o in offers if o.accepted_at is not None)
    raised, pressed = alert.raised_at, alert.pressed_at
    first_accept = taken[0][0] if taken else None
    return AlertFacts(
        id=alert.id,
        raised_at=raised,
        closed_at=alert.closed_at,
        state=alert.state,
        urgent=alert.urgent,
        category=alert.category,
        outcome=alert.outcome,
        officer=officer,
        crews=tuple(callsigns.get(crew_id, "?") for _, crew_id in taken),
        operation=operation,
        place=place,
        accept_s=max(0.0, (taken[0][0] - raised).total_seconds()) if taken else None,
        on_scene_s=seconds_to_first(raised, [o.on_scene_at for o in offers]),
        pressed_at=pressed,
        press_received_s=seconds_to_first(pressed, [raised]) if pressed else None,
        press_offer_s=seconds_to_first(pressed, [alert.first_offer_at]) if pressed else None,
        press_accept_s=seconds_to_first(pressed, [first_accept]) if pressed else None,
        exercise=alert.exercise,
    )


# -- summaries -----------------------------------------------------------------------------


def median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile (0 < p <= 100) by the nearest-rank method; None when empty."""
    if not 0 < p <= 100:
        raise ValueError("a percentile is above 0 and at most 100")
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(p / 100 * len(ordered))
    return float(ordered[rank - 1])


@dataclass(frozen=True)
class Spread:
    count: int  # how many alerts have this time
    median: float | None
    p90: float | None


def spread(values: Iterable[float | None]) -> Spread:
    present = [v for v in values if v is not None]
    return Spread(len(present), median(present), percentile(present, 90))


def by_local_hour(instants: Iterable[datetime], zone: ZoneInfo) -> list[int]:
    """How many instants fall in each hour of the day (0-23) on the zone's clock."""
    hours = [0] * 24
    for instant in instants:
        hours[instant.astimezone(zone).hour] += 1
    return hours


def by_place(facts: Iterable[AlertFacts], places: Iterable[str] = ()) -> list[tuple[str, int]]:
    """Alerts per place, most first (then by name); `places` with none are listed too."""
    counts: Counter[str] = Counter({name: 0 for name in places})
    counts.update(f.place or NO_PLACE for f in facts)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def by_state(facts: Iterable[AlertFacts]) -> dict[str, int]:
    """Counts per state, in the lifecycle's order; states with none left out."""
    counts = Counter(f.state for f in facts)
    ordered = {s: counts.pop(s) for s in STATES if s in counts}
    return ordered | dict(sorted(counts.items()))


def outcomes(facts: Iterable[AlertFacts]) -> dict[str, int]:
    """Counts per outcome of the alerts that have one, most first (then by name)."""
    counts = Counter(f.outcome for f in facts if f.outcome)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


@dataclass(frozen=True)
class Report:
    alerts: int
    by_state: dict[str, int]
    outcomes: dict[str, int]
    accept: Spread
    on_scene: Spread
    by_hour: list[int]  # 24 counts, the report's local hours
    by_place: list[tuple[str, int]]
    urgent: int = 0
    timezone: str = field(default="UTC")
    press_received: Spread = Spread(0, None, None)  # from her press (see the module's note)
    press_offer: Spread = Spread(0, None, None)
    press_accept: Spread = Spread(0, None, None)


def report(facts: Sequence[AlertFacts], zone: ZoneInfo, places: Iterable[str] = ()) -> Report:
    return Report(
        alerts=len(facts),
        by_state=by_state(facts),
        outcomes=outcomes(facts),
        accept=spread(f.accept_s for f in facts),
        on_scene=spread(f.on_scene_s for f in facts),
        by_hour=by_local_hour((f.raised_at for f in facts), zone),
        by_place=by_place(facts, places),
        urgent=sum(1 for f in facts if f.urgent),
        timezone=zone.key,
        press_received=spread(f.press_received_s for f in facts),
        press_offer=spread(f.press_offer_s for f in facts),
        press_accept=spread(f.press_accept_s for f in facts),
    )


# -- CSV -----------------------------------------------------------------------------------

CSV_COLUMNS = (
    "alert_id",
    "raised_at",
    "raised_local",
    "closed_at",
    "state",
    "urgent",
    "category",
    "outcome",
    "officer",
    "crews",
    "operation",
    "place",
    "accept_s",
    "on_scene_s",
    "pressed_at",
    "press_received_s",
    "press_offer_s",
    "press_accept_s",
    "exercise",
)


def _cell(value: str) -> str:
    """Text a spreadsheet would take for a formula is kept as text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def report_csv(facts: Iterable[AlertFacts], zone: ZoneInfo) -> str:
    """One row per alert, times in UTC (ISO 8601) and, for reading, in the zone."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for f in facts:
        local = f.raised_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
        writer.writerow(
            [
                f.id,
                f.raised_at.isoformat(),
                local,
                f.closed_at.isoformat() if f.closed_at else "",
                f.state,
                "yes" if f.urgent else "no",
                f.category or "",
                f.outcome or "",
                _cell(f.officer),
                _cell(" ".join(f.crews)),
                _cell(f.operation or ""),
                _cell(f.place or ""),
                _number(f.accept_s),
                _number(f.on_scene_s),
                f.pressed_at.isoformat() if f.pressed_at else "",
                _number(f.press_received_s),
                _number(f.press_offer_s),
                _number(f.press_accept_s),
                "yes" if f.exercise else "no",
            ]
        )
    return out.getvalue()

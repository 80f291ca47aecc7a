"""Risk from the public's reports: each place's risk and hourly weights, derived from the
reports within it over a period. Pure code; the formula is in docs/planning.md
("Risk from reports") and spelt out here.

A report counts for a place when it is not marked spam or duplicate, happened in
`[since, until)`, is of a chosen kind (all kinds when none are chosen), and lies within
the place: within `radius_m` of a point (`Weighting.default_radius_m` when it has none),
or within `Weighting.route_buffer_m` of a route's line. A report inside two places
counts for both: each place is judged on its own ground.

An older report counts less. Its weight is `2 ** (-age / half_life)`, age the time from
when it happened to `until` (the end of the period), so a report one half-life old
counts half as much as one at the end of the period. `W_p` is the sum over place p.

Risk: `scale * W_p / mean(W)`, the mean over the operation's places, `scale` the mean of
the places' typed risks (1 when nothing else was typed: the default risk). The average
place gets the typed average, so derived numbers read on the typed ones' scale and a
supervisor may accept them for some places and keep the typed ones for others without
tipping the balance between the two. A place with less than `risk_floor` times the mean
gets `risk_floor * scale`: no place becomes one the plan could ignore for good
(offenders would learn where the team never goes).

Hourly weights (24, by local hour of day in the operation's timezone, as `Place.hourly`
has them): the weighted count by hour `H_p[h]` is first spread over the neighbouring
hours, `S[h] = H[h]/2 + H[h-1]/4 + H[h+1]/4` (around midnight too: the public give the
time roughly, and the hour's edge is arbitrary), then
`hourly[h] = hourly_floor + (1 - hourly_floor) * 24 * S[h] / W_p`.
Their mean is exactly 1, so `risk * hourly` keeps the place's weight `risk` per hour on
average (the planner's cell weight is `risk * hourly[h]`); no hour falls below
`hourly_floor`, so an hour without reports is still drawn sometimes. A place with no
reports gets no hourly weights (flat). When no place has any report, there is nothing to
derive: every risk is None.

Risks are rounded to 2 decimals (never below 0.01) and hourly weights to 3, after the
floors.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dispatch.core.geo import EARTH_RADIUS_M, haversine_m

EXCLUDED = frozenset({"spam", "duplicate"})  # statuses that never count
HOURS = 24
DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class Sighting:
    """A report as the derivation reads it."""

    lat: float
    lon: float
    occurred_at: datetime  # aware
    kind: str
    status: str = "new"


@dataclass(frozen=True, slots=True)
class Area:
    """A place of the operation: a point with a radius, or a route (lat, lon pairs)."""

    id: str
    lat: float
    lon: float
    radius_m: float | None = None
    route: tuple[tuple[float, float], ...] | None = None


@dataclass(frozen=True, slots=True)
class Weighting:
    half_life_days: float = 90.0
    risk_floor: float = 0.1  # the least risk, as a share of the mean place's
    hourly_floor: float = 0.25  # the least hourly weight (their mean is 1)
    default_radius_m: float = 150.0  # a point place without a radius
    route_buffer_m: float = 150.0  # how far from a route's line a report counts

    def __post_init__(self) -> None:
        if not self.half_life_days > 0:
            raise ValueError("half_life_days must be positive")
        if not 0 < self.risk_floor <= 1:
            raise ValueError("risk_floor must be in (0, 1]")
        if not 0 < self.hourly_floor <= 1:
            raise ValueError("hourly_floor must be in (0, 1]")


@dataclass(frozen=True, slots=True)
class Derived:
    """One place's derived numbers. `risk` None: no report within any place."""

    place_id: str
    reports: int  # reports counted within the place
    weight: float  # their age-weighted sum, W_p
    risk: float | None
    hourly: tuple[float, ...] | None  # None: flat (no report within the place)


def decay(age: timedelta, half_life_days: float) -> float:
    """The weight of a report `age` old (age 0: 1; one half-life: 0.5)."""
    return float(2.0 ** (-max(age.total_seconds(), 0.0) / (half_life_days * DAY_S)))


def _local_xy(lat0: float, lat: float, lon: float) -> tuple[float, float]:
    """Metres east and north on a plane tangent at latitude `lat0` (fine for a town)."""
    k = math.pi / 180 * EARTH_RADIUS_M
    return lon * k * math.cos(math.radians(lat0)), lat * k


def route_distance_m(lat: float, lon: float, route: Sequence[tuple[float, float]]) -> float:
    """The shortest distance in metres from a point to a line of (lat, lon) points."""
    if len(route) == 1:
        return haversine_m(lat, lon, *route[0])
    px, py = _local_xy(lat, lat, lon)
    best = math.inf
    for (lat1, lon1), (lat2, lon2) in itertools.pairwise(route):
        ax, ay = _local_xy(lat, lat1, lon1)
        bx, by = _local_xy(lat, lat2, lon2)
        dx, dy = bx - ax, by - ay
        span = dx * dx + dy * dy
        t = 0.0 if span == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / span))
        best = min(best, math.hypot(px - (ax + t * dx), py - (ay + t * dy)))
    return best


def within(area: Area, lat: float, lon: float, weighting: Weighting) -> bool:
    if area.route:
        return route_distance_m(lat, lon, area.route) <= weighting.route_buffer_m
    radius = area.radius_m if area.radius_m is not None else weighting.default_radius_m
    return haversine_m(area.lat, area.lon, lat, lon) <= radius


def counted(
    sightings: Iterable[Sighting],
    *,
    since: datetime,
    until: datetime,
    kinds: frozenset[str] | None = None,
) -> list[Sighting]:
    """The reports that count: in the period, of a chosen kind, not spam nor duplicate."""
    return [
        r
        for r in sightings
        if r.status not in EXCLUDED
        and since <= r.occurred_at < until
        and (kinds is None or r.kind in kinds)
    ]


def spread(hours: Sequence[float]) -> list[float]:
    """Half to the hour, a quarter to each neighbour (around midnight too)."""
    n = len(hours)
    return [hours[h] / 2 + hours[h - 1] / 4 + hours[(h + 1) % n] / 4 for h in range(n)]


def hourly_weights(by_hour: Sequence[float], floor: float) -> tuple[float, ...] | None:
    """24 weights of mean 1, none below `floor`, from weighted counts by local hour."""
    total = sum(by_hour)
    if total <= 0:
        return None
    smooth = spread(by_hour)
    return tuple(round(floor + (1 - floor) * HOURS * s / total, 3) for s in smooth)


def derive(
    areas: Sequence[Area],
    sightings: Iterable[Sighting],
    *,
    since: datetime,
    until: datetime,
    timezone: str,
    weighting: Weighting | None = None,
    kinds: frozenset[str] | None = None,
    scale: float = 1.0,
) -> list[Derived]:
    """Each place's derived risk and hourly weights (see the module's docstring); `scale`
    is the mean typed risk of the places."""
    if not scale > 0:
        raise ValueError("scale must be positive")
    if since.utcoffset() is None or until.utcoffset() is None:
        raise ValueError("naive datetime refused: times are UTC and timezone-aware")
    if until <= since:
        raise ValueError("until must be after since")
    w = weighting or Weighting()
    zone = ZoneInfo(timezone)
    reports = counted(sightings, since=since, until=until, kinds=kinds)
    stats: list[tuple[int, float, list[float]]] = []
    for area in areas:
        n, by_hour = 0, [0.0] * HOURS
        for r in reports:
            if within(area, r.lat, r.lon, w):
                n += 1
                by_hour[r.occurred_at.astimezone(zone).hour] += decay(
                    until - r.occurred_at, w.half_life_days
                )
        stats.append((n, sum(by_hour), by_hour))
    mean = sum(total for _, total, _ in stats) / len(areas) if areas else 0.0
    out = []
    for area, (n, total, by_hour) in zip(areas, stats, strict=True):
        ratio = max(w.risk_floor, total / mean) if mean > 0 else 0.0
        risk = None if mean <= 0 else max(0.01, round(min(scale * ratio, 1000.0), 2))
        out.append(
            Derived(
                place_id=area.id,
                reports=n,
                weight=total,
                risk=risk,
                hourly=hourly_weights(by_hour, w.hourly_floor),
            )
        )
    return out

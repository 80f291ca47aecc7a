"""What the console's reports view shows of the public's reports, worked out without I/O:
the place x hour-of-week heat table, the grid of areas used when no operation is chosen,
and the CSV and GeoJSON exports.

The heat table counts reports (not weighted by age: it shows what happened) by local
hour of the week, column 0 being Monday 00:00-01:00 and column 167 Sunday 23:00, in the
given timezone. Its rows are an operation's places (a report within a place's radius, or
a route's buffer, counts for it: `report_risk.within`), or, with no operation, squares of
`cell_m` metres on a grid anchored at the force's centre; a report belongs to exactly one
square, and only squares with reports are rows, the busiest first.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dispatch.planning.report_risk import Area, Weighting, within

HOURS_OF_WEEK = 168
METRES_PER_DEGREE = 111_195.0


@dataclass(frozen=True, slots=True)
class Located:
    """A report as the heat table and exports read it."""

    id: str
    lat: float
    lon: float
    occurred_at: datetime
    received_at: datetime
    kind: str
    status: str = "new"
    duplicate_of: str | None = None
    description: str = ""
    vehicle_reg: str = ""
    language: str = "en"
    demo: bool = False


@dataclass(frozen=True, slots=True)
class NamedArea:
    area: Area
    name: str


@dataclass(frozen=True, slots=True)
class HeatRow:
    key: str  # a place id, or a grid square "row:col"
    name: str
    lat: float
    lon: float
    counts: tuple[int, ...]  # 168, by local hour of the week from Monday 00:00
    total: int


def hour_of_week(at: datetime, zone: ZoneInfo) -> int:
    local = at.astimezone(zone)
    return local.weekday() * 24 + local.hour


def place_heat(
    places: Sequence[NamedArea], reports: Sequence[Located], zone: ZoneInfo, weighting: Weighting
) -> list[HeatRow]:
    """One row per place, in the order given (a report may count for two places)."""
    rows = []
    for place in places:
        counts = [0] * HOURS_OF_WEEK
        for r in reports:
            if within(place.area, r.lat, r.lon, weighting):
                counts[hour_of_week(r.occurred_at, zone)] += 1
        a = place.area
        rows.append(HeatRow(a.id, place.name, a.lat, a.lon, tuple(counts), sum(counts)))
    return rows


@dataclass(frozen=True, slots=True)
class Grid:
    """Squares of `cell_m` metres, rows north and columns east from (`lat0`, `lon0`)."""

    lat0: float
    lon0: float
    cell_m: float

    @property
    def dlat(self) -> float:
        return self.cell_m / METRES_PER_DEGREE

    @property
    def dlon(self) -> float:
        return self.cell_m / (METRES_PER_DEGREE * math.cos(math.radians(self.lat0)))

    def cell(self, lat: float, lon: float) -> tuple[int, int]:
        return math.floor((lat - self.lat0) / self.dlat), math.floor((lon - self.lon0) / self.dlon)

    def centre(self, row: int, col: int) -> tuple[float, float]:
        return self.lat0 + (row + 0.5) * self.dlat, self.lon0 + (col + 0.5) * self.dlon


def square_name(lat: float, lon: float) -> str:
    """'52.0565 N, 2.7160 W': a square's centre."""
    ns, ew = ("N" if lat >= 0 else "S"), ("E" if lon >= 0 else "W")
    return f"{abs(lat):.4f} {ns}, {abs(lon):.4f} {ew}"


def grid_heat(
    grid: Grid, reports: Sequence[Located], zone: ZoneInfo, most: int = 40
) -> list[HeatRow]:
    """The `most` busiest squares with reports, busiest first (then north to south)."""
    cells: dict[tuple[int, int], list[int]] = {}
    for r in reports:
        counts = cells.setdefault(grid.cell(r.lat, r.lon), [0] * HOURS_OF_WEEK)
        counts[hour_of_week(r.occurred_at, zone)] += 1
    ordered = sorted(cells.items(), key=lambda kv: (-sum(kv[1]), -kv[0][0], kv[0][1]))
    rows = []
    for (row, col), counts in ordered[:most]:
        lat, lon = grid.centre(row, col)
        rows.append(
            HeatRow(f"{row}:{col}", square_name(lat, lon), lat, lon, tuple(counts), sum(counts))
        )
    return rows


CSV_COLUMNS = (
    "id",
    "occurred_at",
    "received_at",
    "kind",
    "lat",
    "lon",
    "status",
    "duplicate_of",
    "vehicle_reg",
    "language",
    "demo",
    "description",
)


def _iso(at: datetime) -> str:
    return at.astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z")


def _csv_cell(value: str) -> str:
    """Text a spreadsheet would run as a formula starts with an apostrophe."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def reports_csv(reports: Sequence[Located]) -> str:
    """One row per report, times in UTC. The reporter's contact is never in it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in reports:
        writer.writerow(
            [
                r.id,
                _iso(r.occurred_at),
                _iso(r.received_at),
                r.kind,
                f"{r.lat:.6f}",
                f"{r.lon:.6f}",
                r.status,
                r.duplicate_of or "",
                _csv_cell(r.vehicle_reg),
                r.language,
                "yes" if r.demo else "no",
                _csv_cell(r.description),
            ]
        )
    return out.getvalue()


def reports_geojson(reports: Sequence[Located]) -> dict[str, Any]:
    """A FeatureCollection of Points ([lon, lat]); the same fields as the CSV."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": r.id,
                "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
                "properties": {
                    "id": r.id,
                    "occurred_at": _iso(r.occurred_at),
                    "received_at": _iso(r.received_at),
                    "kind": r.kind,
                    "status": r.status,
                    "duplicate_of": r.duplicate_of,
                    "vehicle_reg": r.vehicle_reg,
                    "language": r.language,
                    "demo": r.demo,
                    "description": r.description,
                },
            }
            for r in reports
        ],
    }

"""The reports view's figures without I/O: hours of the week on a local clock, the heat
table's rows (places and grid squares), and the exports' text."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from dispatch.planning.report_risk import Area, Weighting
from dispatch.public_reports.console_figures import (
    Grid,
    Located,
    NamedArea,
    grid_heat,
    hour_of_week,
    place_heat,
    reports_csv,
    reports_geojson,
)
from tests.support import CENTRE, north_of

LONDON = ZoneInfo("Europe/London")


def report(at: tuple[float, float], when: datetime, **kw: str) -> Located:
    return Located(
        id=kw.pop("id", f"r{when:%d%H%M}"),
        lat=at[0],
        lon=at[1],
        occurred_at=when,
        received_at=when,
        kind=kw.pop("kind", "catcalling"),
        **kw,  # type: ignore[arg-type]
    )


def test_hours_of_the_week_are_local_and_start_on_monday() -> None:
    assert hour_of_week(datetime(2027, 3, 1, 0, 30, tzinfo=UTC), LONDON) == 0  # Mon, GMT
    assert hour_of_week(datetime(2027, 3, 7, 23, 59, tzinfo=UTC), LONDON) == 167  # Sun 23h
    # Summer time: 23:30 UTC on Sunday 4 July is 00:30 on Monday in London.
    assert hour_of_week(datetime(2027, 7, 4, 23, 30, tzinfo=UTC), LONDON) == 0


def test_a_report_counts_for_every_place_it_is_within() -> None:
    near, far = Area("a", *CENTRE, radius_m=200), Area("b", *north_of(CENTRE, 150), radius_m=200)
    places = [NamedArea(near, "Near"), NamedArea(far, "Far")]
    both = report(north_of(CENTRE, 75), datetime(2027, 3, 2, 9, 15, tzinfo=UTC))  # Tue 09 -> 33
    only_far = report(north_of(CENTRE, 340), datetime(2027, 3, 2, 9, 45, tzinfo=UTC))
    rows = place_heat(places, [both, only_far], LONDON, Weighting())
    assert [(r.key, r.total) for r in rows] == [("a", 1), ("b", 2)]
    assert rows[1].counts[33] == 2 and sum(rows[1].counts) == 2


def test_grid_squares_hold_each_report_once_busiest_first() -> None:
    grid = Grid(CENTRE[0], CENTRE[1], 500)
    when = datetime(2027, 3, 3, 20, tzinfo=UTC)  # Wed 20 -> 68
    reports = [report(north_of(CENTRE, 10), when, id=f"c{i}") for i in range(3)]
    reports += [report(north_of(CENTRE, 510), when, id="n1"), report(north_of(CENTRE, -10), when)]
    rows = grid_heat(grid, reports, LONDON)
    # Rows north from the centre: 0 holds three, 1 (510 m north) one, -1 (south) one.
    assert [(r.key, r.total) for r in rows] == [("0:0", 3), ("1:0", 1), ("-1:0", 1)]
    assert rows[0].counts[68] == 3
    lat, lon = grid.centre(0, 0)
    assert rows[0].name == f"{lat:.4f} N, {abs(lon):.4f} W"
    assert len(grid_heat(grid, reports, LONDON, most=2)) == 2


def test_exports_keep_spreadsheets_from_running_formulas() -> None:
    when = datetime(2027, 3, 3, 20, 5, tzinfo=UTC)
    r = report(CENTRE, when, id="x1", description="=HYPERLINK(1)", vehicle_reg="AB12CDE")
    text = reports_csv([r])
    (row,) = csv.DictReader(io.StringIO(text))
    assert row["description"] == "'=HYPERLINK(1)"
    assert (row["occurred_at"], row["vehicle_reg"], row["status"]) == (
        "2027-03-03T20:05:00Z",
        "AB12CDE",
        "new",
    )
    geo = reports_geojson([r])
    (feature,) = geo["features"]
    assert feature["geometry"]["coordinates"] == [CENTRE[1], CENTRE[0]]
    assert feature["properties"]["description"] == "=HYPERLINK(1)"  # JSON runs nothing

"""The report's figures, worked out by hand: percentiles, response times, hours, places."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ops_console.report_figures import (
    AlertColumns,
    AlertFacts,
    OfferTimes,
    by_local_hour,
    by_place,
    by_state,
    facts_of,
    median,
    outcomes,
    percentile,
    report,
    report_csv,
    seconds_to_first,
    spread,
)

T0 = datetime(2026, 7, 1, 20, 0, tzinfo=UTC)  # 21:00 in London (summer time)
LONDON = ZoneInfo("Europe/London")


def facts(
    n: int,
    *,
    at: datetime = T0,
    state: str = "resolved",
    outcome: str | None = "arrest",
    place: str | None = "Castle Green",
    accept_s: float | None = 30.0,
    on_scene_s: float | None = 240.0,
    urgent: bool = False,
) -> AlertFacts:
    return AlertFacts(
        id=f"a{n}",
        raised_at=at,
        closed_at=at + timedelta(minutes=20) if state in ("resolved", "cancelled") else None,
        state=state,
        urgent=urgent,
        category="following",
        outcome=outcome,
        officer="PC Jones",
        crews=("CAR-1",),
        operation="Jog on",
        place=place,
        accept_s=accept_s,
        on_scene_s=on_scene_s,
    )


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 11)]  # 1..10
    assert percentile(values, 90) == 9.0  # rank ceil(9.0) = 9
    assert percentile(values, 50) == 5.0
    assert percentile(values, 100) == 10.0
    assert percentile([5.0, 1.0, 3.0], 90) == 5.0  # rank ceil(2.7) = 3, order does not matter
    assert percentile(list(range(1, 21)), 90) == 18.0  # rank 18 of 20
    assert percentile([7.0, 300.0, 12.0, 45.0, 60.0, 20.0, 33.0], 90) == 300.0  # rank 7 of 7


def test_percentile_of_nothing_and_of_one() -> None:
    assert percentile([], 90) is None
    assert percentile([42.0], 90) == 42.0
    assert percentile([42.0], 1) == 42.0
    for bad in (0, -5, 100.5):
        with pytest.raises(ValueError):
            percentile([1.0], bad)


def test_median_even_odd_empty_single() -> None:
    assert median([]) is None
    assert median([12.0]) == 12.0
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5


def test_spread_leaves_out_alerts_without_the_step() -> None:
    assert spread([]) == spread([None, None])
    empty = spread([None])
    assert (empty.count, empty.median, empty.p90) == (0, None, None)
    one = spread([None, 30.0])
    assert (one.count, one.median, one.p90) == (1, 30.0, 30.0)
    many = spread([10.0, None, 20.0, 30.0, 40.0])
    assert (many.count, many.median, many.p90) == (4, 25.0, 40.0)


def test_seconds_to_the_first_time() -> None:
    assert seconds_to_first(T0, []) is None
    assert seconds_to_first(T0, [None, None]) is None
    later = [T0 + timedelta(seconds=90), None, T0 + timedelta(seconds=45)]
    assert seconds_to_first(T0, later) == 45.0


def test_facts_from_rows_take_the_first_accept_and_the_first_on_scene() -> None:
    alert = AlertColumns("al1", T0, None, "resolved", False, None, "arrest")
    offers = [
        OfferTimes("c1", None, None),  # declined
        OfferTimes("c2", T0 + timedelta(seconds=50), T0 + timedelta(seconds=200)),
        OfferTimes("c3", T0 + timedelta(seconds=20), T0 + timedelta(seconds=300)),
    ]
    got = facts_of(
        alert,
        offers,
        officer="PC Jones",
        callsigns={"c1": "FOOT-1", "c2": "CAR-2", "c3": "BIKE-3"},
        operation="Jog on",
        place="Castle Green",
    )
    assert got.accept_s == 20.0 and got.on_scene_s == 200.0
    assert got.crews == ("BIKE-3", "CAR-2")  # in the order they took it; not the decliner
    assert (got.id, got.raised_at, got.state, got.outcome) == ("al1", T0, "resolved", "arrest")
    assert (got.officer, got.operation, got.place) == ("PC Jones", "Jog on", "Castle Green")
    nobody = facts_of(alert, offers[:1], officer="x", callsigns={}, operation=None, place=None)
    assert (nobody.accept_s, nobody.on_scene_s, nobody.crews) == (None, None, ())
    # A crew the names do not know, and a time recorded (clock skew) before the alert.
    early = OfferTimes("c9", T0 - timedelta(seconds=3), None)
    odd = facts_of(alert, [early], officer="x", callsigns={}, operation=None, place=None)
    assert (odd.crews, odd.accept_s, odd.on_scene_s) == (("?",), 0.0, None)


def test_alerts_by_local_hour_follow_the_operations_clock() -> None:
    winter = datetime(2026, 1, 10, 23, 30, tzinfo=UTC)  # 23:30 in London (GMT)
    summer = datetime(2026, 7, 10, 23, 30, tzinfo=UTC)  # 00:30 next day in London (BST)
    hours = by_local_hour([winter, summer, summer], LONDON)
    assert len(hours) == 24 and sum(hours) == 3
    assert hours[23] == 1 and hours[0] == 2
    assert by_local_hour([], LONDON) == [0] * 24
    assert by_local_hour([summer], ZoneInfo("UTC"))[23] == 1


def test_places_states_and_outcomes_are_counted_in_a_stable_order() -> None:
    rows = [
        facts(1, place="B"),
        facts(2, place="A"),
        facts(3, place="B", state="cancelled", outcome=None),
        facts(4, place=None, state="on_scene", outcome=None),
        facts(5, outcome="words_of_advice"),
        facts(6, outcome="words_of_advice"),
    ]
    assert by_place(rows, ["A", "B", "Quiet corner"]) == [
        ("B", 2),
        ("Castle Green", 2),
        ("(no place)", 1),
        ("A", 1),
        ("Quiet corner", 0),
    ]
    assert list(by_state(rows).items()) == [("on_scene", 1), ("resolved", 4), ("cancelled", 1)]
    assert outcomes(rows) == {"arrest": 2, "words_of_advice": 2}
    assert list(outcomes(rows)) == ["arrest", "words_of_advice"]  # equal counts: by name


def test_a_report_of_no_alerts_and_of_one() -> None:
    empty = report([], LONDON, ["A"])
    assert empty.alerts == 0 and empty.by_state == {} and empty.outcomes == {}
    assert empty.accept.count == 0 and empty.accept.median is None and empty.accept.p90 is None
    assert empty.by_hour == [0] * 24 and empty.by_place == [("A", 0)]

    one = report([facts(1, accept_s=12.0, on_scene_s=None, urgent=True)], LONDON)
    assert one.alerts == 1 and one.urgent == 1
    assert (one.accept.median, one.accept.p90) == (12.0, 12.0)
    assert one.on_scene.count == 0 and one.on_scene.median is None
    assert one.by_hour[21] == 1  # 20:00 UTC is 21:00 in London in July
    assert one.timezone == "Europe/London"


def test_csv_has_one_row_per_alert_with_its_times_and_no_formulas() -> None:
    rows = [
        facts(1, accept_s=31.25, on_scene_s=None),
        AlertFacts(
            id="a2",
            raised_at=T0,
            closed_at=None,
            state="unassigned",
            urgent=True,
            category=None,
            outcome=None,
            officer="=HYPERLINK(evil)",
            crews=(),
            operation=None,
            place="-5 West St",
            accept_s=None,
            on_scene_s=None,
        ),
    ]
    table = list(csv.DictReader(io.StringIO(report_csv(rows, LONDON))))
    assert [r["alert_id"] for r in table] == ["a1", "a2"]
    first = table[0]
    assert first["raised_at"] == "2026-07-01T20:00:00+00:00"
    assert first["raised_local"] == "2026-07-01 21:00:00"
    assert (first["accept_s"], first["on_scene_s"], first["crews"]) == ("31.2", "", "CAR-1")
    assert table[1]["officer"] == "'=HYPERLINK(evil)" and table[1]["place"] == "'-5 West St"
    assert table[1]["urgent"] == "yes" and table[1]["closed_at"] == ""

"""Risk from reports: made-up report sets whose right answers were worked out by hand
(the sums are in the comments), and the rules every derivation keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.planning.report_risk import (
    Area,
    Derived,
    Sighting,
    Weighting,
    decay,
    derive,
    route_distance_m,
)
from tests.support import CENTRE, north_of

UNTIL = datetime(2026, 4, 1, 18, tzinfo=UTC)  # reports whole days before are at 18:00
SINCE = UNTIL - timedelta(days=90)
DAY = timedelta(days=1)
TEN_DAYS = Weighting(half_life_days=10)
A_AT = CENTRE
B_AT = north_of(CENTRE, 2000)
C_AT = north_of(CENTRE, 4000)
AREAS = (
    Area("A", *A_AT, radius_m=200),
    Area("B", *B_AT, radius_m=200),
    Area("C", *C_AT, radius_m=200),
)


def at(where: tuple[float, float], when: datetime, kind: str = "catcalling", **kw: str) -> Sighting:
    return Sighting(where[0], where[1], when, kind, **kw)


def hour_of(day_offset: timedelta, hour: int) -> datetime:
    """UNTIL minus `day_offset`, at `hour`:00 UTC that day."""
    return (UNTIL - day_offset).replace(hour=hour)


def by_id(derived: list[Derived]) -> dict[str, Derived]:
    return {d.place_id: d for d in derived}


def test_a_report_one_half_life_old_counts_half() -> None:
    assert decay(timedelta(0), 10) == 1.0
    assert decay(timedelta(days=10), 10) == pytest.approx(0.5)
    assert decay(timedelta(days=20), 10) == pytest.approx(0.25)
    assert decay(timedelta(days=90), 90) == pytest.approx(0.5)


def test_three_places_known_risks_and_hours() -> None:
    # A: three reports at 18:00 UTC, 10 days before the end: 3 x 0.5 = W_A 1.5.
    # B: one at 18:00, 20 days before: W_B 0.25. C: none. Mean W = 1.75 / 3.
    reports = [at(A_AT, UNTIL - 10 * DAY) for _ in range(3)]
    reports.append(at(B_AT, UNTIL - 20 * DAY))
    got = by_id(
        derive(AREAS, reports, since=SINCE, until=UNTIL, timezone="UTC", weighting=TEN_DAYS)
    )
    assert [got[p].reports for p in "ABC"] == [3, 1, 0]
    assert got["A"].weight == pytest.approx(1.5)
    assert got["B"].weight == pytest.approx(0.25)
    assert got["A"].risk == 2.57  # 1.5 / 0.5833 = 2.571
    assert got["B"].risk == 0.43  # 0.25 / 0.5833 = 0.4286
    assert got["C"].risk == 0.1  # nothing: the floor
    assert got["C"].hourly is None  # flat
    # A: S[18] = 1.5/2 = 0.75, S[17] = S[19] = 1.5/4 = 0.375.
    # hourly[18] = 0.25 + 0.75 x 24 x 0.75 / 1.5 = 9.25; [17], [19] = 0.25 + 4.5 = 4.75.
    hourly_a = got["A"].hourly
    assert hourly_a is not None
    assert hourly_a[18] == 9.25
    assert hourly_a[17] == hourly_a[19] == 4.75
    assert [h for i, h in enumerate(hourly_a) if i not in (17, 18, 19)] == [0.25] * 21
    assert sum(hourly_a) / 24 == pytest.approx(1.0)
    # B: its one report alone: the same shape whatever its weight.
    assert got["B"].hourly == hourly_a


def test_risk_is_on_the_typed_risks_scale() -> None:
    # The same reports as above with typed risks averaging 2: every risk doubles, the
    # floor too (A 2 x 2.571 = 5.14, B 2 x 0.4286 = 0.86, C 2 x 0.1 = 0.2).
    reports = [at(A_AT, UNTIL - 10 * DAY) for _ in range(3)]
    reports.append(at(B_AT, UNTIL - 20 * DAY))
    got = by_id(
        derive(
            AREAS, reports, since=SINCE, until=UNTIL, timezone="UTC", weighting=TEN_DAYS, scale=2.0
        )
    )
    assert (got["A"].risk, got["B"].risk, got["C"].risk) == (5.14, 0.86, 0.2)
    assert got["A"].hourly is not None and got["A"].hourly[18] == 9.25  # hours unchanged
    with pytest.raises(ValueError):
        derive(AREAS, reports, since=SINCE, until=UNTIL, timezone="UTC", scale=0)


def test_neighbouring_hours_share_their_reports() -> None:
    # Ages made irrelevant (a half-life of a million days): H[18] = 2, H[19] = 1, W = 3.
    # S[17] = 0.5, S[18] = 1 + 0.25 = 1.25, S[19] = 0.5 + 0.5 = 1, S[20] = 0.25;
    # hourly = 0.25 + 0.75 x 24 x S / 3 = 0.25 + 6 S.
    flat_age = Weighting(half_life_days=1e6)
    reports = [at(A_AT, UNTIL - 2 * DAY), at(A_AT, UNTIL - 3 * DAY)]
    reports.append(at(A_AT, UNTIL - 4 * DAY + timedelta(hours=1)))
    (a,) = derive(AREAS[:1], reports, since=SINCE, until=UNTIL, timezone="UTC", weighting=flat_age)
    assert a.hourly is not None
    assert a.hourly[16:22] == (0.25, 3.25, 7.75, 6.25, 1.75, 0.25)


def test_spam_duplicates_other_kinds_and_reports_outside_are_left_out() -> None:
    when = hour_of(10 * DAY, 20)
    counted = at(A_AT, when)
    reports = [
        counted,
        at(A_AT, when, status="spam"),
        at(A_AT, when, status="duplicate"),
        at(north_of(A_AT, 250), when),  # 250 m from A: outside its 200 m
        at(A_AT, SINCE - timedelta(seconds=1)),  # before the period
        at(A_AT, UNTIL),  # the period's end is not in it
        at(A_AT, when, kind="vehicle"),  # filtered out by kind below
        at(B_AT, when),
    ]
    got = by_id(
        derive(
            AREAS,
            reports,
            since=SINCE,
            until=UNTIL,
            timezone="UTC",
            weighting=TEN_DAYS,
            kinds=frozenset({"catcalling"}),
        )
    )
    assert got["A"].reports == 1
    assert got["B"].reports == 1
    # Equal weights: A and B are each 0.5 / (1 / 3) = 1.5; C the floor.
    assert (got["A"].risk, got["B"].risk, got["C"].risk) == (1.5, 1.5, 0.1)
    # Without the kind filter the vehicle report counts too: A = 1.0 / (1.5 / 3) = 2.
    every_kind = by_id(
        derive(AREAS, reports, since=SINCE, until=UNTIL, timezone="UTC", weighting=TEN_DAYS)
    )
    assert every_kind["A"].reports == 2
    assert every_kind["A"].risk == 2.0
    assert every_kind["B"].risk == 1.0


def test_older_reports_count_less() -> None:
    # A: one report at the end of the period (weight 1); B: two, one half-life old
    # (0.5 each): equal weight, equal risk. C has one two half-lives old: 0.25.
    # Mean = 2.25 / 3 = 0.75: A = B = 1.33, C = 0.33.
    reports = [
        at(A_AT, UNTIL - timedelta(microseconds=1)),
        at(B_AT, UNTIL - 10 * DAY),
        at(B_AT, UNTIL - 10 * DAY),
        at(C_AT, UNTIL - 20 * DAY),
    ]
    got = by_id(
        derive(AREAS, reports, since=SINCE, until=UNTIL, timezone="UTC", weighting=TEN_DAYS)
    )
    assert (got["A"].risk, got["B"].risk, got["C"].risk) == (1.33, 1.33, 0.33)


def test_hours_are_the_operations_local_hours_and_wrap_at_midnight() -> None:
    # 23:30 UTC on 20 June is 00:30 in London (BST): hour 0, spread to 23 and 1.
    summer_until = datetime(2026, 7, 1, tzinfo=UTC)
    report = at(A_AT, datetime(2026, 6, 20, 23, 30, tzinfo=UTC))
    (a,) = derive(
        AREAS[:1],
        [report],
        since=summer_until - 30 * DAY,
        until=summer_until,
        timezone="Europe/London",
    )
    assert a.risk == 1.0  # one place: always the mean
    assert a.hourly is not None
    assert (a.hourly[23], a.hourly[0], a.hourly[1]) == (4.75, 9.25, 4.75)
    assert a.hourly[22] == a.hourly[2] == 0.25


def test_a_floor_of_one_quarter_when_every_report_is_at_one_hour() -> None:
    floor = Weighting(hourly_floor=0.5)
    reports = [at(A_AT, hour_of(d * DAY, 12)) for d in range(1, 6)]
    (a,) = derive(AREAS[:1], reports, since=SINCE, until=UNTIL, timezone="UTC", weighting=floor)
    assert a.hourly is not None
    # 0.5 + 0.5 x 24 x 1/2 = 6.5 at noon; 0.5 + 0.5 x 24 x 1/4 = 3.5 beside it.
    assert (a.hourly[11], a.hourly[12], a.hourly[13]) == (3.5, 6.5, 3.5)
    assert min(a.hourly) == 0.5


def test_routes_count_reports_near_their_line() -> None:
    # A route west to east 1 km long; a report 100 m south of its middle counts, one
    # 200 m beyond its east end does not (route_buffer_m 150).
    west, east = (CENTRE[0], -2.7300), (CENTRE[0], -2.7154)
    route = Area("R", *west, route=(west, east))
    middle_south = north_of((CENTRE[0], -2.7227), -100)
    beyond = (CENTRE[0], -2.7154 + 200 / (111_195 * 0.6155))
    assert route_distance_m(*middle_south, route.route or ()) == pytest.approx(100, abs=1)
    assert route_distance_m(*beyond, route.route or ()) == pytest.approx(200, abs=2)
    when = hour_of(DAY, 9)
    (r,) = derive(
        [route],
        [at(middle_south, when), at(beyond, when)],
        since=SINCE,
        until=UNTIL,
        timezone="UTC",
    )
    assert r.reports == 1


def test_no_reports_anywhere_derives_nothing() -> None:
    far = at(north_of(CENTRE, 50_000), hour_of(DAY, 9))
    got = derive(AREAS, [far], since=SINCE, until=UNTIL, timezone="UTC")
    assert [(d.reports, d.risk, d.hourly) for d in got] == [(0, None, None)] * 3


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        derive(AREAS, [], since=UNTIL, until=SINCE, timezone="UTC")
    with pytest.raises(ValueError):
        derive(AREAS, [], since=SINCE.replace(tzinfo=None), until=UNTIL, timezone="UTC")
    with pytest.raises(ValueError):
        Weighting(half_life_days=0)


offsets = st.lists(
    st.tuples(
        st.floats(min_value=0.001, max_value=89.99),  # days before the end
        st.sampled_from(["A", "B", "C"]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(offsets)
def test_every_derivation_keeps_its_rules(made: list[tuple[float, str]]) -> None:
    where = {"A": A_AT, "B": B_AT, "C": C_AT}
    reports = [at(where[p], UNTIL - timedelta(days=d)) for d, p in made]
    got = derive(AREAS, reports, since=SINCE, until=UNTIL, timezone="Europe/London")
    risks = [d.risk for d in got]
    assert all(r is not None and 0.1 <= r <= 3.0 for r in risks)  # 3 places: at most 3
    for d in got:
        if d.reports == 0:
            assert d.hourly is None and d.risk == 0.1
            continue
        assert d.hourly is not None and len(d.hourly) == 24
        assert min(d.hourly) >= 0.25
        assert sum(d.hourly) / 24 == pytest.approx(1.0, abs=0.002)  # rounded to 3 places
    # Mean risk is 1 unless the floor lifted an empty place.
    if all(d.reports for d in got):
        assert sum(r or 0 for r in risks) / 3 == pytest.approx(1.0, abs=0.01)

"""Nearest-crew ranking: the index against a brute-force reference, and dispatcher examples."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.core.geo import EARTH_RADIUS_M, haversine_m
from dispatch.core.matching import Candidate, CrewIndex, RankingRules
from schemas.common import CrewMode

NOW = 1_800_000_000.0
ALERT = (51.5, -2.0)
CITY_RULES = RankingRules(
    fresh_s=60.0,
    detour_factor=1.4,
    speed_mps={CrewMode.FOOT: 2.0, CrewMode.BIKE: 5.0, CrewMode.CAR: 9.0},
)


@dataclass(frozen=True)
class Crew:
    crew_id: str
    lat: float
    lon: float
    mode: CrewMode = CrewMode.FOOT
    fix_at: float | None = NOW  # None: never sent a position
    ready: bool = True


def make_index(
    crews: Sequence[Crew],
    rules: RankingRules,
    *,
    capacity: int = 64,
    position_first: bool = False,
) -> CrewIndex:
    """Sign crews on as the server would: speed of their mode, then fix, then readiness."""
    index = CrewIndex(capacity=capacity)
    for crew in crews:
        if position_first and crew.fix_at is not None:
            index.set_position(crew.crew_id, crew.lat, crew.lon, crew.fix_at)
        index.set_speed(crew.crew_id, rules.speed_mps[crew.mode])
        if not position_first and crew.fix_at is not None:
            index.set_position(crew.crew_id, crew.lat, crew.lon, crew.fix_at)
        index.set_ready(crew.crew_id, crew.ready)
    return index


def north_of(lat: float, lon: float, metres: float) -> tuple[float, float]:
    return lat + math.degrees(metres / EARTH_RADIUS_M), lon


def reference_rank(
    crews: Sequence[Crew],
    lat: float,
    lon: float,
    *,
    now: float,
    rules: RankingRules,
    exclude: Collection[str] = (),
) -> dict[str, float]:
    """ETA by crew id of every crew that qualifies, one at a time in plain Python."""
    etas: dict[str, float] = {}
    for c in crews:
        stale = c.fix_at is None or c.fix_at < now - rules.fresh_s
        if stale or not c.ready or c.crew_id in exclude:
            continue
        distance = haversine_m(lat, lon, c.lat, c.lon)
        etas[c.crew_id] = distance * rules.detour_factor / rules.speed_mps[c.mode]
    return etas


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)


def assert_matches_reference(
    got: list[Candidate],
    crews: Sequence[Crew],
    reference: dict[str, float],
    *,
    limit: int,
    origin: tuple[float, float] = ALERT,
) -> None:
    best = sorted(reference.values())[:limit]
    assert len(got) == len(best)
    assert len({c.crew_id for c in got}) == len(got)
    by_id = {c.crew_id: c for c in crews}
    for candidate, expected_eta in zip(got, best, strict=True):
        assert candidate.crew_id in reference, f"{candidate.crew_id} should not rank"
        # Ties may come in any order: compare the ETA at each rank, then the crew's own ETA.
        assert close(candidate.eta_s, expected_eta)
        assert close(candidate.eta_s, reference[candidate.crew_id])
        crew = by_id[candidate.crew_id]
        assert close(candidate.distance_m, haversine_m(*origin, crew.lat, crew.lon))
    assert [c.eta_s for c in got] == sorted(c.eta_s for c in got)


speeds = st.floats(0.5, 40.0, allow_nan=False)
rules_strategy = st.builds(
    RankingRules,
    fresh_s=st.floats(5.0, 300.0),
    detour_factor=st.floats(1.0, 2.0),
    speed_mps=st.fixed_dictionaries({mode: speeds for mode in CrewMode}),
)
# Fix age as a fraction of fresh_s: 1.0 is exactly on the freshness boundary.
ages = st.one_of(st.none(), st.just(1.0), st.floats(0.0, 2.0))
crew_rows = st.lists(
    st.tuples(
        st.floats(50.0, 52.0),
        st.floats(-3.0, -1.0),
        st.sampled_from(list(CrewMode)),
        ages,
        st.booleans(),
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(
    rows=crew_rows,
    rules=rules_strategy,
    limit=st.integers(0, 35),
    excluded=st.sets(st.integers(0, 35)),
)
def test_rank_returns_the_best_fresh_ready_crews(
    rows: list[tuple[float, float, CrewMode, float | None, bool]],
    rules: RankingRules,
    limit: int,
    excluded: set[int],
) -> None:
    crews = [
        Crew(f"c{i}", lat, lon, mode, None if age is None else NOW - age * rules.fresh_s, ready)
        for i, (lat, lon, mode, age, ready) in enumerate(rows)
    ]
    exclude = {f"c{i}" for i in excluded} | {"not-a-crew"}
    index = make_index(crews, rules)
    got = index.rank(*ALERT, now=NOW, rules=rules, limit=limit, exclude=exclude)
    reference = reference_rank(crews, *ALERT, now=NOW, rules=rules, exclude=exclude)
    assert_matches_reference(got, crews, reference, limit=limit)
    if not reference or limit == 0:
        assert got == []


def test_foot_crew_close_by_beats_a_car_further_off() -> None:
    # Foot, 300 m: 300 x 1.4 / 2.0 = 210 s.  Car, 1.5 km: 1500 x 1.4 / 9.0 = 233.3 s.
    # The foot crew gets there first.
    foot = Crew("foot-1", *north_of(*ALERT, 300), mode=CrewMode.FOOT)
    car = Crew("car-1", *north_of(*ALERT, -1500), mode=CrewMode.CAR)
    ranked = make_index([car, foot], CITY_RULES).rank(*ALERT, now=NOW, rules=CITY_RULES, limit=5)
    assert [c.crew_id for c in ranked] == ["foot-1", "car-1"]
    assert ranked[0].eta_s == pytest.approx(210.0)
    assert ranked[1].eta_s == pytest.approx(1500 * 1.4 / 9.0)
    assert ranked[0].distance_m == pytest.approx(300.0)


def test_car_further_off_beats_a_slow_foot_crew() -> None:
    # Car, 1.2 km: 1200 x 1.4 / 9.0 = 186.7 s.  Foot, 900 m: 900 x 1.4 / 2.0 = 630 s.
    # The car wins although it is further away.
    foot = Crew("foot-1", *north_of(*ALERT, 900), mode=CrewMode.FOOT)
    car = Crew("car-1", *north_of(*ALERT, -1200), mode=CrewMode.CAR)
    index = make_index([foot, car], CITY_RULES)
    ranked = index.rank(*ALERT, now=NOW, rules=CITY_RULES, limit=1)
    assert [(c.crew_id, round(c.eta_s, 1)) for c in ranked] == [("car-1", 186.7)]


def test_stale_busy_and_excluded_crews_are_not_offered() -> None:
    crews = [
        Crew("stale", *north_of(*ALERT, 100), fix_at=NOW - 61),
        Crew("busy", *north_of(*ALERT, 100), ready=False),
        Crew("declined", *north_of(*ALERT, 100)),
        Crew("no-fix", *ALERT, fix_at=None),
    ]
    index = make_index(crews, CITY_RULES)
    assert index.rank(*ALERT, now=NOW, rules=CITY_RULES, limit=4, exclude={"declined"}) == []
    just_fresh = make_index([Crew("edge", *ALERT, fix_at=NOW - 60)], CITY_RULES)
    assert [c.crew_id for c in just_fresh.rank(*ALERT, now=NOW, rules=CITY_RULES, limit=1)] == [
        "edge"
    ]
    assert CrewIndex().rank(*ALERT, now=NOW, rules=CITY_RULES, limit=3) == []


def test_an_older_fix_than_the_one_held_is_ignored() -> None:
    index = make_index([Crew("c1", 51.5, -2.0, fix_at=NOW)], CITY_RULES)
    index.set_position("c1", 51.9, -1.1, NOW - 30)  # arrives late, out of order
    assert index.position("c1") == pytest.approx((51.5, -2.0, NOW))
    index.set_position("c1", 51.6, -2.1, NOW + 5)
    assert index.position("c1") == pytest.approx((51.6, -2.1, NOW + 5))


def test_removed_crew_no_longer_ranks_and_its_slot_is_clean_for_the_next() -> None:
    a, b = Crew("a", *north_of(*ALERT, 50)), Crew("b", *north_of(*ALERT, 500))
    index = make_index([a, b], CITY_RULES, capacity=2)
    index.remove("a")
    index.remove("never-there")
    assert "a" not in index and len(index) == 1
    assert index.position("a") is None and not index.is_ready("a")
    assert [c.crew_id for c in index.rank(*ALERT, now=NOW, rules=CITY_RULES, limit=5)] == ["b"]
    # "c" takes the freed slot: it inherits neither a's fix nor a's readiness.
    index.set_speed("c", 9.0)
    assert index.position("c") is None and not index.is_ready("c")
    assert [c.crew_id for c in index.rank(*ALERT, now=NOW, rules=CITY_RULES, limit=5)] == ["b"]


def hundred_crews() -> list[Crew]:
    modes = list(CrewMode)
    return [
        Crew(
            f"crew-{i:03d}",
            50.0 + (i % 10) * 0.2,
            -3.0 + (i // 10) * 0.2,
            mode=modes[i % 3],
            fix_at=NOW - (i % 90),
            ready=i % 7 != 0,
        )
        for i in range(100)
    ]


@pytest.mark.parametrize("position_first", [False, True], ids=["speed-first", "position-first"])
def test_index_grows_past_its_initial_capacity(position_first: bool) -> None:
    crews = hundred_crews()
    index = make_index(crews, CITY_RULES, capacity=2, position_first=position_first)
    assert len(index) == 100
    for crew in crews:
        assert crew.fix_at is not None
        assert index.position(crew.crew_id) == pytest.approx((crew.lat, crew.lon, crew.fix_at))
        assert index.is_ready(crew.crew_id) is crew.ready
    reference = reference_rank(crews, *ALERT, now=NOW, rules=CITY_RULES)
    for limit in (1, 10, 200):
        got = index.rank(*ALERT, now=NOW, rules=CITY_RULES, limit=limit)
        assert_matches_reference(got, crews, reference, limit=limit)


@pytest.mark.parametrize("call", ["set_speed", "set_ready"])
def test_a_new_crew_can_sign_on_when_the_index_is_full(call: str) -> None:
    index = make_index([Crew("a", *ALERT)], CITY_RULES, capacity=1)
    if call == "set_speed":
        index.set_speed("b", 9.0)
    else:
        index.set_ready("b", True)
    assert "b" in index and len(index) == 2
    index.set_position("b", *ALERT, NOW)
    index.set_ready("b", True)
    assert index.rank(*ALERT, now=NOW, rules=CITY_RULES, limit=5)

"""check_rules: each rule with its stable code, on hand-made deployments."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from dispatch.planning import Deployment, check_rules
from tests.planning.problems import START, operation, rota

PROBLEM = operation(places=4, count=10, officers=3, crews=2, officers_per_deployment=1)


def dep(
    place: str = "P0",
    day: int = 0,
    hour: int = 10,
    minutes: int = 60,
    officers: tuple[str, ...] = ("O0",),
    crews: tuple[str, ...] = ("C0",),
    start: datetime | None = None,
) -> Deployment:
    begin = start if start is not None else START + timedelta(days=day, hours=hour)
    return Deployment(place, begin, begin + timedelta(minutes=minutes), officers, crews)


def codes(*deployments: Deployment) -> list[str]:
    return sorted(v.rule for v in check_rules(PROBLEM, deployments))


def test_a_clean_plan_has_no_violations() -> None:
    assert codes(dep(), dep("P1", day=3, officers=("O1",))) == []


def test_the_rota_breaks_no_rule() -> None:
    problem = operation()
    assert check_rules(problem, rota(problem)) == []


@pytest.mark.parametrize(
    ("deployments", "expected"),
    [
        ((dep(), dep(day=1, officers=("O1",), crews=("C1",))), ["place_gap"]),
        ((dep(), dep(hour=10, officers=("O1",), crews=("C1",))), ["place_gap"]),
        ((dep(), dep("P1", hour=10, minutes=45, crews=("C1",))), ["overlap_officer", "per_day"]),
        ((dep(), dep("P1", hour=10, minutes=45, officers=("O1",))), ["overlap_crew"]),
        ((dep(hour=8), dep("P1", hour=18, crews=("C1",))), ["per_day", "rest"]),
        ((dep(hour=20), dep("P1", day=1, hour=7, crews=("C1",))), ["rest"]),
        ((dep(hour=6),), ["hours"]),
        ((dep(hour=21, minutes=90),), ["hours"]),
        ((dep(day=-1),), ["window"]),
        ((dep(minutes=30),), ["duration"]),
        ((dep(minutes=121),), ["duration"]),
        ((dep("P9"),), ["unknown_place"]),
        ((dep(officers=()),), ["team_size"]),
        ((dep(officers=("O0", "O0")),), ["duplicate_member"]),
        ((dep(officers=("X",)),), ["unknown_officer"]),
        ((dep(crews=("Y",)),), ["unknown_crew"]),
    ],
)
def test_each_rule_is_reported_with_its_code(
    deployments: tuple[Deployment, ...], expected: list[str]
) -> None:
    assert codes(*deployments) == expected


def test_ending_exactly_at_the_last_allowed_hour_is_allowed() -> None:
    assert codes(dep(hour=21, minutes=60)) == []  # 21:00-22:00, hour 21 allowed


def test_crews_may_follow_on_immediately() -> None:
    assert codes(dep(), dep("P1", hour=11, officers=("O1",))) == []


def test_weekday_rule() -> None:
    import dataclasses

    problem = dataclasses.replace(PROBLEM, allowed_weekdays=frozenset({0, 1, 2, 3, 4}))
    saturday = dep(day=5)
    assert [v.rule for v in check_rules(problem, [saturday])] == ["weekday"]


def test_a_time_without_a_zone_is_reported_not_raised() -> None:
    naive = dep(start=datetime(2025, 3, 4, 10))
    found = check_rules(PROBLEM, [naive, dep("P1", day=5)])
    assert [(v.rule, v.deployments) for v in found] == [("naive_time", (0,))]


def test_violations_name_the_deployments_by_index() -> None:
    found = check_rules(PROBLEM, [dep("P1", day=5), dep(), dep(day=1, officers=("O1",))])
    assert [(v.rule, v.deployments) for v in found] == [("place_gap", (1, 2))]
    assert "P0" in found[0].message

"""M5 and the place gap range: with a fixed gap the place used last is certainly empty,
and an offender who goes there is never met; a gap drawn within a range takes that away."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

import pytest

from dispatch.planning import Deployment, Rules, check_rules, evaluate, generate_plan
from tests.planning.problems import START, operation, town

H = timedelta(hours=1)
PLANS = 40


def pooled(rules: Rules, seeds: range = range(PLANS)) -> tuple[float, list[float]]:
    """Met against chance over many plans of the town operation (raw sums pooled), and
    each plan's M5."""
    problem = town(rules=rules)
    met = chance = 0.0
    each = []
    for seed in seeds:
        plan = generate_plan(problem, random.Random(seed))
        assert check_rules(problem, plan.deployments) == []
        met += plan.figures.details["m5_met_h"]
        chance += plan.figures.details["m5_chance_h"]
        each.append(plan.figures.m5_recent_place)
    return met / chance, each


def test_with_a_fixed_gap_the_last_used_place_is_safe() -> None:
    ratio, each = pooled(Rules(place_gap=48 * H))
    assert ratio < 0.05  # met almost never (only within the slot where the gap runs out)
    assert max(each) < 0.35  # every single plan shows it


def test_with_a_gap_drawn_in_a_range_it_is_near_chance() -> None:
    ratio, each = pooled(Rules(place_gap=48 * H, place_gap_min=timedelta(0)))
    assert 0.8 < ratio < 1.2, ratio
    assert sum(each) / len(each) > 0.75


def test_safe_rates_are_reported_beside_chance() -> None:
    plan = generate_plan(town(rules=Rules(place_gap=48 * H)), random.Random(0))
    d = plan.figures.details
    assert d["m5_safe"] > 0.999 and d["m5_chance_safe"] < 0.995
    assert d["m5_slots"] > 200 and d["m5_lookback_h"] == 48
    assert d["m5_avoid"] > 1.0  # the places not used lately are due: he is met more


def test_a_revisit_right_after_a_visit_is_seen() -> None:
    problem = operation(places=2, count=3, rules=Rules(place_gap=48 * H, place_gap_min=0 * H))
    start = START + timedelta(hours=10)

    def dep(day: int, hours: float, place: str = "P0", officer: str = "O0") -> Deployment:
        begin = start + timedelta(days=day, hours=hours)
        return Deployment(place, begin, begin + 2 * H, (officer,), ("C0",))

    quiet = [dep(0, 0), dep(7, 0), dep(14, 0, "P1")]
    back = [dep(0, 0), dep(0, 3, officer="O1"), dep(14, 0, "P1")]
    calm, busy = evaluate(problem, quiet), evaluate(problem, back)
    assert calm.details["m5_met_h"] == 0 < calm.details["m5_chance_h"]
    assert calm.m5_recent_place < 1.0
    # Back three hours after: he is met for two hours, far above what chance gives.
    assert busy.details["m5_met_h"] == pytest.approx(2.0)
    assert busy.details["m5_met_h"] > 5 * busy.details["m5_chance_h"]
    assert busy.m5_recent_place > 1.5


def test_the_rules_enforce_the_lower_bound_of_a_range() -> None:
    at = START + timedelta(hours=9)
    first = Deployment("P0", at, at + H, ("O0",), ("C0",))
    again = Deployment("P0", at + 25 * H, at + 26 * H, ("O1",), ("C1",))
    for low, broken in ((12, False), (36, True), (None, True)):
        rules = Rules(place_gap=48 * H, place_gap_min=None if low is None else low * H)
        problem = operation(places=2, count=2, rules=rules)
        assert bool(check_rules(problem, [first, again])) is broken


@pytest.mark.parametrize("low", [None, 48])
def test_a_fixed_gap_draws_nothing(low: int | None) -> None:
    rules = Rules(place_gap=48 * H, place_gap_min=None if low is None else low * H)
    rng = random.Random(0)
    assert {rules.draw_gap(rng) for _ in range(5)} == {48 * H} and rng.random() == pytest.approx(
        random.Random(0).random()
    )


def test_a_range_draws_within_it() -> None:
    rules = Rules(place_gap=48 * H, place_gap_min=6 * H)
    rng = random.Random(0)
    gaps = [rules.draw_gap(rng) for _ in range(200)]
    assert min(gaps) >= 6 * H and max(gaps) <= 48 * H
    assert max(gaps) - min(gaps) > 30 * H
    assert rules.gap_floor == 6 * H and rules.gap_mean == 27 * H
    assert dataclasses.replace(rules, place_gap_min=None).gap_floor == 48 * H

"""Property-based: over random small operations, no generated plan breaks a rule."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dispatch.planning import Place, Problem, Rules, check_rules, evaluate, generate_plan

ZONES = ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Adelaide"]


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    places = draw(st.integers(1, 6))
    start = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(
        days=draw(st.integers(0, 364)), minutes=15 * draw(st.integers(0, 95))
    )
    low = draw(st.integers(15, 120))
    hours = draw(st.none() | st.frozensets(st.integers(0, 23), min_size=1))
    days = draw(st.none() | st.frozensets(st.integers(0, 6), min_size=1))
    hourly = st.none() | st.tuples(*[st.sampled_from([0.0, 0.5, 1.0, 3.0])] * 24)
    return Problem(
        window_start=start,
        window_end=start + timedelta(hours=draw(st.integers(6, 24 * 21))),
        places=tuple(
            Place(f"P{i}", draw(st.floats(0.1, 10.0)), draw(hourly)) for i in range(places)
        ),
        count=draw(st.integers(0, 25)),
        min_duration=timedelta(minutes=low),
        max_duration=timedelta(minutes=low + draw(st.integers(0, 120))),
        officers=tuple(f"O{i}" for i in range(draw(st.integers(0, 5)))),
        crews=tuple(f"C{i}" for i in range(draw(st.integers(0, 4)))),
        officers_per_deployment=draw(st.integers(0, 2)),
        crews_per_deployment=draw(st.integers(0, 2)),
        allowed_hours=hours,
        allowed_weekdays=days,
        timezone=draw(st.sampled_from(ZONES)),
        rules=Rules(
            place_gap=timedelta(hours=draw(st.integers(0, 72))),
            rest=timedelta(hours=draw(st.integers(0, 14))),
            per_officer_per_day=draw(st.integers(1, 2)),
        ),
        tolerance=draw(st.sampled_from([0.0, 0.05, 0.2])),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems(), seed=st.integers(0, 2**32), pin=st.integers(0, 3))
def test_generated_plans_keep_every_rule(problem: Problem, seed: int, pin: int) -> None:
    rng = random.Random(seed)
    first = generate_plan(problem, rng)
    assert check_rules(problem, first.deployments) == []
    assert len(first.deployments) == problem.count or first.warnings
    for d in first.deployments:
        assert d.start.utcoffset() == timedelta(0) and d.end.utcoffset() == timedelta(0)
        assert problem.window_start <= d.start < d.end <= problem.window_end
    # Pin a few and plan again: pinned kept exactly, still no broken rule.
    pinned = tuple(dataclasses.replace(d, pinned=True) for d in first.deployments[:pin])
    again = generate_plan(dataclasses.replace(problem, pinned=pinned), rng)
    assert set(pinned) <= set(again.deployments)
    assert check_rules(problem, again.deployments) == []
    assert len(again.deployments) == max(problem.count, len(pinned)) or again.warnings
    figures = evaluate(problem, again.deployments)
    assert 0.0 <= figures.m2_entropy_ratio <= 1.0
    assert figures.m3_predictability >= 0 and figures.m4_gap_regularity >= 0

"""Target coverage: the LP's optimum, the entropy step, and which cells exist."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from dispatch.planning import target_coverage
from dispatch.planning.coverage import minimax_value
from tests.planning.problems import operation


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("count", [10, 120, 2000])
def test_lp_optimum_matches_closed_form_water_filling(seed: int, count: int) -> None:
    problem = operation(places=12, count=count, seed=seed, hourly=True, weeks=2)
    cov = target_coverage(problem)
    assert cov.solver == "highs"
    closed = minimax_value(cov.weight, cov.cell_place, cov.place_cap, cov.resource)
    assert cov.optimum == pytest.approx(closed, rel=1e-6, abs=1e-9)


def test_per_place_caps_bind_with_a_long_place_gap() -> None:
    # One risky place, a gap longer than the window: it hosts one deployment at most.
    problem = operation(places=3, count=30, weeks=1, hourly=True)
    problem = dataclasses.replace(
        problem,
        places=(dataclasses.replace(problem.places[0], risk=100.0), *problem.places[1:]),
        rules=dataclasses.replace(problem.rules, place_gap=timedelta(weeks=2)),
    )
    cov = target_coverage(problem)
    per_place = np.bincount(cov.cell_place, cov.cover, minlength=3)
    assert per_place[0] <= cov.place_cap[0] + 1e-9
    assert cov.place_cap[0] == pytest.approx(cov.mean_slots)
    closed = minimax_value(cov.weight, cov.cell_place, cov.place_cap, cov.resource)
    assert cov.optimum == pytest.approx(closed, rel=1e-6)


@pytest.mark.parametrize("tolerance", [0.0, 0.05, 0.3])
def test_entropy_step_stays_within_tolerance_and_uses_all_resources(tolerance: float) -> None:
    problem = dataclasses.replace(
        operation(places=15, count=200, hourly=True, seed=3), tolerance=tolerance
    )
    cov = target_coverage(problem)
    assert cov.value <= (1 + tolerance) * cov.optimum * (1 + 1e-9) + 1e-12
    assert cov.cover.min() >= 0 and cov.cover.max() <= 1
    assert cov.cover.sum() == pytest.approx(min(cov.resource, cov.place_cap.sum()))
    per_place = np.bincount(cov.cell_place, cov.cover, minlength=15)
    assert np.all(per_place <= cov.place_cap + 1e-9)


def test_more_tolerance_spreads_coverage_more_evenly() -> None:
    def entropy(tol: float) -> float:
        cov = target_coverage(
            dataclasses.replace(operation(places=15, count=300, hourly=True), tolerance=tol)
        )
        p = cov.cover / cov.cover.sum()
        p = p[p > 0]
        return float(-(p * np.log(p)).sum())

    assert entropy(0.0) < entropy(0.05) < entropy(0.3)


def test_equal_weights_give_even_coverage() -> None:
    base = operation(places=5, count=20)
    flat = tuple(dataclasses.replace(p, risk=1.0) for p in base.places)
    cov = target_coverage(dataclasses.replace(base, places=flat))
    assert np.ptp(cov.cover) < 1e-9


def test_cells_only_at_allowed_local_hours_and_weekdays_across_dst() -> None:
    problem = operation(
        places=2, count=5, hours=frozenset({8, 9, 20}), allowed_weekdays=frozenset({0, 5})
    )
    cov = target_coverage(problem)
    zone = ZoneInfo("Europe/London")
    starts = {start for (_place, start) in cov.as_dict()}
    assert starts
    for start in starts:
        local = start.astimezone(zone)
        assert local.hour in {8, 9, 20} and local.weekday() in {0, 5}
    # 30 March is a Sunday: the first Monday after DST is 31 March, outside the window,
    # but Saturday 29 March 08:00 GMT is 08:00 UTC.
    assert any(s.astimezone(zone).day == 29 and s.hour == 8 for s in starts)


def test_zero_hourly_weight_is_not_a_cell() -> None:
    base = operation(places=1, count=3, hours=None)
    hourly = tuple(1.0 if 10 <= h < 12 else 0.0 for h in range(24))
    problem = dataclasses.replace(
        base, places=(dataclasses.replace(base.places[0], hourly=hourly),)
    )
    cov = target_coverage(problem)
    assert set(cov.grid.hour[cov.cell_slot].tolist()) == {10, 11}

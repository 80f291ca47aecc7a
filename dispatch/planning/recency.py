"""M5: does the place gap tell an offender where it is safe?

With a fixed gap `G` between visits to a place, a place whose deployment ended less
than `G` ago is certainly empty: an offender who has watched the deployments goes
there, and is never met.

**The offender.** At each slot `s` of the grid (an hour) with at least one *recent*
place (a place whose deployment ended in `(s - G, s]`, `G` = `rules.place_gap`, the
upper bound when the gap is a range), he goes to one of the recent places, chosen
with probability proportional to its risk weight `w(p, local hour)`; places with no
weight at that hour (not cells, see `coverage`) are never chosen. He is *met* with
probability `c(p, s)`, the realised covered fraction of the cell.

**Chance.** The same choice of places with the same risk weighting, but with no use
of the timing: each chosen place is met at its average realised coverage at that
local hour over the window, leaving out the visits that made it recent (they are
over; counting them would credit the plan with coverage it cannot have, since each
place has a fixed number of visits). Under a placement in which the time of one
visit says nothing about the others, the two rates are equal on average.

**M5** = `(met + 1 h) / (chance + 1 h)`, both summed over the slots in hours of
expected meetings (one expected meeting added to both sides, so that a plan with
few revisits is not judged on one or two): 1 = as chance; 0 = the recently used
places are certainly empty. A fixed gap gives 0 (up to an hour's edge: a revisit may
start within the slot in which the gap runs out); a gap drawn in a range
(`Rules.place_gap_min`) lets a place be used again soon after a visit and brings it
towards 1. `details` hold the raw sums (`m5_met_h`, `m5_chance_h`), the safe rates
per slot (`m5_safe`, `m5_chance_safe`), the slots judged, and the same ratio for the
offender who *avoids* the recent places (`m5_avoid`: above 1 means he is met more
often than chance, since the other places are due).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from dispatch.planning.coverage import Coverage, FloatArray, realised_cover
from dispatch.planning.model import Deployment, Problem

PRIOR_H = 1.0


def _own_cover(coverage: Coverage, d: Deployment) -> dict[int, float]:
    """Covered fraction of each slot by one deployment."""
    grid = coverage.grid
    a, b = grid.slot_of(d.start), grid.slot_of(d.end)
    return {
        s: max(0.0, min(b, s + 1.0) - max(a, float(s)))
        for s in range(max(0, math.floor(a)), min(grid.count, math.ceil(b)))
    }


def recent_place_safety(
    problem: Problem, coverage: Coverage, known: Sequence[Deployment]
) -> tuple[float, dict[str, float]]:
    """(M5, details) for deployments at known places."""
    grid, ids = coverage.grid, coverage.place_ids
    places, slots = len(ids), grid.count
    index = {p: i for i, p in enumerate(ids)}
    weight = np.zeros((places, slots))
    weight[coverage.cell_place, coverage.cell_slot] = coverage.weight
    cell = weight > 0
    real = np.where(cell, realised_cover(grid, ids, known), 0.0)
    hour = grid.hour
    # Coverage and cells per (place, local hour), for the chance rate.
    by_hour = np.zeros((places, 24))
    cells = np.zeros((places, 24))
    for h in range(24):
        at = hour == h
        by_hour[:, h] = real[:, at].sum(axis=1)
        cells[:, h] = cell[:, at].sum(axis=1)
    recent = np.zeros((places, slots), dtype=np.bool_)
    left_out = np.zeros((places, slots))  # the recent visits' own coverage at that hour
    lookback = problem.rules.place_gap / grid.step
    for d in known:
        p = index[d.place_id]
        own = np.zeros(24)
        for s, f in _own_cover(coverage, d).items():
            if cell[p, s]:
                own[hour[s]] += f
        end = grid.slot_of(d.end)
        first, last = max(0, math.ceil(end)), min(slots, math.ceil(end + lookback))
        if first >= last:
            continue
        recent[p, first:last] = True
        left_out[p, first:last] += own[hour[first:last]]  # every recent visit is over
    chance = np.divide(
        by_hour[:, hour] - left_out,
        cells[:, hour],
        out=np.zeros((places, slots)),
        where=cells[:, hour] > 0,
    )
    chance = np.clip(chance, 0.0, 1.0)
    step_h = grid.step.total_seconds() / 3600
    met_r, chance_r, judged = _rates(np.where(recent, weight, 0.0), real, chance)
    met_a, chance_a, _ = _rates(np.where(recent, 0.0, weight), real, chance)
    met_h, chance_h = met_r * step_h, chance_r * step_h
    details = {
        "m5_met_h": met_h,
        "m5_chance_h": chance_h,
        "m5_slots": float(judged),
        "m5_safe": 1.0 - met_r / judged if judged else 1.0,
        "m5_chance_safe": 1.0 - chance_r / judged if judged else 1.0,
        "m5_avoid": (met_a + PRIOR_H) / (chance_a + PRIOR_H),
        "m5_lookback_h": problem.rules.place_gap.total_seconds() / 3600,
    }
    return (met_h + PRIOR_H) / (chance_h + PRIOR_H), details


def _rates(chosen: FloatArray, real: FloatArray, chance: FloatArray) -> tuple[float, float, int]:
    """Sums over the slots with a choice of the risk-weighted met and chance rates."""
    total = chosen.sum(axis=0)
    some = total > 0
    if not some.any():
        return 0.0, 0.0, 0
    share = chosen[:, some] / total[some]
    met = float((share * real[:, some]).sum())
    expected = float((share * chance[:, some]).sum())
    return met, expected, int(some.sum())

"""Target coverage: a zero-sum security game, then the most even coverage near its optimum.

Cells are (place, slot) pairs whose slot is allowed (see `slots`) and whose weight
`w = place.risk * place.hourly[local hour]` is positive; a zero weight means the
place is not worth watching at that hour, so it is not a cell at all.

The offender's value at a cell is `w * (1 - c)`, `c` the probability the cell is
covered. The resources are the expected covered cell-slots:
`R = count * mean duration / slot`, mean duration the midpoint of the range (the
sampler draws durations uniformly). A place can host at most
`K = (window - d) // (g + d) + 1` deployments of mean length `d`, `g` the place gap
(the midpoint of a gap range: the gap each deployment draws on average), so its
cells together get at most `K * d / slot` (and at most one per cell).

1. **Minimax** (one linear program, scipy `linprog`, HiGHS, sparse): minimise `v`
   subject to `w_i (1 - c_i) <= v`, `sum c <= R`, the per-place caps and
   `0 <= c <= 1`. Weights are scaled to `max w = 1` first so `v` is in [0, 1].
   Cells of one place with equal weight share one variable (exact by symmetry:
   averaging their coverage keeps every constraint), so 50 places x 672 hours is
   an LP of about 1,200 variables, not 33,600.
   `minimax_value` computes the same optimum in closed form (bisection on `v`
   of the least coverage each level needs); it is the fallback if HiGHS fails and
   the tests check the LP against it.
2. **Entropy**: among coverages with `w_i (1 - c_i) <= (1 + tolerance) v*`,
   `sum c = min(R, capacity)` and the caps, take the one maximising the entropy
   of `c / sum c`. Its KKT conditions give a closed form: `c_i = clip(l_p, L_i, 1)`
   with `L_i = max(0, 1 - (1 + tol) v* / w_i)` and a level `l_p = min(l, cap_level_p)`,
   `cap_level_p` the level at which place `p` reaches its cap. Both levels are found
   by bisection (vectorised over places): a few milliseconds where a generic convex
   solver takes seconds on 30,000 cells.

Note: when resources are thin (mean coverage below the tolerance), every cell is
within `(1 + tol) v*` even uncovered, so the entropy step spreads coverage evenly
and risk weights only decide which cells exist. That is the game's answer, not a bug.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog
from scipy.sparse import coo_array, vstack

from dispatch.planning.model import Deployment, Problem
from dispatch.planning.slots import SlotGrid, build_grid

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_BISECT = 60


@dataclass(frozen=True, slots=True)
class Coverage:
    """Target probability that each cell is covered, with what it was computed from."""

    grid: SlotGrid
    place_ids: tuple[str, ...]
    cell_place: IntArray  # index into place_ids
    cell_slot: IntArray  # index into the grid
    weight: FloatArray  # risk * hourly weight
    cover: FloatArray  # target probability, 0..1
    optimum: float  # v*: the offender's best value under the minimax coverage
    value: float  # the offender's best value under `cover` (<= (1 + tol) v*)
    resource: float  # R, expected covered cell-slots
    place_cap: FloatArray  # per place, in cell-slots
    mean_slots: float  # mean deployment length in slots
    solver: str  # "highs" or "closed-form"

    def as_dict(self) -> dict[tuple[str, datetime], float]:
        starts = [self.grid.slot_start(i) for i in range(self.grid.count)]
        ids = self.place_ids
        return {
            (ids[p], starts[s]): float(c)
            for p, s, c in zip(
                self.cell_place.tolist(), self.cell_slot.tolist(), self.cover.tolist(), strict=True
            )
        }


def weighted_count(index: IntArray, weights: FloatArray | None, size: int) -> FloatArray:
    """`np.bincount` as floats (typed)."""
    return np.asarray(np.bincount(index, weights, minlength=size), dtype=np.float64)


def offender_value(weight: FloatArray, cover: FloatArray) -> float:
    return float(np.max(weight * (1.0 - cover))) if weight.size else 0.0


def place_caps(problem: Problem, cells_per_place: FloatArray, mean_slots: float) -> FloatArray:
    window = (problem.window_end - problem.window_start) / problem.slot
    gap = problem.rules.gap_mean / problem.slot
    visits = max(0.0, math.floor((window - mean_slots) / (gap + mean_slots)) + 1.0)
    return np.minimum(cells_per_place, visits * mean_slots)


def _needed(weight: FloatArray, level: float) -> FloatArray:
    """Least coverage per cell that keeps its value at or below `level`."""
    return np.clip(1.0 - level / weight, 0.0, 1.0)


def minimax_value(
    weight: FloatArray, cell_place: IntArray, caps: FloatArray, resource: float
) -> float:
    """Closed-form optimum: the least v whose needed coverage fits the resources and caps."""
    if weight.size == 0:
        return 0.0

    def fits(v: float) -> bool:
        need = _needed(weight, v)
        per_place = np.bincount(cell_place, need, minlength=caps.size)
        return bool(need.sum() <= resource + 1e-9 and np.all(per_place <= caps + 1e-9))

    lo, hi = 0.0, float(weight.max())
    if fits(lo):
        return 0.0
    for _ in range(_BISECT):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if fits(mid) else (mid, hi)
    return hi


def _solve_lp(
    weight: FloatArray, cell_place: IntArray, caps: FloatArray, resource: float
) -> float | None:
    # Cells of one place with the same weight are interchangeable (averaging their
    # coverage keeps every constraint and the objective), so the LP has one variable
    # per (place, weight) group with its size as multiplicity: exact, and ~30x smaller.
    keys = np.stack([cell_place.astype(np.float64), weight], axis=1)
    groups, size = np.unique(keys, axis=0, return_counts=True)
    g_place = groups[:, 0].astype(np.int64)
    scale = float(weight.max())
    w = groups[:, 1] / scale
    n = w.size
    rows = np.arange(n)
    value_rows = coo_array(
        (np.concatenate([-w, -np.ones(n)]), (np.concatenate([rows, rows]), np.r_[rows, [n] * n])),
        shape=(n, n + 1),
    )
    mult = size.astype(np.float64)
    total_row = coo_array((mult, (np.zeros(n, dtype=np.int64), rows)), shape=(1, n + 1))
    place_rows = coo_array((mult, (g_place, rows)), shape=(caps.size, n + 1))
    a_ub = vstack([value_rows, total_row, place_rows], format="csr")
    b_ub = np.concatenate([-w, [resource], caps])
    objective = np.zeros(n + 1)
    objective[n] = 1.0
    result = linprog(objective, A_ub=a_ub, b_ub=b_ub, bounds=(0.0, 1.0), method="highs")
    if result.status != 0:
        return None
    return float(result.x[n]) * scale


def _max_entropy(
    lower: FloatArray, cell_place: IntArray, caps: FloatArray, total: float
) -> FloatArray:
    places = caps.size
    counts = np.bincount(cell_place, minlength=places).astype(np.float64)
    # The level at which each place reaches its cap (1.0 when it never does).
    lo, hi = np.zeros(places), np.ones(places)
    capped = counts > caps + 1e-12
    if capped.any():
        for _ in range(_BISECT):
            mid = (lo + hi) / 2
            sums = np.bincount(cell_place, np.clip(mid[cell_place], lower, 1.0), minlength=places)
            over = sums > caps
            hi = np.where(over, mid, hi)
            lo = np.where(over, lo, mid)
    cap_level = np.where(capped, lo, 1.0)[cell_place]

    def spread(level: float) -> FloatArray:
        return np.clip(np.minimum(level, cap_level), lower, 1.0)

    a, b = 0.0, 1.0
    if spread(a).sum() >= total:
        return spread(a)
    for _ in range(_BISECT):
        level = (a + b) / 2
        a, b = (level, b) if spread(level).sum() < total else (a, level)
    return spread(a)


def _cells(problem: Problem, grid: SlotGrid) -> tuple[IntArray, IntArray, FloatArray]:
    slots = np.flatnonzero(grid.allowed)
    places, cells, weights = [], [], []
    for p, place in enumerate(problem.places):
        hourly = np.ones(24) if place.hourly is None else np.asarray(place.hourly, dtype=float)
        w = place.risk * hourly[grid.hour[slots]]
        keep = w > 0
        places.append(np.full(int(keep.sum()), p, dtype=np.int64))
        cells.append(slots[keep])
        weights.append(w[keep])
    if not places:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(places), np.concatenate(cells), np.concatenate(weights)


def target_coverage(problem: Problem) -> Coverage:
    """The coverage the plan aims at: minimax, then the highest entropy within tolerance."""
    grid = build_grid(problem)
    cell_place, cell_slot, weight = _cells(problem, grid)
    mean_slots = ((problem.min_duration + problem.max_duration) / 2) / problem.slot
    resource = max(0, problem.count) * mean_slots
    counts = np.bincount(cell_place, minlength=len(problem.places)).astype(np.float64)
    caps = place_caps(problem, counts, mean_slots)
    solver = "highs"
    if weight.size == 0:
        optimum, cover = 0.0, np.zeros(0)
    else:
        lp = _solve_lp(weight, cell_place, caps, resource)
        if lp is None:
            solver, lp = "closed-form", minimax_value(weight, cell_place, caps, resource)
        optimum = lp
        lower = _needed(weight, (1.0 + problem.tolerance) * optimum)
        total = min(resource, float(caps.sum()))
        cover = _max_entropy(lower, cell_place, caps, total)
    for array in (cell_place, cell_slot, weight, cover, caps):
        array.setflags(write=False)
    return Coverage(
        grid=grid,
        place_ids=tuple(p.id for p in problem.places),
        cell_place=cell_place,
        cell_slot=cell_slot,
        weight=weight,
        cover=cover,
        optimum=optimum,
        value=offender_value(weight, cover),
        resource=resource,
        place_cap=caps,
        mean_slots=float(mean_slots),
        solver=solver,
    )


def realised_cover(
    grid: SlotGrid, place_ids: Sequence[str], deployments: Iterable[Deployment]
) -> FloatArray:
    """Covered fraction of each (place, slot) by the deployments, clipped to 1."""
    index = {p: i for i, p in enumerate(place_ids)}
    out = np.zeros((len(place_ids), grid.count))
    for d in deployments:
        p = index.get(d.place_id)
        if p is None:
            continue
        a, b = grid.slot_of(d.start), grid.slot_of(d.end)
        for s in range(max(0, math.floor(a)), min(grid.count, math.ceil(b))):
            out[p, s] += max(0.0, min(b, s + 1.0) - max(a, float(s)))
    return np.minimum(out, 1.0)


def start_weights(coverage: Coverage, min_duration: timedelta) -> FloatArray:
    """Target weight of starting at each cell: its coverage where a shortest deployment fits."""
    grid = coverage.grid
    need = math.ceil(min_duration / grid.step - 1e-9)
    fits = grid.run[coverage.cell_slot] >= max(1, need)
    return np.where(fits, coverage.cover, 0.0)

"""The figures every plan carries (M1-M4) and the warning when a change makes them worse.

Deployments at unknown places are left out of every figure (`check_rules` reports them).

**M1** (optimality). The offender is taken to learn how often each place is watched at
each local hour (not the exact dates). The plan's coverage of (place, hour) is the
covered fraction of those cells over the window; `m1_offender_value` is the best
`w * (1 - coverage)` over (place, hour) and `m1_optimum` is v* of the minimax LP, so
`m1_ratio` is 1 at the optimum and larger when worse (it may dip just below 1, the
aggregate being kinder to the plan than single cells). `m1_coverage_error` is the
total-variation distance between the plan's and the target's coverage per place
(0 = same shares, 1 = disjoint); the same per local hour is in `details`.

**M2** (spread). Entropy of the deployments' places and of their local start hours,
each divided by the largest entropy `n` deployments can have under the same
constraints: the most even integer split of `n` over the places and start hours the
target allows (`log n` when `n` is below the number of choices), and no more than
the entropy of the target's own shares, since coverage must follow risk (uneven risk
weights cap how even a plan may be). Capped at 1. **M2 is the smaller of the two**,
so both must be spread. With `n <= 1` there is nothing to spread and M2 is 1.
`details` holds the target's own ratios against a perfectly even split.

**M3** (predictability): see `predictors`.

**M4** (regularity of revisits). For each place with `k >= 3` visits, the squared
coefficient of variation of the gaps between visit starts (sample variance, n-1),
pooled over places with weight `k - 2`, against what random placement gives: `k`
starts uniformly at random in the window with at least `g = least place gap + mean
duration` between them are `g` plus the spacings of `k` uniform points on
`L = window - mean duration - (k-1) g`; their gaps have mean `g + L/(k+1)` and
expected sample variance `L^2 / ((k+1)(k+2))` (spacings are exchangeable). M4 is the
square root of the ratio: about 1 for random placement, 0 for a weekly rota, above 1
for bursts. With no place visited three times M4 is 1 (nothing to judge).

**M5** (recent-place safety): how often an offender who goes where the team was
within the last place gap is met, against chance; see `recency`.

**Shares**: deployments per officer and per crew of the team (zeros included), so a
supervisor sees that the work is shared fairly (`shares`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import numpy as np

from dispatch.planning.coverage import (
    Coverage,
    FloatArray,
    realised_cover,
    start_weights,
    weighted_count,
)
from dispatch.planning.model import Deployment, Figures, Problem
from dispatch.planning.predictors import predictability
from dispatch.planning.recency import recent_place_safety
from dispatch.planning.shares import counts, spread

# How much worse a figure must get before `compare` warns.
TOLERANCE = {
    "m1_ratio": 0.01,
    "m1_coverage_error": 0.05,
    "m2": 0.01,
    "m3": 0.05,
    "m4": 0.05,
    "m5": 0.1,
}


def _tv(a: FloatArray, b: FloatArray) -> float:
    sa, sb = float(a.sum()), float(b.sum())
    if sa <= 0 or sb <= 0:
        return 0.0 if sa == sb else 1.0
    return 0.5 * float(np.abs(a / sa - b / sb).sum())


def _entropy(counts: Sequence[float]) -> float:
    total = float(sum(counts))
    return -sum(c / total * math.log(c / total) for c in counts if c > 0) if total > 0 else 0.0


def max_entropy(n: int, choices: int) -> float:
    """Entropy of the most even split of `n` items over `choices` bins."""
    if n <= 0 or choices <= 0:
        return 0.0
    q, r = divmod(n, choices)
    return _entropy([q + 1] * r + [q] * (choices - r))


def _ratio(counts: Sequence[float], choices: int, share: Sequence[float]) -> float:
    """Entropy of `counts` against the most a plan of that size may have here: the most
    even split of n over the choices, but no more than the target coverage's own
    entropy (coverage must follow risk, so uneven risk caps how even a plan can be)."""
    n = int(sum(counts))
    top = min(max_entropy(n, choices), _entropy(share))
    return 1.0 if top <= 0 else min(1.0, _entropy(counts) / top)


def gap_regularity(
    problem: Problem, coverage: Coverage, visits: dict[int, list[float]]
) -> tuple[float, int]:
    """(M4, places judged); `visits` are start times in hours per place."""
    hour = 3600.0
    window = (problem.window_end - problem.window_start).total_seconds() / hour
    mean_d = coverage.mean_slots * problem.slot.total_seconds() / hour
    g = problem.rules.gap_floor.total_seconds() / hour + mean_d
    observed = expected = 0.0
    judged = 0
    for starts in visits.values():
        k = len(starts)
        span = window - mean_d - (k - 1) * g
        if k < 3 or span <= 0:
            continue
        gaps = np.diff(np.sort(np.asarray(starts)))
        mean = float(gaps.mean())
        if mean <= 0:
            continue
        weight = k - 2.0
        observed += weight * float(gaps.var(ddof=1)) / mean**2
        expected += weight * (span**2 / ((k + 1) * (k + 2))) / (g + span / (k + 1)) ** 2
        judged += 1
    if judged == 0 or expected <= 0:
        return 1.0, judged
    return math.sqrt(observed / expected), judged


def compute(problem: Problem, coverage: Coverage, deployments: Sequence[Deployment]) -> Figures:
    grid, ids = coverage.grid, coverage.place_ids
    index = {p: i for i, p in enumerate(ids)}
    known = sorted(
        (d for d in deployments if d.place_id in index), key=lambda d: (d.start, d.place_id)
    )
    zone = ZoneInfo(problem.timezone)
    cell_hour = grid.hour[coverage.cell_slot]
    places = len(ids)

    # M1
    real = realised_cover(grid, ids, known)[coverage.cell_place, coverage.cell_slot]
    group = coverage.cell_place * 24 + cell_hour
    size = np.bincount(group, minlength=places * 24)
    covered = weighted_count(group, real, places * 24)
    weight = np.zeros(places * 24)
    weight[group] = coverage.weight
    has = size > 0
    share = np.divide(covered, size, out=np.zeros_like(covered), where=has)
    value = float(np.max(weight[has] * (1 - share[has]))) if has.any() else 0.0
    optimum = coverage.optimum
    if optimum > 1e-12:
        m1_ratio = value / optimum
    else:
        m1_ratio = 1.0 if value <= 1e-12 else math.inf
    target_place = weighted_count(coverage.cell_place, coverage.cover, places)
    real_place = weighted_count(coverage.cell_place, real, places)
    target_hour = weighted_count(cell_hour, coverage.cover, 24)
    real_hour = weighted_count(cell_hour, real, 24)

    # Target shares of starts, for M2's choices and M3's baselines.
    starts = start_weights(coverage, problem.min_duration)
    place_share = weighted_count(coverage.cell_place, starts, places)
    hour_share = weighted_count(cell_hour, starts, 24)
    day_share = weighted_count(grid.weekday[coverage.cell_slot], starts, 7)

    # M2
    local = [d.start.astimezone(zone) for d in known]
    p_seq = [index[d.place_id] for d in known]
    h_seq = [t.hour for t in local]
    w_seq = [t.weekday() for t in local]
    place_counts = np.bincount(p_seq, minlength=places).tolist() if known else []
    hour_counts = np.bincount(h_seq, minlength=24).tolist() if known else []
    place_choices = int((place_share > 0).sum()) or places
    hour_choices = int((hour_share > 0).sum()) or 24
    m2_place = _ratio(place_counts, place_choices, place_share.tolist())
    m2_hour = _ratio(hour_counts, hour_choices, hour_share.tolist())
    n = len(known)
    target_m2_place = (
        _entropy(place_share.tolist()) / math.log(place_choices) if place_choices > 1 else 1.0
    )
    target_m2_hour = (
        _entropy(hour_share.tolist()) / math.log(hour_choices) if hour_choices > 1 else 1.0
    )

    # M3
    m3, best, ratios = predictability(
        p_seq,
        h_seq,
        w_seq,
        [t.date().toordinal() for t in local],
        place_share.tolist(),
        hour_share.tolist(),
        day_share.tolist(),
    )

    # M4
    visits: dict[int, list[float]] = {}
    for p, d in zip(p_seq, known, strict=True):
        visits.setdefault(p, []).append((d.start - problem.window_start).total_seconds() / 3600)
    m4, judged = gap_regularity(problem, coverage, visits)

    # M5
    m5, m5_details = recent_place_safety(problem, coverage, known)

    details = {
        "deployments": float(n),
        "m1_target_value": coverage.value,
        "m1_hour_coverage_error": _tv(real_hour, target_hour),
        "m2_place": m2_place,
        "m2_hour": m2_hour,
        "m2_target_place": target_m2_place,
        "m2_target_hour": target_m2_hour,
        "m4_places_judged": float(judged),
        **{f"m3_{name}": r for name, r in ratios.items()},
        **m5_details,
    }
    return Figures(
        m1_offender_value=value,
        m1_optimum=optimum,
        m1_ratio=m1_ratio,
        m1_coverage_error=_tv(real_place, target_place) if n else 1.0,
        m2_entropy_ratio=min(m2_place, m2_hour),
        m3_predictability=m3,
        m3_best_predictor=best,
        m4_gap_regularity=m4,
        details=details,
        m5_recent_place=m5,
        officer_shares=counts(problem.officers, deployments, crews=False),
        crew_shares=counts(problem.crews, deployments, crews=True),
    )


def compare(before: Figures, after: Figures) -> list[str]:
    """Sentences for each figure that `after` makes worse than `before` beyond `TOLERANCE`."""
    out: list[str] = []
    if after.m1_ratio > before.m1_ratio + TOLERANCE["m1_ratio"]:
        out.append(
            f"M1: the offender's best value against the optimum rises from "
            f"{before.m1_ratio:.3f} to {after.m1_ratio:.3f}."
        )
    if after.m1_coverage_error > before.m1_coverage_error + TOLERANCE["m1_coverage_error"]:
        out.append(
            f"M1: coverage strays further from the target, from "
            f"{before.m1_coverage_error:.2f} to {after.m1_coverage_error:.2f}."
        )
    if after.m2_entropy_ratio < before.m2_entropy_ratio - TOLERANCE["m2"]:
        out.append(
            f"M2: places and hours are less spread, entropy ratio down from "
            f"{before.m2_entropy_ratio:.3f} to {after.m2_entropy_ratio:.3f}."
        )
    if after.m3_predictability > before.m3_predictability + TOLERANCE["m3"]:
        out.append(
            f"M3: the plan is easier to predict, best predictor ({after.m3_best_predictor}) "
            f"up from {before.m3_predictability:.2f} to {after.m3_predictability:.2f}."
        )
    if abs(after.m4_gap_regularity - 1) > abs(before.m4_gap_regularity - 1) + TOLERANCE["m4"]:
        out.append(
            f"M4: revisits are less random, gap regularity from "
            f"{before.m4_gap_regularity:.2f} to {after.m4_gap_regularity:.2f} (1 is best)."
        )
    if after.m5_recent_place < before.m5_recent_place - TOLERANCE["m5"]:
        out.append(
            f"M5: recently used places are safer for an offender, met against chance down "
            f"from {before.m5_recent_place:.2f} to {after.m5_recent_place:.2f} (1 is best)."
        )
    if spread(after.officer_shares) > max(1, spread(before.officer_shares)) or spread(
        after.crew_shares
    ) > max(1, spread(before.crew_shares)):
        out.append("Shares: the deployments are now shared less evenly among the team.")
    return out

"""Placing sampled (place, hour) tokens in time and giving each a team, keeping every rule.

The plan is every deployment sorted by start. Pinned deployments are kept exactly
(even if they break a rule: a warning says so) and entered first, so everything else is placed
around them; their realised coverage is subtracted from the target before sampling.

For each token, in the shuffled order `sampling.pair_hours` gives:

1. candidate start slots are the place's valid start cells at that local hour (one a
   day), tried in a weighted random order by residual target coverage times how many
   deployments the slot's weekday still has to get (weekday totals are drawn up front
   by systematic sampling too, so weekdays are as balanced as places and hours); if
   none works, the place's other cells, then the other places' (weighted by their
   residual share);
2. a length is drawn uniformly on a 5-minute grid within the duration range and what
   allowed time follows the slot (`grid.run`), and a start offset on a 5-minute grid
   within the slot and what remains, so neither minutes nor lengths form a comb;
3. the exact checks: local hours/weekdays for the whole deployment
   (`rules.time_breaks`), the place gap (`Ledger.place_free`; with a gap range each
   try draws its own gap within it), then officers who are free, rested and under the
   per-day limit, and crews not busy; the team is the free members with the fewest
   deployments so far, ties drawn at random (`shares.pick`: tokens come in shuffled
   order, so this evens the shares without a rota that would leak who goes next);
4. a token that finds nothing within its budget of tries is dropped and the plan says
   so; after a few such in a row the rest are dropped too, since the rules are full;
5. `shares.rebalance` evens out what is left uneven, and the plan warns when the rules
   leave the shares more than one apart.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import numpy as np

from dispatch.planning.coverage import Coverage, realised_cover, start_weights, weighted_count
from dispatch.planning.model import Deployment, Problem
from dispatch.planning.rules import Ledger, check_rules, time_breaks
from dispatch.planning.sampling import pair_hours, systematic, weighted_order
from dispatch.planning.shares import pick, rebalance
from dispatch.planning.shares import warning as share_warning

STEP = timedelta(minutes=5)
TRIES_PER_TOKEN = 400  # half for the token's own place, the rest for the others
GIVE_UP_AFTER = 3  # tokens in a row that found no room


def _grid_steps(span: timedelta) -> int:
    return max(0, math.floor(span / STEP + 1e-9))


class _Placer:
    def __init__(self, problem: Problem, coverage: Coverage, ledger: Ledger, rng: random.Random):
        self.problem = problem
        self.coverage = coverage
        self.ledger = ledger
        self.rng = rng
        self.tries = 0
        self.officer_use: Counter[str] = Counter()
        self.crew_use: Counter[str] = Counter()

    def count(self, d: Deployment) -> None:
        self.officer_use.update(set(d.officers))
        self.crew_use.update(set(d.crews))

    def times(self, slot: int) -> tuple[datetime, datetime] | None:
        problem, grid, rng = self.problem, self.coverage.grid, self.rng
        start = grid.slot_start(slot)
        span = min(grid.step * int(grid.run[slot]), problem.window_end - start)
        longest = min(problem.max_duration, span)
        if longest < problem.min_duration:
            return None
        duration = problem.min_duration + STEP * rng.randint(
            0, _grid_steps(longest - problem.min_duration)
        )
        room = min(grid.step - STEP, span - duration)
        offset = STEP * rng.randint(0, _grid_steps(room)) if room > timedelta(0) else timedelta(0)
        return start + offset, start + offset + duration

    def attempt(self, place: str, slot: int) -> Deployment | None:
        self.tries += 1
        when = self.times(slot)
        if when is None:
            return None
        start, end = when
        problem, ledger = self.problem, self.ledger
        gap = problem.rules.draw_gap(self.rng)
        if time_breaks(problem, start, end, ledger.zone) or not ledger.place_free(
            place, start, end, gap
        ):
            return None
        officers = ledger.officers_free(start, end)
        crews = ledger.crews_free(start, end)
        if (
            len(officers) < problem.officers_per_deployment
            or len(crews) < problem.crews_per_deployment
        ):
            return None
        return Deployment(
            place_id=place,
            start=start,
            end=end,
            officers=pick(officers, self.officer_use, problem.officers_per_deployment, self.rng),
            crews=pick(crews, self.crew_use, problem.crews_per_deployment, self.rng),
        )

    def first_fit(
        self, place: str, cells: list[int], weights: list[float], limit: int
    ) -> Deployment | None:
        slots = self.coverage.cell_slot
        for i in weighted_order(weights, self.rng):
            if self.tries >= limit:
                return None
            found = self.attempt(place, int(slots[cells[i]]))
            if found is not None:
                return found
        return None


def place_deployments(
    problem: Problem, coverage: Coverage, rng: random.Random
) -> tuple[list[Deployment], list[str]]:
    """The pinned deployments plus up to `count - len(pinned)` new ones, and warnings."""
    warnings: list[str] = []
    pinned = list(problem.pinned)
    broken = check_rules(problem, pinned)
    if broken:
        codes = ", ".join(sorted({v.rule for v in broken}))
        warnings.append(f"The pinned deployments break rules ({codes}); they are kept as they are.")
    wanted = problem.count - len(pinned)
    if wanted < 0:
        warnings.append(
            f"{len(pinned)} deployments are pinned, more than the {problem.count} asked for."
        )
    wanted = max(0, wanted)
    grid, ids = coverage.grid, coverage.place_ids
    valid = start_weights(coverage, problem.min_duration)
    if wanted and not (valid > 0).any():
        warnings.append("No allowed time in the window fits the shortest deployment.")
        return pinned, warnings
    if wanted == 0:
        return pinned, warnings

    ledger = Ledger(problem, grid.zone)
    for d in pinned:
        ledger.add(d)
    real = realised_cover(grid, ids, pinned)[coverage.cell_place, coverage.cell_slot]
    residual = np.where(valid > 0, np.maximum(coverage.cover - real, 0.0), 0.0)
    if residual.sum() <= 0:
        residual = valid
    cell_hour = grid.hour[coverage.cell_slot]
    places = len(ids)
    group = coverage.cell_place * 24 + cell_hour
    place_w = weighted_count(coverage.cell_place, residual, places)
    hour_w = weighted_count(cell_hour, residual, 24)
    joint = weighted_count(group, residual, places * 24).reshape(places, 24)
    tokens = pair_hours(
        systematic(place_w.tolist(), wanted, rng),
        systematic(hour_w.tolist(), wanted, rng),
        joint,
        rng,
    )

    cell_day = grid.weekday[coverage.cell_slot]
    day_left = [
        float(k) for k in systematic(weighted_count(cell_day, residual, 7).tolist(), wanted, rng)
    ]
    by_group: dict[int, list[int]] = defaultdict(list)
    by_place: dict[int, list[int]] = defaultdict(list)
    for i in np.flatnonzero(valid > 0).tolist():
        by_group[int(group[i])].append(i)
        by_place[int(coverage.cell_place[i])].append(i)
    residual_list = residual.tolist()
    day_list = cell_day.tolist()

    def weights(cells: list[int]) -> list[float]:
        """Residual coverage, leaning towards weekdays still short of their share."""
        w = [residual_list[i] * day_left[day_list[i]] for i in cells]
        return w if sum(w) > 0 else [residual_list[i] for i in cells]

    placer = _Placer(problem, coverage, ledger, rng)
    for d in pinned:
        placer.count(d)
    placed: list[Deployment] = []
    misses = 0
    for p, h in tokens:
        if misses >= GIVE_UP_AFTER:
            break
        placer.tries = 0
        found = None
        tiers = [by_group[p * 24 + h], [i for i in by_place[p] if cell_hour[i] != h]]
        for cells in tiers:
            found = found or placer.first_fit(ids[p], cells, weights(cells), TRIES_PER_TOKEN // 2)
        if found is None:
            for q in weighted_order(place_w.tolist(), rng):
                if q == p or placer.tries >= TRIES_PER_TOKEN:
                    continue
                found = placer.first_fit(ids[q], by_place[q], weights(by_place[q]), TRIES_PER_TOKEN)
                if found is not None:
                    break
        if found is None:
            misses += 1
            continue
        misses = 0
        ledger.add(found)
        placer.count(found)
        placed.append(found)
        weekday = found.start.astimezone(grid.zone).weekday()
        day_left[weekday] = max(0.0, day_left[weekday] - 1)
    if len(placed) < wanted:
        warnings.append(
            f"Only {len(placed)} of the {wanted} new deployments fit the rules "
            f"(place gap, officers' rest and daily limit, team size, allowed hours); "
            f"the plan has {len(pinned) + len(placed)} of {problem.count}."
        )
    plan = rebalance(problem, sorted(pinned + placed, key=lambda d: (d.start, d.place_id)), rng)
    uneven = share_warning(problem, plan)
    if uneven is not None:
        warnings.append(uneven)
    return plan, warnings

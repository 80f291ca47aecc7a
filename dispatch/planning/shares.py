"""Fair shares: every officer and crew of the team gets as many deployments as the others,
give or take one, as far as the rules allow; who goes where stays random.

Two steps, both drawing from the plan's generator (so production draws from `secrets`):

1. while placing (`pick`), a deployment takes the free members with the fewest
   deployments so far, ties broken at random. Deployments are placed in a shuffled
   order, not in time order, so this is no rota: nothing in the time sequence says
   who goes next;
2. then `rebalance` moves single places in a team from a member with the most
   deployments to one with the fewest, in random order, wherever the newcomer keeps
   every rule (overlap; for officers rest and the per-day limit). Pinned deployments
   are never changed. It stops when the counts differ by at most one, or when no
   move is possible: `warning` then says the rules keep the shares apart.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from dispatch.planning.model import Deployment, Problem

MAX_MOVES = 10_000


def counts(
    members: Sequence[str], deployments: Sequence[Deployment], crews: bool
) -> dict[str, int]:
    """Deployments per member of the team (zero included), in the team's order."""
    seen = Counter(m for d in deployments for m in set(d.crews if crews else d.officers))
    return {m: seen[m] for m in members}


def pick(free: Sequence[str], used: Counter[str], k: int, rng: random.Random) -> tuple[str, ...]:
    """`k` of the free members with the fewest deployments so far, ties at random."""
    keyed = sorted(free, key=lambda m: (used[m], rng.random()))
    return tuple(keyed[:k])


def spread(share: dict[str, int]) -> int:
    return max(share.values()) - min(share.values()) if share else 0


def _fits(
    problem: Problem,
    zone: ZoneInfo,
    member: str,
    d: Deployment,
    others: Sequence[Deployment],
    crews: bool,
) -> bool:
    """May `member` join `d`, given the other deployments he or she is in?"""
    rules = problem.rules
    gap = timedelta(0) if crews else rules.rest
    day: date = d.start.astimezone(zone).date()
    same_day = 0
    for o in others:
        if not (d.end + gap <= o.start or o.end + gap <= d.start):
            return False
        if not crews and o.start.astimezone(zone).date() == day:
            same_day += 1
    return crews or same_day < rules.per_officer_per_day


def _balance(
    problem: Problem,
    plan: list[Deployment],
    members: Sequence[str],
    crews: bool,
    rng: random.Random,
) -> None:
    """Move places in teams from the busiest members to the idlest, in place."""
    zone = ZoneInfo(problem.timezone)
    kept = set(problem.pinned)

    def team(d: Deployment) -> tuple[str, ...]:
        return d.crews if crews else d.officers

    for _ in range(MAX_MOVES):
        share = counts(members, plan, crews=crews)
        if spread(share) <= 1:
            return
        low, high = min(share.values()), max(share.values())
        donors = [m for m in members if share[m] == high]
        takers = [m for m in members if share[m] == low]
        moves = [
            (i, giver, taker)
            for i, d in enumerate(plan)
            if not d.pinned and d not in kept
            for giver in donors
            if giver in team(d)
            for taker in takers
            if taker not in team(d)
        ]
        rng.shuffle(moves)
        held = {t: [j for j, d in enumerate(plan) if t in team(d)] for t in takers}
        for i, giver, taker in moves:
            d = plan[i]
            mine = [plan[j] for j in held[taker] if j != i]
            if not _fits(problem, zone, taker, d, mine, crews):
                continue
            new_team = tuple(taker if m == giver else m for m in team(d))
            plan[i] = replace(d, crews=new_team) if crews else replace(d, officers=new_team)
            break
        else:
            return  # the rules leave no move that evens the shares


def rebalance(
    problem: Problem, deployments: Sequence[Deployment], rng: random.Random
) -> list[Deployment]:
    """The deployments with officers and crews as evenly shared as the rules allow."""
    plan = list(deployments)
    _balance(problem, plan, problem.officers, False, rng)
    _balance(problem, plan, problem.crews, True, rng)
    return plan


def warning(problem: Problem, deployments: Sequence[Deployment]) -> str | None:
    """A sentence when the shares differ by more than one deployment, else None."""
    parts = []
    for kind, members, crews in (
        ("officers", problem.officers, False),
        ("crews", problem.crews, True),
    ):
        share = counts(members, deployments, crews=crews)
        if spread(share) > 1:
            parts.append(f"{kind} have from {min(share.values())} to {max(share.values())}")
    if not parts:
        return None
    return (
        "Shares are uneven: "
        + "; ".join(parts)
        + " deployments each (see the shares); the rules (rest, per-day limit, overlaps) "
        "or pinned deployments leave no fairer split."
    )

"""Operations for the planner tests."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from dispatch.planning import Deployment, Place, Problem

# Monday 3 March 2025 00:00 in London (GMT), four weeks; DST starts on 30 March.
START = datetime(2025, 3, 3, 0, tzinfo=UTC)
FOUR_WEEKS = timedelta(weeks=4)


def operation(
    places: int = 20,
    count: int = 50,
    officers: int = 8,
    crews: int = 6,
    *,
    seed: int = 0,
    hourly: bool = False,
    hours: frozenset[int] | None = frozenset(range(7, 22)),
    weeks: int = 4,
    **extra: object,
) -> Problem:
    r = random.Random(seed)
    return Problem(
        window_start=START,
        window_end=START + timedelta(weeks=weeks),
        places=tuple(
            Place(
                f"P{i}",
                r.uniform(1.0, 3.0),
                tuple(r.uniform(0.5, 2.0) for _ in range(24)) if hourly else None,
            )
            for i in range(places)
        ),
        count=count,
        min_duration=timedelta(minutes=45),
        max_duration=timedelta(minutes=120),
        officers=tuple(f"O{i}" for i in range(officers)),
        crews=tuple(f"C{i}" for i in range(crews)),
        allowed_hours=hours,
        timezone="Europe/London",
        **extra,  # type: ignore[arg-type]
    )


def rota(problem: Problem) -> list[Deployment]:
    """A regular hand-made rota: place i every week on weekday i % 7 at 19:00, 90 minutes,
    the same officer and crew each time, as many places as make up `problem.count`."""
    per_week = -(-problem.count // 4)
    out: list[Deployment] = []
    for week in range(4):
        for i in range(per_week):
            if len(out) == problem.count:
                break
            start = problem.window_start + timedelta(weeks=week, days=i % 7, hours=19)
            out.append(
                Deployment(
                    place_id=problem.places[i].id,
                    start=start,
                    end=start + timedelta(minutes=90),
                    officers=(problem.officers[i % len(problem.officers)],),
                    crews=(problem.crews[i % len(problem.crews)],),
                )
            )
    return out


def town(count: int = 20, officers: int = 3, crews: int = 6, **extra: object) -> Problem:
    """The demo operation's shape: eight places of uneven risk (two busy in the evening),
    four weeks from 07:00 to 23:00, three officers and six crews."""
    evening = tuple([0.2] * 7 + [0.6, 0.8, 0.6, 0.5, 0.6, 0.7, 0.6, 0.6, 0.7, 0.9])
    evening += (1.0, 1.0, 1.0, 1.0, 0.9, 0.6, 0.3)
    risks = [(3.0, evening), (2.5, None), (4.0, evening), (2.0, None)]
    risks += [(1.5, None), (1.0, None), (1.2, None), (0.8, None)]
    return Problem(
        window_start=START + timedelta(hours=10),
        window_end=START + timedelta(days=28, hours=10),
        places=tuple(Place(f"T{i}", r, h) for i, (r, h) in enumerate(risks)),
        count=count,
        min_duration=timedelta(minutes=45),
        max_duration=timedelta(minutes=120),
        officers=tuple(f"O{i}" for i in range(officers)),
        crews=tuple(f"C{i}" for i in range(crews)),
        allowed_hours=frozenset(range(7, 23)),
        timezone="Europe/London",
        **extra,  # type: ignore[arg-type]
    )

"""What the planner takes and gives. Pure data: times are aware UTC datetimes;
hours and weekdays in rules and weights are local to the operation's timezone."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Place:
    id: str
    risk: float  # > 0: how much harassment is reported here, relative to the other places
    hourly: tuple[float, ...] | None = None  # 24 weights >= 0 by local hour; None = flat


@dataclass(frozen=True, slots=True)
class Rules:
    """`place_gap` is the gap before a place is used again (end -> start). With
    `place_gap_min` set it is the upper bound of a range: each new deployment draws its
    own gap uniformly in [place_gap_min, place_gap], so no place is certainly empty for
    longer than `place_gap_min` after a visit (see M5 in `figures`). None = a fixed gap."""

    place_gap: timedelta = timedelta(hours=48)
    rest: timedelta = timedelta(hours=11)  # between one officer's deployments (end -> start)
    per_officer_per_day: int = 1  # deployments starting on one local day
    place_gap_min: timedelta | None = None

    @property
    def gap_floor(self) -> timedelta:
        """The least gap the rules allow: what `check_rules` enforces."""
        low = self.place_gap if self.place_gap_min is None else self.place_gap_min
        return min(low, self.place_gap)

    @property
    def gap_mean(self) -> timedelta:
        """The expected drawn gap (the midpoint of the range)."""
        return (self.gap_floor + self.place_gap) / 2

    def draw_gap(self, rng: random.Random) -> timedelta:
        """A gap for one new deployment: the fixed gap, or uniform within the range."""
        low = self.gap_floor
        if low >= self.place_gap:
            return self.place_gap
        return low + (self.place_gap - low) * rng.random()


@dataclass(frozen=True, slots=True)
class Deployment:
    place_id: str
    start: datetime
    end: datetime
    officers: tuple[str, ...]
    crews: tuple[str, ...]
    pinned: bool = False  # kept as it is when the plan is generated again


@dataclass(frozen=True, slots=True)
class Problem:
    window_start: datetime
    window_end: datetime
    places: tuple[Place, ...]
    count: int  # how many deployments the plan holds (pinned ones included)
    min_duration: timedelta
    max_duration: timedelta
    officers: tuple[str, ...]
    crews: tuple[str, ...]
    officers_per_deployment: int = 1
    crews_per_deployment: int = 1
    allowed_hours: frozenset[int] | None = None  # local hours a deployment may be in; None = any
    allowed_weekdays: frozenset[int] | None = None  # 0 = Monday; None = any
    timezone: str = "UTC"  # IANA name
    rules: Rules = field(default_factory=Rules)
    tolerance: float = 0.05  # how far above the minimax optimum the entropy step may go
    slot: timedelta = timedelta(hours=1)
    pinned: tuple[Deployment, ...] = ()


@dataclass(frozen=True, slots=True)
class Figures:
    """How good a plan is. See `dispatch.planning.figures` for the definitions."""

    m1_offender_value: float  # the offender's best expected value under the plan
    m1_optimum: float  # ... under the optimal coverage (the LP)
    m1_ratio: float  # value / optimum: 1.0 is optimal, larger is worse
    m1_coverage_error: float  # realised coverage against the target (total variation, 0..1)
    m2_entropy_ratio: float  # entropy of places and hours / the maximum possible (>= 0.95)
    m3_predictability: float  # best simple predictor's hit rate / coverage-only rate (<= 1.10)
    m3_best_predictor: str
    m4_gap_regularity: float  # CV of gaps between visits / CV of memoryless gaps (near 1)
    details: dict[str, float] = field(default_factory=dict)
    # M5: how often an offender who goes where the team was within the last place gap is
    # met, against chance (1 = chance, 0 = certainly safe there). Defaults keep figures
    # stored before M5 and shares existed readable.
    m5_recent_place: float = 1.0
    officer_shares: dict[str, int] = field(default_factory=dict)  # deployments per officer
    crew_shares: dict[str, int] = field(default_factory=dict)  # deployments per crew
    # Warnings when a change makes these worse: `dispatch.planning.compare(before, after)`.


@dataclass(frozen=True, slots=True)
class Plan:
    deployments: tuple[Deployment, ...]
    coverage: dict[tuple[str, datetime], float]  # target probability per (place, slot start)
    figures: Figures
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str  # stable code: overlap_officer, rest, per_day, place_gap, hours, weekday, ...
    message: str
    deployments: tuple[int, ...]  # indexes into the checked sequence

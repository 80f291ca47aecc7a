"""Operations API (supervisors only): bodies and views for planning and plans."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator

from schemas.common import Identifier, Latitude, Longitude, Model, UtcDateTime
from schemas.views import DeploymentState

Name = Annotated[str, Field(min_length=1, max_length=100)]
Hour = Annotated[int, Field(ge=0, le=23)]
Weekday = Annotated[int, Field(ge=0, le=6, description="0 = Monday")]
Weight = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]


class PlaceIn(Model):
    """A candidate place: a point with a radius, or a route ([lat, lon] pairs)."""

    name: Name
    lat: Latitude | None = None
    lon: Longitude | None = None
    radius_m: float | None = Field(None, gt=0, le=5000, allow_inf_nan=False)
    route: list[tuple[Latitude, Longitude]] | None = Field(None, min_length=2, max_length=500)
    risk: float = Field(1.0, gt=0, le=1000, allow_inf_nan=False)
    hourly: list[Weight] | None = Field(
        None, min_length=24, max_length=24, description="24 weights by local hour."
    )

    @model_validator(mode="after")
    def _shape(self) -> Self:
        point = self.lat is not None and self.lon is not None
        if point == (self.route is not None) or (self.lat is None) != (self.lon is None):
            raise ValueError("give either lat and lon (a point) or route (a line), not both")
        if self.route is not None and self.radius_m is not None:
            raise ValueError("radius_m belongs to a point, not a route")
        if self.hourly is not None and not any(self.hourly):
            raise ValueError("hourly weights are all zero: the place could never be used")
        return self


class PlacesIn(Model):
    places: list[PlaceIn] = Field(min_length=1, max_length=500)


class PlaceWeights(Model):
    """A place's new risk and hourly weights (e.g. those derived from reports)."""

    id: Identifier
    risk: float = Field(gt=0, le=1000, allow_inf_nan=False)
    hourly: list[Weight] | None = Field(
        None, min_length=24, max_length=24, description="24 weights by local hour; null = flat."
    )

    @model_validator(mode="after")
    def _some_hour(self) -> Self:
        if self.hourly is not None and not any(self.hourly):
            raise ValueError("hourly weights are all zero: the place could never be used")
        return self


class PlaceWeightsIn(Model):
    places: list[PlaceWeights] = Field(min_length=1, max_length=500)
    source: str = Field(
        "", max_length=200, description="Where the numbers come from, for the audit trail."
    )


class PlaceView(Model):
    id: str
    name: str
    lat: float
    lon: float
    radius_m: float | None
    route: list[tuple[float, float]] | None
    risk: float
    hourly: list[float] | None


class RulesIn(Model):
    place_gap_h: float | None = Field(
        None,
        ge=0,
        le=24 * 60,
        allow_inf_nan=False,
        description="Hours before a place is used again (end to next start); the upper "
        "bound when place_gap_min_h is set.",
    )
    place_gap_min_h: float | None = Field(
        None,
        ge=0,
        le=24 * 60,
        allow_inf_nan=False,
        description="Lower bound of a gap range: each deployment draws its gap at random "
        "between this and place_gap_h, so no place is certainly empty for long after a "
        "visit. Unset = a fixed gap of place_gap_h.",
    )
    rest_h: float | None = Field(None, ge=0, le=72, allow_inf_nan=False)
    per_officer_per_day: int | None = Field(None, ge=1, le=6)


class OperationIn(Model):
    """A new operation. Unset rules and durations take config.toml's [planning] defaults."""

    name: Name
    area: str = Field("", max_length=200)
    timezone: str | None = Field(None, max_length=64, description="IANA name.")
    window_start: UtcDateTime
    window_end: UtcDateTime
    deployments: int = Field(ge=1, le=2000, description="How many deployments to plan.")
    min_duration_min: int | None = Field(None, ge=5, le=24 * 60)
    max_duration_min: int | None = Field(None, ge=5, le=24 * 60)
    allowed_hours: list[Hour] | None = Field(None, min_length=1, max_length=24)
    allowed_weekdays: list[Weekday] | None = Field(None, min_length=1, max_length=7)
    officer_ids: list[Identifier] = Field(min_length=1, max_length=500)
    crew_ids: list[Identifier] = Field(default_factory=list, max_length=500)
    officers_per_deployment: int = Field(1, ge=1, le=10)
    crews_per_deployment: int = Field(1, ge=0, le=10)
    rules: RulesIn = RulesIn()
    places: list[PlaceIn] = Field(default_factory=list, max_length=500)
    checkin_interval_min: int | None = Field(
        None,
        ge=5,
        le=240,
        description="Her live deployments ask her to check in this often (minutes); "
        "null: no check-ins. Changeable while published: PUT .../checkins.",
    )
    exercise: bool = Field(
        False, description="A drill: every alert raised during its deployments is an exercise."
    )

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.window_end <= self.window_start:
            raise ValueError("window_end must be after window_start")
        if (self.window_end - self.window_start).days > 92:
            raise ValueError("the planning window is at most 92 days")
        return self


class OperationChange(Model):
    """Changes to a draft's settings (PATCH): only the fields given change, and the result
    must be a valid `OperationIn` (places are changed on their own). A field given as null
    where `OperationIn` allows null takes the default again: any hour, any weekday, or
    config.toml's timezone, durations and rules."""

    name: Name | None = None
    area: str | None = Field(None, max_length=200)
    timezone: str | None = Field(None, max_length=64, description="IANA name.")
    window_start: UtcDateTime | None = None
    window_end: UtcDateTime | None = None
    deployments: int | None = Field(None, ge=1, le=2000)
    min_duration_min: int | None = Field(None, ge=5, le=24 * 60)
    max_duration_min: int | None = Field(None, ge=5, le=24 * 60)
    allowed_hours: list[Hour] | None = Field(None, min_length=1, max_length=24)
    allowed_weekdays: list[Weekday] | None = Field(None, min_length=1, max_length=7)
    officer_ids: list[Identifier] | None = Field(None, min_length=1, max_length=500)
    crew_ids: list[Identifier] | None = Field(None, max_length=500)
    officers_per_deployment: int | None = Field(None, ge=1, le=10)
    crews_per_deployment: int | None = Field(None, ge=0, le=10)
    rules: RulesIn | None = None
    exercise: bool | None = None
    checkin_interval_min: int | None = Field(None, ge=5, le=240)


class PlanningDefaults(Model):
    """What an operation gets for what its body leaves unset (config.toml [planning])."""

    timezone: str
    place_gap_h: float
    rest_h: float
    per_officer_per_day: int
    min_duration_min: int
    max_duration_min: int


class Rules(Model):
    place_gap_h: float
    rest_h: float
    per_officer_per_day: int
    place_gap_min_h: float | None = Field(
        None, description="Lower bound of the place gap range; null = a fixed gap."
    )


class FiguresView(Model):
    """How good the plan is (see docs/planning.md)."""

    m1_offender_value: float
    m1_optimum: float
    m1_ratio: float
    m1_coverage_error: float
    m2_entropy_ratio: float
    m3_predictability: float
    m3_best_predictor: str
    m4_gap_regularity: float
    m5_recent_place: float = Field(
        1.0,
        description="How often an offender who goes where the team was within the last "
        "place gap is met, against chance (1 = chance, 0 = certainly safe there).",
    )
    officer_shares: dict[str, int] = Field(
        default_factory=dict, description="Deployments per officer of the team."
    )
    crew_shares: dict[str, int] = Field(
        default_factory=dict, description="Deployments per crew of the team."
    )
    details: dict[str, float] = Field(default_factory=dict)


class OperationView(Model):
    id: str
    name: str
    area: str
    timezone: str
    state: str = Field(description="draft, published or cancelled")
    window_start: UtcDateTime
    window_end: UtcDateTime
    deployments: int
    min_duration_min: int
    max_duration_min: int
    allowed_hours: list[int] | None
    allowed_weekdays: list[int] | None
    officer_ids: list[str]
    crew_ids: list[str]
    officers_per_deployment: int
    crews_per_deployment: int
    rules: Rules
    places: list[PlaceView]
    figures: FiguresView | None
    warnings: list[str]
    created_at: UtcDateTime
    updated_at: UtcDateTime
    exercise: bool = Field(False, description="A drill: its alerts are exercises.")
    checkin_interval_min: int | None = Field(
        None, description="Check-ins every so many minutes on its live deployments; null: none."
    )


class DeploymentView(Model):
    """A deployment as supervisors see it."""

    id: str
    operation_id: str
    place_id: str
    place_name: str
    starts_at: UtcDateTime
    ends_at: UtcDateTime
    state: DeploymentState
    pinned: bool
    officer_ids: list[str]
    crew_ids: list[str]
    note: str | None
    briefed_at: UtcDateTime | None
    started_at: UtcDateTime | None
    ended_at: UtcDateTime | None


class PlanView(Model):
    operation: OperationView
    deployments: list[DeploymentView]


class DeploymentChange(Model):
    """Move (new times and/or place) or pin/unpin a deployment. A move keeps the
    length unless both times are given; a move that breaks a rule is refused."""

    starts_at: UtcDateTime | None = None
    ends_at: UtcDateTime | None = None
    place_id: Identifier | None = None
    pinned: bool | None = None


class PlanChange(Model):
    """What a change to a plan did to its figures."""

    plan: PlanView
    warnings: list[str] = Field(description="Set when the change made the plan more predictable.")


class CheckInsIn(Model):
    """PUT /api/operations/{key}/checkins: a draft's or a published operation's check-in
    interval (its live deployments follow at once); null: no check-ins."""

    checkin_interval_min: int | None = Field(ge=5, le=240)

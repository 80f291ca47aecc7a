"""Operation rows to views and to the planner's problem (pure conversions)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from dispatch.planning.model import Deployment as PlannedDeployment
from dispatch.planning.model import Figures, Problem, Rules
from dispatch.planning.model import Place as PlanningPlace
from dispatch.storage.models import Deployment, Operation, Place
from schemas.operations import (
    DeploymentView,
    FiguresView,
    OperationView,
    PlaceIn,
    PlaceView,
)
from schemas.operations import Rules as RulesView
from schemas.views import DeploymentState


def gap_min_h(op: Operation) -> float | None:
    """The lower bound of the operation's place gap range (nullable: null = a fixed gap,
    as for every operation stored before ranges)."""
    return None if op.place_gap_min_h is None else float(op.place_gap_min_h)


def _list(text: str) -> list[int] | None:
    return [int(v) for v in json.loads(text)] if text else None


def place_row(operation_id: str, place_id: str, body: PlaceIn) -> Place:
    if body.route is not None:
        lat, lon = body.route[0]
        route: str | None = json.dumps([list(p) for p in body.route])
    else:
        assert body.lat is not None and body.lon is not None
        lat, lon, route = body.lat, body.lon, None
    return Place(
        id=place_id,
        operation_id=operation_id,
        name=body.name,
        lat=lat,
        lon=lon,
        radius_m=body.radius_m if route is None else None,
        route=route,
        risk=body.risk,
        hourly=json.dumps(body.hourly) if body.hourly is not None else None,
    )


def route_of(place: Place) -> list[tuple[float, float]] | None:
    return [(float(a), float(b)) for a, b in json.loads(place.route)] if place.route else None


def place_view(place: Place) -> PlaceView:
    route = route_of(place)
    return PlaceView(
        id=place.id,
        name=place.name,
        lat=place.lat,
        lon=place.lon,
        radius_m=place.radius_m,
        route=route,
        risk=place.risk,
        hourly=json.loads(place.hourly) if place.hourly else None,
    )


def figures_json(figures: Figures) -> str:
    return json.dumps(asdict(figures))


def operation_view(op: Operation, places: Sequence[Place]) -> OperationView:
    return OperationView(
        id=op.id,
        name=op.name,
        area=op.area,
        timezone=op.timezone,
        state=op.state,
        window_start=op.window_start,
        window_end=op.window_end,
        deployments=op.deployments,
        min_duration_min=op.min_duration_min,
        max_duration_min=op.max_duration_min,
        allowed_hours=_list(op.allowed_hours),
        allowed_weekdays=_list(op.allowed_weekdays),
        officer_ids=json.loads(op.officer_ids),
        crew_ids=json.loads(op.crew_ids),
        officers_per_deployment=op.officers_per_deployment,
        crews_per_deployment=op.crews_per_deployment,
        rules=RulesView(
            place_gap_h=op.place_gap_h,
            rest_h=op.rest_h,
            per_officer_per_day=op.per_officer_per_day,
            place_gap_min_h=gap_min_h(op),
        ),
        places=[place_view(p) for p in places],
        figures=FiguresView.model_validate(json.loads(op.figures)) if op.figures else None,
        warnings=json.loads(op.warnings),
        created_at=op.created_at,
        updated_at=op.updated_at,
        exercise=op.exercise,
        checkin_interval_min=op.checkin_interval_min,
    )


def settings_of(op: Operation) -> dict[str, Any]:
    """An operation's stored settings as an `OperationIn` body (no places): what a change
    to its settings is applied to before the whole is validated again."""
    return {
        "name": op.name,
        "area": op.area,
        "timezone": op.timezone,
        "window_start": op.window_start,
        "window_end": op.window_end,
        "deployments": op.deployments,
        "min_duration_min": op.min_duration_min,
        "max_duration_min": op.max_duration_min,
        "allowed_hours": _list(op.allowed_hours),
        "allowed_weekdays": _list(op.allowed_weekdays),
        "officer_ids": json.loads(op.officer_ids),
        "crew_ids": json.loads(op.crew_ids),
        "officers_per_deployment": op.officers_per_deployment,
        "crews_per_deployment": op.crews_per_deployment,
        "rules": {
            "place_gap_h": op.place_gap_h,
            "place_gap_min_h": gap_min_h(op),
            "rest_h": op.rest_h,
            "per_officer_per_day": op.per_officer_per_day,
        },
        "exercise": op.exercise,
        "checkin_interval_min": op.checkin_interval_min,
    }


def deployment_view(
    dep: Deployment, place_name: str, officer_ids: list[str], crew_ids: list[str]
) -> DeploymentView:
    return DeploymentView(
        id=dep.id,
        operation_id=dep.operation_id,
        place_id=dep.place_id,
        place_name=place_name,
        starts_at=dep.starts_at,
        ends_at=dep.ends_at,
        state=DeploymentState(dep.state),
        pinned=dep.pinned,
        officer_ids=officer_ids,
        crew_ids=crew_ids,
        note=dep.note,
        briefed_at=dep.briefed_at,
        started_at=dep.started_at,
        ended_at=dep.ended_at,
    )


def problem_of(
    op: Operation,
    places: Sequence[Place],
    pinned: Sequence[PlannedDeployment] = (),
    *,
    tolerance: float,
) -> Problem:
    hours = _list(op.allowed_hours)
    days = _list(op.allowed_weekdays)
    low = gap_min_h(op)
    return Problem(
        window_start=op.window_start,
        window_end=op.window_end,
        places=tuple(
            PlanningPlace(
                id=p.id,
                risk=p.risk,
                hourly=tuple(json.loads(p.hourly)) if p.hourly else None,
            )
            for p in places
        ),
        count=op.deployments,
        min_duration=timedelta(minutes=op.min_duration_min),
        max_duration=timedelta(minutes=op.max_duration_min),
        officers=tuple(json.loads(op.officer_ids)),
        crews=tuple(json.loads(op.crew_ids)),
        officers_per_deployment=op.officers_per_deployment,
        crews_per_deployment=op.crews_per_deployment,
        allowed_hours=frozenset(hours) if hours is not None else None,
        allowed_weekdays=frozenset(days) if days is not None else None,
        timezone=op.timezone,
        rules=Rules(
            place_gap=timedelta(hours=op.place_gap_h),
            rest=timedelta(hours=op.rest_h),
            per_officer_per_day=op.per_officer_per_day,
            place_gap_min=timedelta(hours=low) if low is not None else None,
        ),
        tolerance=tolerance,
        pinned=tuple(pinned),
    )

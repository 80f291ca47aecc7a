"""REST for operations and their plans, under /api/operations (supervisors only).

Officers and crews have no way to list a plan: they see their own deployments
over the websocket, from the brief on.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from dispatch.app_deps import ServicesDep
from dispatch.people import names_by_id
from dispatch.plan_files import (
    PlaceFileError,
    file_stem,
    places_csv,
    places_from_csv,
    places_from_geojson,
    places_geojson,
    plan_csv,
    plan_ics,
)
from dispatch.usecases.context import UseCaseError
from ops_console.audit_trail import exported, viewed
from ops_console.deps import Supervisor
from schemas.errors import ErrorCode
from schemas.operations import (
    CheckInsIn,
    DeploymentChange,
    OperationChange,
    OperationIn,
    OperationView,
    PlaceIn,
    PlacesIn,
    PlaceWeightsIn,
    PlanChange,
    PlanningDefaults,
    PlanView,
)

router = APIRouter(prefix="/api/operations", tags=["operations"])

MAX_FILE_BYTES = 2_000_000


@router.post("", response_model=OperationView, status_code=201)
async def create(body: OperationIn, _: Supervisor, s: ServicesDep) -> OperationView:
    """A new draft operation (places may be given here or added later)."""
    return await s.plans.create(body)


@router.get("", response_model=list[OperationView])
async def list_operations(_: Supervisor, s: ServicesDep) -> list[OperationView]:
    return await s.plans.list()


@router.get("/defaults", response_model=PlanningDefaults)
async def defaults(_: Supervisor, s: ServicesDep) -> PlanningDefaults:
    """What a new operation gets for the rules, durations and timezone it leaves unset."""
    p = s.dispatcher.settings.planning
    return PlanningDefaults(
        timezone=p.timezone,
        place_gap_h=p.place_gap_h,
        rest_h=p.rest_h,
        per_officer_per_day=p.per_officer_per_day,
        min_duration_min=p.min_duration_min,
        max_duration_min=p.max_duration_min,
    )


@router.get("/{key}", response_model=OperationView)
async def read(key: str, _: Supervisor, s: ServicesDep) -> OperationView:
    """One operation, by id or name."""
    return await s.plans.view(key)


@router.patch("/{key}", response_model=OperationView)
async def edit(
    key: str, body: OperationChange, viewer: Supervisor, s: ServicesDep
) -> OperationView:
    """Change a draft's settings (any of a new operation's but its places): only the fields
    given change, and the result is validated as a new operation is (422 invalid, 409
    conflict for a name in use). A published or cancelled operation refuses (409
    illegal_transition). A change to anything but the name or area drops the draft's
    unpinned planned deployments and its figures (generate again), and is refused (409
    rule_broken, naming it) while a pinned deployment would break a rule."""
    return await s.plans.edit(key, body, viewer)


@router.put("/{key}/checkins", response_model=OperationView)
async def set_checkins(
    key: str, body: CheckInsIn, viewer: Supervisor, s: ServicesDep
) -> OperationView:
    """Her check-in interval on the operation's live deployments (minutes, 5-240; null:
    none), on a draft or a published operation; live deployments follow at once. 404
    not_found, 409 illegal_transition (cancelled), 422 invalid."""
    operation_id = await s.dispatcher.welfare.set_checkin_interval(
        key, body.checkin_interval_min, viewer
    )
    return await s.plans.view(operation_id)


@router.post("/{key}/places", response_model=OperationView)
async def add_places(key: str, body: PlacesIn, viewer: Supervisor, s: ServicesDep) -> OperationView:
    return await s.plans.add_places(key, body.places, viewer)


@router.patch("/{key}/places", response_model=OperationView)
async def set_weights(
    key: str, body: PlaceWeightsIn, viewer: Supervisor, s: ServicesDep
) -> OperationView:
    """New risk and hourly weights for some of a draft's places (planning's "Derive from
    reports" accepts the derived ones here). A change drops the draft's unpinned planned
    deployments and figures (generate again); an unknown place is 404 and nothing changes;
    a published or cancelled operation refuses (409 illegal_transition)."""
    return await s.plans.set_weights(key, body, viewer)


@router.post("/{key}/places.geojson", response_model=OperationView)
async def import_places(
    key: str, request: Request, viewer: Supervisor, s: ServicesDep
) -> OperationView:
    """Add places from a GeoJSON FeatureCollection (Points and LineStrings)."""
    raw = await request.body()
    if len(raw) > MAX_FILE_BYTES:
        raise UseCaseError(ErrorCode.INVALID, "The file is larger than 2 MB.")
    try:
        places: list[PlaceIn] = places_from_geojson(json.loads(raw))
    except json.JSONDecodeError:
        raise UseCaseError(ErrorCode.BAD_JSON, "The file is not JSON.") from None
    except PlaceFileError as exc:
        raise UseCaseError(ErrorCode.INVALID, str(exc)) from None
    return await s.plans.add_places(key, places, viewer)


@router.get("/{key}/places.geojson")
async def export_places(key: str, viewer: Supervisor, s: ServicesDep) -> JSONResponse:
    view = await s.plans.view(key)
    await exported(s, viewer, "operation", view.id, "places.geojson")
    disposition = f'attachment; filename="{file_stem(view.name)}-places.geojson"'
    return JSONResponse(
        places_geojson(view),
        media_type="application/geo+json",
        headers={"content-disposition": disposition},
    )


@router.post("/{key}/places.csv", response_model=OperationView)
async def import_places_csv(
    key: str, request: Request, viewer: Supervisor, s: ServicesDep
) -> OperationView:
    """Add places from a CSV file (UTF-8, comma-separated, a header row first).

    Columns, in any order: `name` (required); `lat`, `lon` and `radius_m` (metres,
    150 if empty) for a point, or `route` as "lat lon; lat lon; ..." for a line;
    `risk` (1 if empty); hourly weights by local hour as `h0` ... `h23`, or as one
    `hourly` column of 24 numbers separated by spaces or semicolons. For example:

        name,lat,lon,radius_m,risk,hourly
        Castle Green,52.0535,-2.7135,200,3,
        Bishop's Meadow,52.0510,-2.7160,150,1.5,0 0 0 0 0 0 0 1 1 1 1 1 1 1 1 1 1 2 3 3 3 2 1 0

    An error names the line and the column ("line 4, risk: not a number") and
    nothing is added. The export (GET) writes the same format.
    """
    raw = await request.body()
    if len(raw) > MAX_FILE_BYTES:
        raise UseCaseError(ErrorCode.INVALID, "The file is larger than 2 MB.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UseCaseError(
            ErrorCode.INVALID, "The file is not UTF-8 text: save the CSV as UTF-8."
        ) from None
    try:
        places = places_from_csv(text)
    except PlaceFileError as exc:
        raise UseCaseError(ErrorCode.INVALID, f"Nothing was imported: {exc}.") from None
    return await s.plans.add_places(key, places, viewer)


@router.get("/{key}/places.csv")
async def export_places_csv(key: str, viewer: Supervisor, s: ServicesDep) -> Response:
    view = await s.plans.view(key)
    await exported(s, viewer, "operation", view.id, "places.csv")
    return Response(
        places_csv(view),
        media_type="text/csv",
        headers={
            "content-disposition": f'attachment; filename="{file_stem(view.name)}-places.csv"'
        },
    )


@router.delete("/{key}/places/{place_id}", response_model=OperationView)
async def delete_place(
    key: str, place_id: str, viewer: Supervisor, s: ServicesDep
) -> OperationView:
    return await s.plans.delete_place(key, place_id, viewer)


@router.post("/{key}/generate", response_model=PlanView)
async def generate(key: str, viewer: Supervisor, s: ServicesDep) -> PlanView:
    """A new plan for a draft: pinned deployments stay, the rest are drawn again."""
    return await s.plans.generate(key, viewer)


@router.get("/{key}/plan", response_model=PlanView)
async def plan(key: str, viewer: Supervisor, s: ServicesDep) -> PlanView:
    view = await s.plans.plan(key)
    await viewed(s, viewer, "plan", view.operation.id)
    return view


@router.get("/{key}/plan.ics")
async def plan_calendar(key: str, viewer: Supervisor, s: ServicesDep) -> Response:
    view = await s.plans.plan(key)
    await exported(s, viewer, "plan", view.operation.id, "plan.ics")
    return Response(
        plan_ics(view, s.dispatcher.clock(), await names_by_id(s.db)),
        media_type="text/calendar",
        headers={"content-disposition": _attachment(view, "plan.ics")},
    )


@router.get("/{key}/plan.csv")
async def plan_table(key: str, viewer: Supervisor, s: ServicesDep) -> Response:
    view = await s.plans.plan(key)
    await exported(s, viewer, "plan", view.operation.id, "plan.csv")
    return Response(
        plan_csv(view, await names_by_id(s.db)),
        media_type="text/csv",
        headers={"content-disposition": _attachment(view, "plan.csv")},
    )


def _attachment(view: PlanView, suffix: str) -> str:
    return f'attachment; filename="{file_stem(view.operation.name)}-{suffix}"'


@router.patch("/{key}/deployments/{deployment_id}", response_model=PlanChange)
async def change_deployment(
    key: str, deployment_id: str, body: DeploymentChange, _: Supervisor, s: ServicesDep
) -> PlanChange:
    """Pin, unpin or move a deployment. A move that breaks a rule is refused (409
    rule_broken); the figures are recomputed, with warnings if it got more predictable."""
    return await s.plans.change(key, deployment_id, body)


@router.delete("/{key}/deployments/{deployment_id}", response_model=PlanChange)
async def delete_deployment(
    key: str, deployment_id: str, _: Supervisor, s: ServicesDep
) -> PlanChange:
    """Delete a planned deployment, or cancel a published, briefed or live one."""
    return await s.plans.delete_deployment(key, deployment_id)


@router.post("/{key}/publish", response_model=PlanView)
async def publish(key: str, viewer: Supervisor, s: ServicesDep) -> PlanView:
    """Publish the plan: the scheduler briefs, starts and stands down each deployment."""
    return await s.plans.publish(key, viewer)


@router.post("/{key}/cancel", response_model=PlanView)
async def cancel(key: str, _: Supervisor, s: ServicesDep) -> PlanView:
    """Cancel the operation: deployments not over are cancelled; alerts carry on."""
    return await s.plans.cancel(key)

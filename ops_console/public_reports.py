"""REST for the public's reports in the console, under /api/console/public-reports
(supervisors only): the reports of a period on a map, a place x hour-of-week heat table,
one report's detail with the reporter's contact, marking one spam or a duplicate, CSV and
GeoJSON exports, and each place's risk derived from them for an operation.

The period is when the reports say it happened, [since, until): the last
`DEFAULT_DAYS` days to now unless given. The detail (it shows the contact) is a
consultation in the audit trail, an export a disclosure, a mark an alteration; the list,
the heat table and the derivation show no one's words or contact and are not rows.
How the figures are worked out: `dispatch.public_reports.console_figures` and
`dispatch.planning.report_risk`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import Field

from dispatch.app_deps import ServicesDep
from dispatch.config import known_timezone
from dispatch.planning.report_risk import EXCLUDED, Area, Sighting, Weighting, derive, within
from dispatch.public_reports import console_reads as reads
from dispatch.public_reports.console_figures import (
    Grid,
    HeatRow,
    Located,
    NamedArea,
    grid_heat,
    place_heat,
    reports_csv,
    reports_geojson,
)
from dispatch.public_reports.models import KINDS, STATUSES
from dispatch.storage.models import Operation, Place
from dispatch.usecases.context import UseCaseError
from dispatch.usecases.operation_rows import route_of
from dispatch.usecases.operations import OperationCases
from ops_console.audit_trail import exported, viewed
from ops_console.deps import Supervisor
from schemas.common import Model, UtcDateTime
from schemas.errors import ErrorCode

router = APIRouter(prefix="/api/console/public-reports", tags=["public reports"])

DEFAULT_DAYS = 90
MAX_DAYS = 3660
# A period's bounds, given, fall within these (and arithmetic on them cannot overflow).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
LIST_LIMIT = 5000  # the newest; the exports have them all
GRID_M = 500.0  # the grid's squares when no operation is chosen


# -- bodies and views ------------------------------------------------------------------


class ReportRow(Model):
    id: str
    occurred_at: UtcDateTime
    received_at: UtcDateTime
    kind: str
    lat: float
    lon: float
    status: str
    duplicate_of: str | None
    demo: bool


class ReportList(Model):
    since: UtcDateTime
    until: UtcDateTime
    total: int
    reports: list[ReportRow] = Field(description=f"The newest {LIST_LIMIT}, oldest first.")


class ReportDetail(ReportRow):
    description: str
    vehicle_reg: str
    language: str
    status_by: str | None
    status_at: UtcDateTime | None
    contact: str | None = Field(description="How to reach the reporter, if she gave it.")
    duplicates: list[str] = Field(description="Reports marked duplicates of this one.")


class StatusIn(Model):
    status: str = Field(description="spam, duplicate, or new (undo a mark)")
    duplicate_of: str | None = Field(None, max_length=32)
    reason: str | None = Field(None, max_length=500)


class HeatRowView(Model):
    key: str
    name: str
    lat: float
    lon: float
    counts: list[int] = Field(description="168, by local hour of the week from Monday 00:00.")
    total: int


class HeatTable(Model):
    since: UtcDateTime
    until: UtcDateTime
    timezone: str
    rows_are: str = Field(description="places (an operation's) or squares (a grid)")
    operation_id: str | None
    square_m: float | None
    reports: int = Field(description="Reports in the period (of the kinds and statuses).")
    rows: list[HeatRowView]


class DerivedPlace(Model):
    place_id: str
    name: str
    reports: int
    weight: float = Field(description="The reports' age-weighted sum.")
    typed_risk: float
    typed_hourly: list[float] | None
    risk: float | None = Field(description="null: no report within any place.")
    hourly: list[float] | None = Field(description="null: flat (no report within the place).")


class DerivedRisk(Model):
    operation_id: str
    operation: str
    since: UtcDateTime
    until: UtcDateTime
    timezone: str
    half_life_days: float
    risk_floor: float
    hourly_floor: float
    scale: float = Field(description="The mean typed risk: the average place's derived risk.")
    reports: int = Field(description="Reports that count, within one place or more.")
    places: list[DerivedPlace]


# -- the query ---------------------------------------------------------------------------

Since = Annotated[
    datetime | None,
    Query(description=f"Happened at or after (ISO 8601 with a zone); default {DEFAULT_DAYS} "
          "days before until."),
]  # fmt: skip
Until = Annotated[datetime | None, Query(description="Happened before (default: now).")]
Kinds = Annotated[list[str] | None, Query(description="Repeat for several; none: every kind.")]
Statuses = Annotated[
    list[str] | None, Query(description="new, spam, duplicate; repeat; none: every status.")
]
OperationKey = Annotated[str | None, Query(max_length=100, description="An id or name.")]
Tz = Annotated[str | None, Query(max_length=64, description="IANA zone of the heat table.")]


def _aware(name: str, value: datetime | None) -> datetime | None:
    """A bound as given: with its zone, from 2000 to 2100 (else `invalid`)."""
    if value is None:
        return None
    if value.utcoffset() is None:
        raise UseCaseError(
            ErrorCode.INVALID, f"{name}: give the time with its zone, e.g. 2026-11-24T00:00:00Z."
        )
    if not EARLIEST <= value <= LATEST:
        raise UseCaseError(
            ErrorCode.INVALID,
            f"{name}: give a time from {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d}.",
        )
    return value


def _filter(
    s: ServicesDep,
    since: datetime | None,
    until: datetime | None,
    kinds: list[str] | None,
    statuses: list[str] | None,
) -> reads.Filter:
    since, until = _aware("since", since), _aware("until", until)
    until = until or s.dispatcher.clock()
    since = since or until - timedelta(days=DEFAULT_DAYS)
    if since >= until:
        raise UseCaseError(ErrorCode.INVALID, "until: must be after since.")
    if until - since > timedelta(days=MAX_DAYS):
        raise UseCaseError(ErrorCode.INVALID, f"since: the period is at most {MAX_DAYS} days.")
    for kind in kinds or ():
        if kind not in KINDS:
            raise UseCaseError(
                ErrorCode.INVALID, f"kind: {kind!r} is not one of {', '.join(KINDS)}."
            )
    for status in statuses or ():
        if status not in STATUSES:
            raise UseCaseError(
                ErrorCode.INVALID, f"status: {status!r} is not one of {', '.join(STATUSES)}."
            )
    return reads.Filter(
        since=since,
        until=until,
        kinds=frozenset(kinds) if kinds else None,
        statuses=frozenset(statuses) if statuses else None,
    )


@dataclass(frozen=True)
class OperationPlaces:
    operation: Operation
    places: list[Place]

    def named(self) -> list[NamedArea]:
        return [NamedArea(_area(p), p.name) for p in self.places]


def _area(p: Place) -> Area:
    route = route_of(p)
    return Area(p.id, p.lat, p.lon, p.radius_m, tuple(route) if route else None)


async def _operation(s: ServicesDep, key: str) -> OperationPlaces:
    async with s.db.session() as session:
        try:
            op = await OperationCases.operation(session, key)
        except UseCaseError:
            raise UseCaseError(
                ErrorCode.INVALID, f"operation: there is no operation {key!r}."
            ) from None
        return OperationPlaces(op, await OperationCases.places_of(session, op.id))


def _weighting(s: ServicesDep) -> Weighting:
    p = s.settings.public_reports
    return Weighting(
        half_life_days=p.half_life_days, risk_floor=p.risk_floor, hourly_floor=p.hourly_floor
    )


def _row(r: Located) -> ReportRow:
    return ReportRow(
        id=r.id,
        occurred_at=r.occurred_at,
        received_at=r.received_at,
        kind=r.kind,
        lat=r.lat,
        lon=r.lon,
        status=r.status,
        duplicate_of=r.duplicate_of,
        demo=r.demo,
    )


def _heat_view(row: HeatRow) -> HeatRowView:
    return HeatRowView(
        key=row.key,
        name=row.name,
        lat=row.lat,
        lon=row.lon,
        counts=list(row.counts),
        total=row.total,
    )


# -- routes (the fixed paths before /{report_id}) ---------------------------------------


@router.get("", response_model=ReportList)
async def list_reports(
    _: Supervisor,
    s: ServicesDep,
    since: Since = None,
    until: Until = None,
    kind: Kinds = None,
    status: Statuses = None,
) -> ReportList:
    """The reports that happened in the period (where, when, what kind, status): no one's
    words or contact (those are in the detail)."""
    f = _filter(s, since, until, kind, status)
    found = await reads.find(s.db, f)
    return ReportList(
        since=f.since,
        until=f.until,
        total=len(found),
        reports=[_row(r) for r in found[-LIST_LIMIT:]],
    )


@router.get("/heat", response_model=HeatTable)
async def heat(
    _: Supervisor,
    s: ServicesDep,
    since: Since = None,
    until: Until = None,
    kind: Kinds = None,
    status: Statuses = None,
    operation: OperationKey = None,
    tz: Tz = None,
) -> HeatTable:
    """Reports by place and local hour of the week: an operation's places when one is
    given (a report counts for each place it is within), else squares of 500 m (the
    busiest 40). Timezone: tz, else the operation's, else planning.timezone."""
    f = _filter(s, since, until, kind, status)
    op = await _operation(s, operation) if operation else None
    if tz:
        try:
            zone = known_timezone(tz)
        except ValueError as err:
            raise UseCaseError(ErrorCode.INVALID, f"tz: {err}.") from None
    else:
        zone = op.operation.timezone if op else s.settings.planning.timezone
    found = await reads.find(s.db, f)
    if op is not None:
        rows = place_heat(op.named(), found, ZoneInfo(zone), _weighting(s))
    else:
        centre = s.settings.public_reports
        rows = grid_heat(Grid(centre.centre_lat, centre.centre_lon, GRID_M), found, ZoneInfo(zone))
    return HeatTable(
        since=f.since,
        until=f.until,
        timezone=zone,
        rows_are="places" if op else "squares",
        operation_id=op.operation.id if op else None,
        square_m=None if op else GRID_M,
        reports=len(found),
        rows=[_heat_view(r) for r in rows],
    )


@router.get("/risk", response_model=DerivedRisk)
async def derived_risk(
    _: Supervisor,
    s: ServicesDep,
    operation: Annotated[str, Query(min_length=1, max_length=100)],
    since: Since = None,
    until: Until = None,
    kind: Kinds = None,
) -> DerivedRisk:
    """Each of the operation's places: its risk and hourly weights derived from the
    reports within it (spam and duplicates never count), beside the typed ones. Nothing
    changes: accepting is PATCH /api/operations/{key}/places."""
    f = _filter(s, since, until, kind, None)
    op = await _operation(s, operation)
    found = await reads.find(s.db, f)
    weighting = _weighting(s)
    areas = [_area(p) for p in op.places]
    scale = sum(p.risk for p in op.places) / len(op.places) if op.places else 1.0
    derived = derive(
        areas,
        [Sighting(r.lat, r.lon, r.occurred_at, r.kind, r.status) for r in found],
        since=f.since,
        until=f.until,
        timezone=op.operation.timezone,
        weighting=weighting,
        kinds=f.kinds,
        scale=scale,
    )
    counted = {
        r.id
        for r in found
        if r.status not in EXCLUDED and any(within(a, r.lat, r.lon, weighting) for a in areas)
    }
    views = []
    for place, d in zip(op.places, derived, strict=True):
        typed = place_hourly(place)
        views.append(
            DerivedPlace(
                place_id=place.id,
                name=place.name,
                reports=d.reports,
                weight=round(d.weight, 4),
                typed_risk=place.risk,
                typed_hourly=typed,
                risk=d.risk,
                hourly=list(d.hourly) if d.hourly is not None else None,
            )
        )
    return DerivedRisk(
        operation_id=op.operation.id,
        operation=op.operation.name,
        since=f.since,
        until=f.until,
        timezone=op.operation.timezone,
        half_life_days=weighting.half_life_days,
        risk_floor=weighting.risk_floor,
        hourly_floor=weighting.hourly_floor,
        scale=round(scale, 4),
        reports=len(counted),
        places=views,
    )


def place_hourly(place: Place) -> list[float] | None:
    return [float(v) for v in json.loads(place.hourly)] if place.hourly else None


async def _export(
    s: ServicesDep,
    viewer: Supervisor,
    since: datetime | None,
    until: datetime | None,
    kind: list[str] | None,
    status: list[str] | None,
    suffix: str,
) -> tuple[list[Located], str]:
    """The reports, and the file's content-disposition; the export's audit row."""
    f = _filter(s, since, until, kind, status)
    found = await reads.find(s.db, f)
    name = f"public-reports-{f.since:%Y-%m-%d}-to-{f.until:%Y-%m-%d}.{suffix}"
    await exported(s, viewer, "public_reports", f.describe(), f"{name}: {len(found)} reports")
    return found, f'attachment; filename="{name}"'


@router.get(".csv")
async def export_csv(
    viewer: Supervisor,
    s: ServicesDep,
    since: Since = None,
    until: Until = None,
    kind: Kinds = None,
    status: Statuses = None,
) -> Response:
    """Every report of the filter, oldest first, times in UTC; never the contact. The
    export is a disclosure in the audit trail."""
    found, disposition = await _export(s, viewer, since, until, kind, status, "csv")
    return Response(
        reports_csv(found), media_type="text/csv", headers={"content-disposition": disposition}
    )


@router.get(".geojson")
async def export_geojson(
    viewer: Supervisor,
    s: ServicesDep,
    since: Since = None,
    until: Until = None,
    kind: Kinds = None,
    status: Statuses = None,
) -> JSONResponse:
    """The same reports as a GeoJSON FeatureCollection of Points; never the contact."""
    found, disposition = await _export(s, viewer, since, until, kind, status, "geojson")
    return JSONResponse(
        reports_geojson(found),
        media_type="application/geo+json",
        headers={"content-disposition": disposition},
    )


async def _detail(s: ServicesDep, report_id: str) -> ReportDetail:
    d = await reads.detail(s.db, report_id)
    r = d.report
    return ReportDetail(
        **_row(reads.located(r)).model_dump(),
        description=r.description,
        vehicle_reg=r.vehicle_reg,
        language=r.language,
        status_by=r.status_by,
        status_at=r.status_at,
        contact=d.contact,
        duplicates=d.duplicates,
    )


@router.get("/{report_id}", response_model=ReportDetail)
async def report_detail(report_id: str, viewer: Supervisor, s: ServicesDep) -> ReportDetail:
    """One report with its words and the reporter's contact (if she gave one): a
    consultation in the audit trail."""
    view = await _detail(s, report_id)
    await viewed(s, viewer, "public_report", report_id, "with contact" if view.contact else None)
    return view


@router.post("/{report_id}/status", response_model=ReportDetail)
async def mark(report_id: str, body: StatusIn, viewer: Supervisor, s: ServicesDep) -> ReportDetail:
    """Mark the report spam, a duplicate of another (duplicate_of: not itself, not a
    duplicate), or new again. Spam and duplicates never count in the heat table's default
    view nor in derived risk. Audited as an alteration; a refusal changes nothing."""
    await reads.mark(
        s.db,
        viewer,
        now=s.dispatcher.clock(),
        report_id=report_id,
        status=body.status,
        duplicate_of=body.duplicate_of,
        reason=body.reason,
    )
    return await _detail(s, report_id)

"""Reports: counts, response times, outcomes, alerts by hour and by place, and the alerts
as CSV (supervisors only), for an operation, for any date range, or for both. The alerts
of an operation are those raised during one of its deployments; a date range without an
operation takes every alert raised in it, inside an operation or not. How the figures are
worked out: `report_figures`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Response

from dispatch.app_deps import ServicesDep
from dispatch.config import known_timezone
from dispatch.storage.models import Operation
from dispatch.usecases.context import UseCaseError
from dispatch.usecases.operations import OperationCases
from ops_console.alert_rows import ReportScope, report_facts
from ops_console.audit_trail import exported, viewed
from ops_console.deps import Supervisor
from ops_console.false_alarms import router as false_alarms_router
from ops_console.incidents import AlertRow, row_of
from ops_console.report_figures import AlertFacts, Spread, report, report_csv
from schemas.common import Model
from schemas.errors import ErrorCode

router = APIRouter(prefix="/api/console", tags=["console"])
router.include_router(false_alarms_router)  # GET /api/console/false-alarms

REPORT_ROWS = 100

PERCENTILE_METHOD = (
    "median: the middle value (the mean of the two middle ones for an even count); "
    "p90: nearest rank, the smallest time that at least 90% of the alerts met"
)


class SpreadView(Model):
    count: int
    median_s: float | None
    p90_s: float | None


class PlaceCount(Model):
    place: str
    alerts: int


class AlertReport(Model):
    operation_id: str | None  # None: every alert in the range, inside an operation or not
    operation: str | None
    since: datetime | None  # the range raised in, [since, until), when one was asked for
    until: datetime | None
    timezone: str  # the clock of by_hour and of the CSV's local times
    alerts: int
    urgent: int
    by_state: dict[str, int]
    outcomes: dict[str, int]
    accept: SpreadView  # raised -> first crew accepted (or assigned by hand)
    on_scene: SpreadView  # raised -> first crew on scene
    # From her press (her phone's clock, corrected): to received, first offer, accept.
    press_received: SpreadView = SpreadView(count=0, median_s=None, p90_s=None)
    press_offer: SpreadView = SpreadView(count=0, median_s=None, p90_s=None)
    press_accept: SpreadView = SpreadView(count=0, median_s=None, p90_s=None)
    by_hour: list[int]  # 24 counts, by the hour raised on the report's clock
    by_place: list[PlaceCount]
    method: str
    rows: list[AlertRow]  # the newest REPORT_ROWS, newest first; the CSV and the log have all
    rows_total: int
    # Drills: "real" (the default) leaves them out of every figure, "exercise" reports
    # them alone, "all" both; exercise_alerts counts the scope's drills whichever it is.
    exercises: str = "real"
    exercise_alerts: int = 0


@dataclass(frozen=True)
class Loaded:
    operation: Operation | None
    since: datetime | None
    until: datetime | None
    zone: str
    places: list[str]
    facts: list[AlertFacts]
    exercises: str = "real"
    exercise_alerts: int = 0


ExerciseFilter = Literal["real", "exercise", "all"]


def with_exercises(facts: list[AlertFacts], which: ExerciseFilter) -> list[AlertFacts]:
    """The facts a report counts: real alerts only (the default), drills only, or all."""
    if which == "all":
        return facts
    return [f for f in facts if f.exercise == (which == "exercise")]


def _spread(s: Spread) -> SpreadView:
    return SpreadView(count=s.count, median_s=s.median, p90_s=s.p90)


def _aware(name: str, value: datetime | None) -> datetime | None:
    if value is not None and value.utcoffset() is None:
        raise UseCaseError(
            ErrorCode.INVALID, f"{name}: give the time with its zone, e.g. 2026-11-24T00:00:00Z."
        )
    return value


def _zone(tz: str | None, operation: Operation | None, default: str) -> str:
    if tz:
        try:
            return known_timezone(tz)
        except ValueError as err:
            raise UseCaseError(ErrorCode.INVALID, f"tz: {err}.") from None
    return operation.timezone if operation is not None else default


async def _load(
    s: ServicesDep,
    *,
    key: str | None,
    since: datetime | None,
    until: datetime | None,
    tz: str | None,
    unknown_operation: ErrorCode = ErrorCode.INVALID,
    exercises: ExerciseFilter = "real",
) -> Loaded:
    """Check the scope, then read its alerts. Nothing is read for a bad request."""
    since, until = _aware("since", since), _aware("until", until)
    if since is not None and until is not None and since >= until:
        raise UseCaseError(ErrorCode.INVALID, "until: must be after since.")
    if not key and (since is None or until is None):
        raise UseCaseError(
            ErrorCode.INVALID,
            "since: give a date range (since and until), an operation, or both.",
        )
    async with s.db.session() as session:
        op: Operation | None = None
        places: list[str] = []
        if key:
            try:
                op = await OperationCases.operation(session, key)
            except UseCaseError:
                if unknown_operation == ErrorCode.NOT_FOUND:
                    raise
                raise UseCaseError(
                    ErrorCode.INVALID, f"operation: there is no operation {key!r}."
                ) from None
            places = [p.name for p in await OperationCases.places_of(session, op.id)]
        zone = _zone(tz, op, s.settings.planning.timezone)
        scope = ReportScope(op.id if op is not None else None, since, until)
        facts = await report_facts(session, scope)
    return Loaded(
        operation=op,
        since=since,
        until=until,
        zone=zone,
        places=places,
        facts=with_exercises(facts, exercises),
        exercises=exercises,
        exercise_alerts=sum(1 for f in facts if f.exercise),
    )


def _report(loaded: Loaded) -> AlertReport:
    facts, op = loaded.facts, loaded.operation
    figures = report(facts, ZoneInfo(loaded.zone), loaded.places)
    return AlertReport(
        operation_id=op.id if op is not None else None,
        operation=op.name if op is not None else None,
        since=loaded.since,
        until=loaded.until,
        timezone=loaded.zone,
        alerts=figures.alerts,
        urgent=figures.urgent,
        by_state=figures.by_state,
        outcomes=figures.outcomes,
        accept=_spread(figures.accept),
        on_scene=_spread(figures.on_scene),
        press_received=_spread(figures.press_received),
        press_offer=_spread(figures.press_offer),
        press_accept=_spread(figures.press_accept),
        by_hour=figures.by_hour,
        by_place=[PlaceCount(place=name, alerts=n) for name, n in figures.by_place],
        method=PERCENTILE_METHOD,
        rows=[row_of(f) for f in reversed(facts[-REPORT_ROWS:])],
        rows_total=len(facts),
        exercises=loaded.exercises,
        exercise_alerts=loaded.exercise_alerts,
    )


def _report_id(loaded: Loaded) -> str:
    """What a report covers, as the audit trail names it."""
    parts = [f"operation {loaded.operation.id}"] if loaded.operation is not None else []
    if loaded.since is not None:
        parts.append(f"since {loaded.since.isoformat()}")
    if loaded.until is not None:
        parts.append(f"until {loaded.until.isoformat()}")
    return " ".join(parts) or "all"


def _csv(loaded: Loaded) -> Response:
    zone = ZoneInfo(loaded.zone)
    if loaded.operation is not None:
        name = loaded.operation.id
    else:
        assert loaded.since is not None and loaded.until is not None
        name = (
            f"{loaded.since.astimezone(zone):%Y-%m-%d}-to-{loaded.until.astimezone(zone):%Y-%m-%d}"
        )
    return Response(
        report_csv(loaded.facts, zone),
        media_type="text/csv",
        headers={"content-disposition": f'attachment; filename="{name}-alerts.csv"'},
    )


Since = Annotated[
    datetime | None,
    Query(description="Raised at or after this instant (ISO 8601 with a zone; UTC: ...Z)."),
]
Until = Annotated[datetime | None, Query(description="Raised before this instant (exclusive).")]
OperationKey = Annotated[
    str | None, Query(max_length=100, description="An operation's id or name (optional).")
]
Exercises = Annotated[
    ExerciseFilter,
    Query(description="real (default): drills left out; exercise: drills only; all: both."),
]
Tz = Annotated[
    str | None,
    Query(
        max_length=64,
        description="IANA zone for by_hour and the CSV's local times; default: the "
        "operation's, else planning.timezone.",
    ),
]


@router.get("/report", response_model=AlertReport)
async def range_report(
    viewer: Supervisor,
    s: ServicesDep,
    since: Since = None,
    until: Until = None,
    operation: OperationKey = None,
    tz: Tz = None,
    exercises: Exercises = "real",
) -> AlertReport:
    """The figures of the alerts raised in [since, until), of one operation's or of all
    (those outside any operation too). Without an operation, since and until are needed;
    with one, either may be left out."""
    loaded = await _load(s, key=operation, since=since, until=until, tz=tz, exercises=exercises)
    await viewed(s, viewer, "report", _report_id(loaded))
    return _report(loaded)


@router.get("/report.csv")
async def range_report_csv(
    viewer: Supervisor,
    s: ServicesDep,
    since: Since = None,
    until: Until = None,
    operation: OperationKey = None,
    tz: Tz = None,
    exercises: Exercises = "real",
) -> Response:
    """One row per alert of the report, oldest first, with its response times."""
    loaded = await _load(s, key=operation, since=since, until=until, tz=tz, exercises=exercises)
    await exported(s, viewer, "report", _report_id(loaded), "report.csv")
    return _csv(loaded)


@router.get("/operations/{key}/report", response_model=AlertReport)
async def operation_report(
    key: str, viewer: Supervisor, s: ServicesDep, exercises: Exercises = "real"
) -> AlertReport:
    """The operation's figures (key: its id or name)."""
    loaded = await _load(
        s,
        key=key,
        since=None,
        until=None,
        tz=None,
        unknown_operation=ErrorCode.NOT_FOUND,
        exercises=exercises,
    )
    await viewed(s, viewer, "report", _report_id(loaded))
    return _report(loaded)


@router.get("/operations/{key}/report.csv")
async def operation_report_csv(
    key: str, viewer: Supervisor, s: ServicesDep, exercises: Exercises = "real"
) -> Response:
    """One row per alert of the operation, oldest first, with its response times."""
    loaded = await _load(
        s,
        key=key,
        since=None,
        until=None,
        tz=None,
        unknown_operation=ErrorCode.NOT_FOUND,
        exercises=exercises,
    )
    await exported(s, viewer, "report", _report_id(loaded), "report.csv")
    return _csv(loaded)

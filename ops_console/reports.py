"""Per-operation reports: counts, response times, outcomes, alerts by hour and by place,
and the alerts as CSV (supervisors only). The alerts of an operation are those raised
during one of its deployments. How the figures are worked out: `report_figures`."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter, Response

from dispatch.app_deps import ServicesDep
from dispatch.storage.models import Operation
from dispatch.usecases.operations import OperationCases
from ops_console.alert_rows import operation_facts
from ops_console.deps import Supervisor
from ops_console.incidents import AlertRow, row_of
from ops_console.report_figures import AlertFacts, Spread, report, report_csv
from schemas.common import Model

router = APIRouter(prefix="/api/console", tags=["console"])

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


class OperationReport(Model):
    operation_id: str
    operation: str
    timezone: str
    alerts: int
    urgent: int
    by_state: dict[str, int]
    outcomes: dict[str, int]
    accept: SpreadView  # raised -> first crew accepted (or assigned by hand)
    on_scene: SpreadView  # raised -> first crew on scene
    by_hour: list[int]  # 24 counts, by the hour raised on the operation's clock
    by_place: list[PlaceCount]
    method: str
    rows: list[AlertRow]  # the newest REPORT_ROWS, newest first; the CSV and the log have all
    rows_total: int


def _spread(s: Spread) -> SpreadView:
    return SpreadView(count=s.count, median_s=s.median, p90_s=s.p90)


async def _load(s: ServicesDep, key: str) -> tuple[Operation, list[str], list[AlertFacts]]:
    async with s.db.session() as session:
        op = await OperationCases.operation(session, key)  # 404 for an unknown one
        places = [p.name for p in await OperationCases.places_of(session, op.id)]
        facts = await operation_facts(session, op)
    return op, places, facts


@router.get("/operations/{key}/report", response_model=OperationReport)
async def operation_report(key: str, _: Supervisor, s: ServicesDep) -> OperationReport:
    """The operation's figures (key: its id or name)."""
    op, places, facts = await _load(s, key)
    figures = report(facts, ZoneInfo(op.timezone), places)
    return OperationReport(
        operation_id=op.id,
        operation=op.name,
        timezone=op.timezone,
        alerts=figures.alerts,
        urgent=figures.urgent,
        by_state=figures.by_state,
        outcomes=figures.outcomes,
        accept=_spread(figures.accept),
        on_scene=_spread(figures.on_scene),
        by_hour=figures.by_hour,
        by_place=[PlaceCount(place=name, alerts=n) for name, n in figures.by_place],
        method=PERCENTILE_METHOD,
        rows=[row_of(f) for f in reversed(facts[-REPORT_ROWS:])],
        rows_total=len(facts),
    )


@router.get("/operations/{key}/report.csv")
async def operation_report_csv(key: str, _: Supervisor, s: ServicesDep) -> Response:
    """One row per alert of the operation, oldest first, with its response times."""
    op, _places, facts = await _load(s, key)
    return Response(
        report_csv(facts, ZoneInfo(op.timezone)),
        media_type="text/csv",
        headers={"content-disposition": f'attachment; filename="{op.id}-alerts.csv"'},
    )

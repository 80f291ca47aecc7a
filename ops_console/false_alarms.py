"""The false-alarm report (supervisors only): cancelled and false-alarm alerts per officer
and per operation over the last `incidents.false_alarm_months` months, rolling from now,
officers at `incidents.false_alarm_limit` or more flagged. Drills never count. How they
are counted: `false_alarm_figures`."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from sqlalchemy import or_
from sqlalchemy import select as select_columns
from sqlmodel import col

from dispatch.app_deps import ServicesDep
from dispatch.storage.models import Alert, Deployment, Operation, User
from ops_console.audit_trail import viewed
from ops_console.deps import Supervisor
from ops_console.false_alarm_figures import (
    CANCELLED,
    FALSE_ALARM,
    AlarmFacts,
    Tally,
    false_alarms,
    months_before,
)
from schemas.common import Model

router = APIRouter()  # included in the reports' router, under /api/console


class TallyView(Model):
    id: str | None  # the officer's or the operation's id (None: outside any operation)
    name: str
    cancelled: int
    false_alarm_outcomes: int
    false_alarms: int  # cancelled + false-alarm outcomes
    flagged: bool


class FalseAlarmReport(Model):
    since: datetime
    until: datetime
    months: int
    limit: int
    officers: list[TallyView]
    operations: list[TallyView]
    rule: str


RULE = (
    "an alert counts when it was cancelled (by the officer or a supervisor) or closed as a "
    "false alarm; exercises and crews' calls for help never count; an officer with {limit} "
    "or more in {months} months is flagged"
)


def _view(t: Tally) -> TallyView:
    return TallyView(
        id=t.key or None,
        name=t.name,
        cancelled=t.cancelled,
        false_alarm_outcomes=t.false_alarm_outcomes,
        false_alarms=t.false_alarms,
        flagged=t.flagged,
    )


@router.get("/false-alarms", response_model=FalseAlarmReport)
async def false_alarm_report(viewer: Supervisor, s: ServicesDep) -> FalseAlarmReport:
    """Cancelled and false-alarm alerts per officer and per operation, last 12 months."""
    cfg = s.settings.incidents
    now = s.dispatcher.clock()
    since = months_before(now, cfg.false_alarm_months)
    query = (
        select_columns(
            col(Alert.raised_at),
            col(Alert.state),
            col(Alert.outcome),
            col(Alert.officer_id),
            col(User.display_name),
            col(Operation.id),
            col(Operation.name),
            col(Alert.exercise),
            col(Alert.origin),
        )
        .join(User, col(User.id) == col(Alert.officer_id))
        .outerjoin(Deployment, col(Deployment.id) == col(Alert.deployment_id))
        .outerjoin(Operation, col(Operation.id) == col(Deployment.operation_id))
        .where(col(Alert.raised_at) > since, col(Alert.raised_at) <= now)
        .where(or_(col(Alert.state) == CANCELLED, col(Alert.outcome) == FALSE_ALARM))
    )
    async with s.db.session() as session:
        rows = (await (await session.connection()).execute(query)).all()
    facts = [AlarmFacts(*row) for row in rows]
    figures = false_alarms(
        facts, now=now, months=cfg.false_alarm_months, limit=cfg.false_alarm_limit
    )
    await viewed(s, viewer, "report", f"false alarms since {since.isoformat()}")
    return FalseAlarmReport(
        since=figures.since,
        until=figures.until,
        months=cfg.false_alarm_months,
        limit=figures.limit,
        officers=[_view(t) for t in figures.officers],
        operations=[_view(t) for t in figures.operations],
        rule=RULE.format(limit=figures.limit, months=cfg.false_alarm_months),
    )

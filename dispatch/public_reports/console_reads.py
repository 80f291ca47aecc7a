"""The console's read model of the public's reports, and the one change supervisors make
to them: marking a report spam, a duplicate of another, or new again (audited in the
same transaction as the change)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from dispatch.audit import Action, by, record
from dispatch.auth.sessions import Viewer
from dispatch.public_reports.console_figures import Located
from dispatch.public_reports.models import STATUSES, PublicReport, PublicReportContact
from dispatch.storage.db import Database
from dispatch.usecases.context import UseCaseError
from schemas.errors import ErrorCode

NEW, SPAM, DUPLICATE = "new", "spam", "duplicate"


@dataclass(frozen=True, slots=True)
class Filter:
    """Reports that happened in [since, until), of these kinds and statuses (None: any)."""

    since: datetime
    until: datetime
    kinds: frozenset[str] | None = None
    statuses: frozenset[str] | None = None

    def describe(self) -> str:
        parts = [f"occurred {self.since.isoformat()} to {self.until.isoformat()}"]
        if self.kinds:
            parts.append("kinds " + ",".join(sorted(self.kinds)))
        if self.statuses:
            parts.append("status " + ",".join(sorted(self.statuses)))
        return "; ".join(parts)


def located(r: PublicReport) -> Located:
    return Located(
        id=r.id,
        lat=r.lat,
        lon=r.lon,
        occurred_at=r.occurred_at,
        received_at=r.received_at,
        kind=r.kind,
        status=r.status,
        duplicate_of=r.duplicate_of,
        description=r.description,
        vehicle_reg=r.vehicle_reg,
        language=r.language,
        demo=r.demo,
    )


async def find(db: Database, f: Filter) -> list[Located]:
    """The reports matching `f`, oldest first."""
    query = select(PublicReport).where(
        col(PublicReport.occurred_at) >= f.since, col(PublicReport.occurred_at) < f.until
    )
    if f.kinds is not None:
        query = query.where(col(PublicReport.kind).in_(sorted(f.kinds)))
    if f.statuses is not None:
        query = query.where(col(PublicReport.status).in_(sorted(f.statuses)))
    query = query.order_by(col(PublicReport.occurred_at), col(PublicReport.id))
    async with db.session() as s:
        return [located(r) for r in (await s.exec(query)).all()]


@dataclass(frozen=True, slots=True)
class Detail:
    report: PublicReport
    contact: str | None
    duplicates: list[str]  # ids of the reports marked duplicates of this one


async def detail(db: Database, report_id: str) -> Detail:
    async with db.session() as s:
        report = await s.get(PublicReport, report_id)
        if report is None:
            raise UseCaseError(ErrorCode.NOT_FOUND, f"There is no report {report_id!r}.")
        contact = await s.get(PublicReportContact, report_id)
        copies = await s.exec(
            select(PublicReport.id)
            .where(PublicReport.duplicate_of == report_id)
            .order_by(col(PublicReport.id))
        )
        return Detail(report, contact.contact if contact else None, list(copies.all()))


async def mark(
    db: Database,
    viewer: Viewer,
    *,
    now: datetime,
    report_id: str,
    status: str,
    duplicate_of: str | None,
    reason: str | None = None,
) -> bool:
    """Set a report's status. A duplicate names an existing report, not itself, that is
    not a duplicate (point at the original); a report others are duplicates of cannot
    become one. Returns False when nothing changed (no audit row then). Refusals change
    nothing."""
    if status not in STATUSES:
        raise UseCaseError(
            ErrorCode.INVALID, f"status: {status!r} is not one of {', '.join(STATUSES)}."
        )
    if status == DUPLICATE and not duplicate_of:
        raise UseCaseError(ErrorCode.INVALID, "duplicate_of: name the report this one duplicates.")
    if status != DUPLICATE and duplicate_of:
        raise UseCaseError(
            ErrorCode.INVALID, "duplicate_of: only a report marked duplicate names another."
        )
    async with db.session() as s:
        report = await s.get(PublicReport, report_id)
        if report is None:
            raise UseCaseError(ErrorCode.NOT_FOUND, f"There is no report {report_id!r}.")
        if duplicate_of is not None:
            if duplicate_of == report_id:
                raise UseCaseError(
                    ErrorCode.INVALID, "duplicate_of: a report cannot be a duplicate of itself."
                )
            original = await s.get(PublicReport, duplicate_of)
            if original is None:
                raise UseCaseError(
                    ErrorCode.INVALID, f"duplicate_of: there is no report {duplicate_of!r}."
                )
            if original.status == DUPLICATE:
                raise UseCaseError(
                    ErrorCode.INVALID,
                    f"duplicate_of: {duplicate_of} is itself a duplicate of "
                    f"{original.duplicate_of}: name that one.",
                )
            copies = await s.exec(
                select(PublicReport.id).where(PublicReport.duplicate_of == report_id).limit(1)
            )
            if copies.first() is not None:
                raise UseCaseError(
                    ErrorCode.CONFLICT,
                    "Other reports are marked duplicates of this one: it cannot be a "
                    "duplicate itself (mark them new first).",
                )
        if report.status == status and report.duplicate_of == duplicate_of:
            return False
        before = report.status
        report.status, report.duplicate_of = status, duplicate_of
        report.status_by, report.status_at = viewer.user_id, now
        s.add(report)
        what = f"duplicate of {duplicate_of}" if duplicate_of else status
        await record(
            s,
            at=now,
            action=Action.ALTERATION,
            object_type="public_report",
            object_id=report_id,
            reason=reason or None,
            detail=f"marked {what} (was {before})",
            **by(viewer),
        )
        await s.commit()
    return True

"""REST for the audit trail, under /api/console (auditors only): search by person, object
and time, newest first, and the same search as CSV (the export is itself audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, cast

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from sqlmodel import Session

from dispatch.app_deps import CurrentViewer, ServicesDep
from dispatch.audit import Action, by, record
from dispatch.audit.models import AuditRow
from dispatch.audit.search import AuditSearch, find, names, to_csv
from dispatch.auth.sessions import Viewer
from dispatch.usecases.context import UseCaseError
from schemas.common import Model, Role
from schemas.errors import ErrorCode

router = APIRouter(prefix="/api/console", tags=["audit"])
EXPORT_LIMIT = 100_000


def _auditor(viewer: CurrentViewer) -> Viewer:
    if viewer.role != Role.AUDITOR:
        raise HTTPException(
            status_code=403,
            detail={
                "code": ErrorCode.FORBIDDEN,
                "message": "The audit trail is for auditors only.",
            },
        )
    return viewer


Auditor = Annotated[Viewer, Depends(_auditor)]


class AuditEntry(Model):
    seq: int
    at: datetime
    actor: str
    username: str | None
    role: str
    action: str
    object_type: str
    object_id: str
    reason: str | None
    detail: str | None
    hash: str


class AuditPage(Model):
    rows: list[AuditEntry]
    next_before: int | None  # give it back as `before` for the next, older page


def _search(
    person: Annotated[str, Query(max_length=100)] = "",
    object_type: Annotated[str, Query(max_length=32)] = "",
    object_id: Annotated[str, Query(max_length=200)] = "",
    action: Annotated[str, Query(max_length=16)] = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditSearch:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.utcoffset() is None:
            raise UseCaseError(
                ErrorCode.INVALID,
                f"{name}: give the time with its zone, e.g. 2026-11-24T20:00:00Z.",
            )
    if since is not None and until is not None and since >= until:
        raise UseCaseError(ErrorCode.INVALID, "until: must be after since.")
    if action and action not in {a.value for a in Action}:
        choices = ", ".join(a.value for a in Action)
        raise UseCaseError(ErrorCode.INVALID, f"action: {action!r} is not one of {choices}.")
    return AuditSearch(person.strip(), object_type.strip(), object_id.strip(), action, since, until)


SearchDep = Annotated[AuditSearch, Depends(_search)]


@router.get("/audit", response_model=AuditPage)
async def audit_rows(
    _: Auditor,
    s: ServicesDep,
    search: SearchDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> AuditPage:
    """Rows that match every filter given, newest first. `person` is a username, display
    name or user id (or `system`); `since`/`until` bound the time (ISO 8601 with a zone)."""

    def read(session: Session) -> tuple[list[AuditRow], dict[str, str]]:
        rows = find(session, search, limit=limit + 1, before=before)
        return rows, names(session, rows)

    async with s.db.session() as session:
        rows, usernames = await session.run_sync(lambda ss: read(cast(Session, ss)))
    page = rows[:limit]
    return AuditPage(
        rows=[
            AuditEntry(
                seq=r.seq,
                at=r.at,
                actor=r.actor,
                username=usernames.get(r.actor),
                role=r.role,
                action=r.action,
                object_type=r.object_type,
                object_id=r.object_id,
                reason=r.reason,
                detail=r.detail,
                hash=r.hash,
            )
            for r in page
        ],
        next_before=page[-1].seq if len(rows) > limit and page else None,
    )


@router.get("/audit.csv")
async def audit_csv(viewer: Auditor, s: ServicesDep, search: SearchDep) -> Response:
    """The rows of the search as CSV (newest first); the export is a row of the trail."""
    async with s.db.session() as session:

        def read(ss: Session) -> str:
            rows = find(ss, search, limit=EXPORT_LIMIT)
            return to_csv(rows, names(ss, rows))

        text = await session.run_sync(lambda ss: read(cast(Session, ss)))
        await record(
            session,
            at=s.dispatcher.clock(),
            action=Action.DISCLOSURE,
            object_type="audit_trail",
            object_id="export.csv",
            detail=search.describe(),
            **by(viewer),
        )
        await session.commit()
    return Response(
        text,
        media_type="text/csv",
        headers={"content-disposition": 'attachment; filename="audit.csv"'},
    )

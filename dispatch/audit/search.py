"""Reading the trail for the auditor: rows by person, object and time, newest first."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from dispatch.audit.chain import utc_text
from dispatch.audit.models import AuditRow
from dispatch.storage.models import User


@dataclass(frozen=True)
class AuditSearch:
    person: str = ""  # a username, display name or user id (any case); "system" too
    object_type: str = ""
    object_id: str = ""
    action: str = ""
    since: datetime | None = None
    until: datetime | None = None

    def describe(self) -> str:
        """The search in a line (kept on the export's own audit row)."""
        parts = [
            f"{name}={value}"
            for name, value in (
                ("person", self.person),
                ("object_type", self.object_type),
                ("object_id", self.object_id),
                ("action", self.action),
                ("since", utc_text(self.since) if self.since else ""),
                ("until", utc_text(self.until) if self.until else ""),
            )
            if value
        ]
        return " ".join(parts) or "everything"


def _people(session: Session, person: str) -> list[str]:
    lowered = person.lower()
    ids = session.exec(
        select(User.id).where(
            or_(
                func.lower(col(User.username)) == lowered,
                func.lower(col(User.display_name)) == lowered,
                col(User.id) == person,
            )
        )
    ).all()
    return [*ids, person]  # a deleted account's id, or "system", matches itself


def find(
    session: Session, search: AuditSearch, *, limit: int, before: int | None = None
) -> list[AuditRow]:
    query = select(AuditRow)
    if search.person:
        query = query.where(col(AuditRow.actor).in_(_people(session, search.person)))
    if search.object_type:
        query = query.where(AuditRow.object_type == search.object_type)
    if search.object_id:
        query = query.where(AuditRow.object_id == search.object_id)
    if search.action:
        query = query.where(AuditRow.action == search.action)
    if search.since is not None:
        query = query.where(col(AuditRow.at) >= search.since)
    if search.until is not None:
        query = query.where(col(AuditRow.at) < search.until)
    if before is not None:
        query = query.where(col(AuditRow.seq) < before)
    return list(session.exec(query.order_by(col(AuditRow.seq).desc()).limit(limit)).all())


def names(session: Session, rows: Sequence[AuditRow]) -> dict[str, str]:
    """Each actor's username, by id."""
    ids = {r.actor for r in rows}
    found = session.exec(select(User.id, User.username).where(col(User.id).in_(ids))).all()
    return dict(found)


COLUMNS = (
    "seq", "at", "actor", "username", "role", "action", "object_type", "object_id",
    "reason", "detail", "prev_hash", "hash",
)  # fmt: skip


def to_csv(rows: Sequence[AuditRow], usernames: dict[str, str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r.seq,
                utc_text(r.at),
                r.actor,
                usernames.get(r.actor, ""),
                r.role,
                r.action,
                r.object_type,
                r.object_id,
                _cell(r.reason),
                _cell(r.detail),
                r.prev_hash,
                r.hash,
            ]
        )
    return out.getvalue()


def _cell(text: str | None) -> str:
    """No formula a spreadsheet would run."""
    if not text:
        return ""
    return "'" + text if text[0] in "=+-@\t\r" else text

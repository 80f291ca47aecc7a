"""Retention: what is past its time goes, and each erasure is a row of the audit trail.

What is kept, and for how long (`[retention]` in config.toml; 0 keeps for ever):
- crews' last positions (the only positions kept outside incidents: an officer's are
  stored only as her alert's track): cleared once older than `crew_positions_h`, unless
  the crew is working an alert;
- incident tracks (`AlertTrack`): deleted `incident_tracks_days` after the alert closed;
- closed alerts' personal fields: the officer's note, the outcome note, the close
  reason and the supervisors' note texts are emptied, and the alert's position rounded
  to 0.01 degree (about 1 km, enough for reports by area), `alert_personal_days` after
  it closed; the alert itself, its times and outcome stay for the figures;
- events (replayed to reconnecting phones; they carry alert views): deleted after
  `events_days` (the count limit `realtime.event_retention` still applies);
- the audit trail itself: rows older than `audit_days` are deleted from the oldest on,
  and the number and hash of the last one deleted are kept as the chain's checkpoint;
  the purge's own erasure row (written after them, so part of the chain) repeats that
  checkpoint, so `verify` starts from it and can tell a purge from a removal.

One transaction does it all; `dry_run` reads the same and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from dispatch.audit.chain import SYSTEM, Action, ensure_chain, record_in
from dispatch.audit.models import CHAIN, AuditChain, AuditRow
from dispatch.audit.verify import TRAIL, checkpoint_detail
from dispatch.storage.models import Alert, AlertNote, AlertTrack, Crew, Event

COORDINATE_DECIMALS = 2  # about 1.1 km of latitude


@dataclass(frozen=True)
class Keep:
    """How long each kind is kept (0: for ever)."""

    crew_positions_h: float = 24
    incident_tracks_days: float = 365
    alert_personal_days: float = 365
    events_days: float = 30
    audit_days: float = 2190


@dataclass(frozen=True)
class Erasure:
    object_type: str
    object_id: str
    detail: str


@dataclass
class Purge:
    at: datetime
    dry_run: bool
    erasures: list[Erasure] = field(default_factory=list)

    def lines(self) -> list[str]:
        verb = "would erase" if self.dry_run else "erased"
        if not self.erasures:
            return [f"Nothing is past its time ({self.at.isoformat()})."]
        return [f"{verb} {e.object_type} {e.object_id}: {e.detail}" for e in self.erasures]


def _before(now: datetime, hours: float) -> datetime | None:
    return now - timedelta(hours=hours) if hours > 0 else None


def purge_in(session: Session, keep: Keep, now: datetime, *, dry_run: bool) -> Purge:
    """Find (and unless `dry_run`, erase) what is past its time, in the caller's
    transaction; each erasure gets its row in the audit trail."""
    result = Purge(now, dry_run)
    steps: tuple[tuple[float, Callable[[Session, datetime, Purge], None]], ...] = (
        (keep.audit_days * 24, _audit_trail),  # first: the rows below come after it
        (keep.crew_positions_h, _crew_positions),
        (keep.incident_tracks_days * 24, _incident_tracks),
        (keep.alert_personal_days * 24, _alert_fields),
        (keep.events_days * 24, _events),
    )
    for hours, step in steps:
        cutoff = _before(now, hours)
        if cutoff is not None:
            step(session, cutoff, result)
    if not dry_run:
        for e in result.erasures:
            record_in(
                session,
                at=now,
                actor=SYSTEM,
                role=SYSTEM,
                action=Action.ERASURE,
                object_type=e.object_type,
                object_id=e.object_id,
                detail=e.detail,
            )
    return result


def _audit_trail(session: Session, cutoff: datetime, result: Purge) -> None:
    last = session.exec(select(func.max(AuditRow.seq)).where(col(AuditRow.at) < cutoff)).one()
    if last is None:
        return
    conn = session.connection()
    ensure_chain(conn)
    chain = session.get(AuditChain, CHAIN, with_for_update=True)
    assert chain is not None
    if last <= chain.base_seq:
        return
    row = session.get(AuditRow, last)
    assert row is not None
    first, hashed = chain.base_seq + 1, row.hash
    result.erasures.append(Erasure(TRAIL, f"{first}-{last}", checkpoint_detail(last, hashed)))
    if result.dry_run:
        return
    conn.execute(delete(AuditRow).where(col(AuditRow.seq) <= last))
    chain.base_seq, chain.base_hash = last, hashed
    session.add(chain)
    session.flush()


def _crew_positions(session: Session, cutoff: datetime, result: Purge) -> None:
    crews = session.exec(
        select(Crew.id).where(col(Crew.last_fix_at) < cutoff, col(Crew.alert_id).is_(None))
    ).all()
    for crew_id in crews:
        result.erasures.append(Erasure("crew_position", crew_id, "last position cleared"))
    if crews and not result.dry_run:
        session.connection().execute(
            update(Crew)
            .where(col(Crew.id).in_(crews))
            .values(last_lat=None, last_lon=None, last_accuracy=None, last_fix_at=None)
        )


def _closed_before(cutoff: datetime) -> Any:
    return select(Alert.id).where(col(Alert.closed_at).is_not(None), col(Alert.closed_at) < cutoff)


def _incident_tracks(session: Session, cutoff: datetime, result: Purge) -> None:
    counts = session.exec(
        select(AlertTrack.alert_id, func.count())
        .where(col(AlertTrack.alert_id).in_(_closed_before(cutoff)))
        .group_by(col(AlertTrack.alert_id))
        .order_by(col(AlertTrack.alert_id))
    ).all()
    for alert_id, n in counts:
        result.erasures.append(Erasure("alert_track", alert_id, f"{n} positions deleted"))
    if counts and not result.dry_run:
        ids = [a for a, _ in counts]
        session.connection().execute(delete(AlertTrack).where(col(AlertTrack.alert_id).in_(ids)))


def _rounded(value: float) -> float:
    return round(value, COORDINATE_DECIMALS)


def _alert_fields(session: Session, cutoff: datetime, result: Purge) -> None:
    alerts = session.exec(
        select(Alert)
        .where(col(Alert.closed_at).is_not(None), col(Alert.closed_at) < cutoff)
        .order_by(col(Alert.closed_at))
    ).all()
    noted = set(
        session.exec(
            select(AlertNote.alert_id)
            .where(col(AlertNote.alert_id).in_(_closed_before(cutoff)), AlertNote.text != "")
            .distinct()
        ).all()
    )
    for alert in alerts:
        personal = [
            name
            for name, present in (
                ("note", alert.note is not None),
                ("outcome_note", alert.outcome_note is not None),
                ("close_reason", alert.close_reason is not None),
                ("note texts", alert.id in noted),
                ("position", _rounded(alert.lat) != alert.lat or _rounded(alert.lon) != alert.lon),
                ("accuracy", alert.accuracy is not None),
            )
            if present
        ]
        if not personal:
            continue
        result.erasures.append(
            Erasure("alert_personal", alert.id, "cleared: " + ", ".join(personal))
        )
        if result.dry_run:
            continue
        alert.note = alert.outcome_note = alert.close_reason = None
        alert.lat, alert.lon, alert.accuracy = _rounded(alert.lat), _rounded(alert.lon), None
        session.add(alert)
        if alert.id in noted:
            session.connection().execute(
                update(AlertNote).where(col(AlertNote.alert_id) == alert.id).values(text="")
            )
    session.flush()


def _events(session: Session, cutoff: datetime, result: Purge) -> None:
    n = session.exec(select(func.count()).select_from(Event).where(col(Event.at) < cutoff)).one()
    if not n:
        return
    result.erasures.append(Erasure("events", f"before {cutoff.isoformat()}", f"{n} deleted"))
    if not result.dry_run:
        session.connection().execute(delete(Event).where(col(Event.at) < cutoff))

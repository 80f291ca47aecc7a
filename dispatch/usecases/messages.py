"""Incident messages between supervisors and the crews on an alert, a supervisor's
discreet signal to the alert's officer, and marking an alert as an exercise (a drill).

The officer is never in a message's audience: a message event names only the crews
that see it (supervisors see every one). Her signal is an event for her alone, which
her page turns into a vibration with no words.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar

from sqlmodel import Session, col, select

from dispatch.audit import Action, by
from dispatch.auth.sessions import Viewer
from dispatch.core.lifecycle import is_open_alert
from dispatch.core.messages import (
    MessageRefused,
    compose,
    may_message,
    message_crews,
    signal_pattern,
)
from dispatch.realtime.events import KIND_MESSAGE, KIND_SIGNAL, PendingEvent
from dispatch.storage.models import Alert, AlertNote, Crew, IncidentMessage, User
from dispatch.usecases.context import Context, UseCaseError
from dispatch.usecases.views import DURESS_MARK, alert_view
from dispatch.usecases.work import Tx, is_active_assignment
from schemas.client import AlertExercise, MessageSend, OfficerSignal
from schemas.common import Role
from schemas.errors import ErrorCode
from schemas.server import SignalView
from schemas.views import AlertState, AlertView, MessageView

NO_SUCH_ALERT = "No such alert."
T = TypeVar("T")


def message_view(row: IncidentMessage) -> MessageView:
    return MessageView(
        id=row.id,
        alert_id=row.alert_id,
        at=row.at,
        role="crew" if row.crew_id is not None else "supervisor",
        author=row.author,
        crew_id=row.crew_id,
        quick=row.quick,
        text=row.text,
    )


def messages_of(session: Session, alert_ids: list[str]) -> list[MessageView]:
    """The messages on these alerts, oldest first (a snapshot's)."""
    if not alert_ids:
        return []
    rows = session.exec(
        select(IncidentMessage)
        .where(col(IncidentMessage.alert_id).in_(alert_ids))
        .order_by(col(IncidentMessage.at), col(IncidentMessage.id))
    ).all()
    return [message_view(r) for r in rows]


class Messages:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def _on_alert(self, alert_id: str, fn: Callable[[Tx], T]) -> T:
        async with self.ctx.locks.hold(alert_id):
            return await self.ctx.transact(fn)

    @staticmethod
    def _crews_on(tx: Tx, alert: Alert) -> tuple[str, ...]:
        attached = [c.id for o, c in tx.attached(alert.id) if is_active_assignment(o)]
        return message_crews(attached, alert.help_crew_id)

    async def send(self, viewer: Viewer, msg: MessageSend) -> MessageView:
        """Store a message on an open alert and send it to its audience."""
        max_chars = self.ctx.settings.incidents.message_max_chars
        try:
            composed = compose(msg.quick, msg.text, max_chars=max_chars)
        except MessageRefused as exc:
            raise UseCaseError(ErrorCode.INVALID, f"{exc.field}: {exc.sentence}") from None

        def send(tx: Tx) -> MessageView:
            alert = tx.session.get(Alert, msg.alert_id)
            if alert is None:
                raise UseCaseError(ErrorCode.NOT_FOUND, NO_SUCH_ALERT)
            crews = self._crews_on(tx, alert)
            if not may_message(
                role=viewer.role.value,
                crew_id=viewer.crew_id,
                attached=crews,
                help_crew_id=alert.help_crew_id,
            ):
                raise UseCaseError(ErrorCode.NOT_FOUND, NO_SUCH_ALERT)  # not hers to know of
            if not is_open_alert(AlertState(alert.state)):
                raise UseCaseError(
                    ErrorCode.ILLEGAL_TRANSITION,
                    f"This alert is already {alert.state}: messages go on open alerts only.",
                )
            row = IncidentMessage(
                id=uuid.uuid4().hex,
                alert_id=alert.id,
                at=tx.now,
                user_id=viewer.user_id,
                crew_id=viewer.crew_id if viewer.role == Role.CREW else None,
                author=self._author(tx, viewer),
                quick=composed.quick,
                text=composed.text,
            )
            tx.session.add(row)
            tx.audit(
                at=tx.now,
                action=Action.COLLECTION,
                object_type="incident_message",
                object_id=row.id,
                detail=f"message on alert {alert.id}",
                **by(viewer),
            )
            view = message_view(row)
            tx.pending.append(
                PendingEvent(KIND_MESSAGE, alert.id, view.model_dump_json(), None, crews)
            )
            return view

        return await self._on_alert(msg.alert_id, send)

    @staticmethod
    def _author(tx: Tx, viewer: Viewer) -> str:
        if viewer.role == Role.CREW and viewer.crew_id is not None:
            crew = tx.session.get(Crew, viewer.crew_id)
            if crew is not None:
                return crew.callsign
        user = tx.session.get(User, viewer.user_id)
        return user.display_name if user is not None else viewer.username

    async def signal(self, viewer: Viewer, msg: OfficerSignal) -> SignalView:
        """A supervisor's vibration code to the alert's officer (her only)."""
        try:
            pattern = signal_pattern(msg.code)
        except MessageRefused as exc:
            raise UseCaseError(ErrorCode.INVALID, f"{exc.field}: {exc.sentence}") from None

        def send(tx: Tx) -> SignalView:
            alert = tx.session.get(Alert, msg.alert_id)
            if alert is None:
                raise UseCaseError(ErrorCode.NOT_FOUND, NO_SUCH_ALERT)
            if not is_open_alert(AlertState(alert.state)):
                raise UseCaseError(
                    ErrorCode.ILLEGAL_TRANSITION, f"This alert is already {alert.state}."
                )
            if alert.help_crew_id is not None:
                raise UseCaseError(
                    ErrorCode.INVALID, "code: a crew's call for help has no officer to signal."
                )
            if (alert.note or "").startswith(DURESS_MARK):
                # Her phone showed a cancel: it must do nothing more that someone holding
                # it could notice.
                raise UseCaseError(
                    ErrorCode.FORBIDDEN,
                    "She cancelled under duress: her phone shows nothing more. Use the radio.",
                )
            tx.session.add(
                AlertNote(
                    alert_id=alert.id,
                    at=tx.now,
                    user_id=viewer.user_id,
                    action="signal",
                    text=f"Vibration code to the officer: {msg.code}.",
                )
            )
            view = SignalView(code=msg.code, pattern=list(pattern), alert_id=alert.id, at=tx.now)
            tx.pending.append(
                PendingEvent(
                    KIND_SIGNAL, alert.id, view.model_dump_json(), None, (), (alert.officer_id,)
                )
            )
            return view

        return await self._on_alert(msg.alert_id, send)

    async def mark_exercise(self, viewer: Viewer, msg: AlertExercise) -> AlertView:
        """A supervisor marks an alert (open or closed) as an exercise, or as real again:
        kept with the reason; open offers go out again with the mark."""

        def mark(tx: Tx) -> AlertView:
            alert = tx.session.get(Alert, msg.alert_id, with_for_update=True)
            if alert is None:
                raise UseCaseError(ErrorCode.NOT_FOUND, NO_SUCH_ALERT)
            attached = tx.attached(alert.id)
            if alert.exercise == msg.exercise:
                return alert_view(alert, attached)
            alert.exercise, alert.updated_at = msg.exercise, tx.now
            tx.session.add(alert)
            tx.session.add(
                AlertNote(
                    alert_id=alert.id,
                    at=tx.now,
                    user_id=viewer.user_id,
                    action="exercise" if msg.exercise else "real",
                    text=msg.reason[:500],
                )
            )
            tx.audit(
                at=tx.now,
                action=Action.ALTERATION,
                object_type="alert",
                object_id=alert.id,
                reason=msg.reason,
                detail="marked an exercise" if msg.exercise else "marked real",
                **by(viewer),
            )
            tx.emit_alert(alert, attached=attached)
            for offer in tx.open_offers(alert.id):
                tx.emit_offer(offer, alert)
            return alert_view(alert, attached)

        return await self._on_alert(msg.alert_id, mark)

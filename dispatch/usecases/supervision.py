"""What supervisors do to alerts from the console: take one in hand, assign a crew by
hand, withdraw an offer or release a crew, close or cancel, add a note. Each action is
kept, with its reason, as an `AlertNote` for the incident's timeline."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import update
from sqlmodel import col

from dispatch.audit import Action, by
from dispatch.auth.sessions import Viewer
from dispatch.core.geo import eta_s, haversine_m
from dispatch.core.lifecycle import is_open_alert, move_assignment, move_crew
from dispatch.storage.models import Alert, AlertNote, Crew, Offer, User
from dispatch.usecases.context import Context, UseCaseError
from dispatch.usecases.offering import Offering
from dispatch.usecases.views import alert_view
from dispatch.usecases.work import Tx, assignment_of, is_active_assignment
from schemas.client import AlertAssign, AlertCancel, AlertClose, OfferWithdraw
from schemas.common import CrewMode
from schemas.errors import ErrorCode
from schemas.views import AlertState, AlertView, AssignmentStatus, CrewState, OfferState

NO_SUCH_ALERT = "No such alert."
T = TypeVar("T")


def open_alert(tx: Tx, alert_id: str) -> Alert:
    alert = tx.session.get(Alert, alert_id, with_for_update=True)
    if alert is None:
        raise UseCaseError(ErrorCode.NOT_FOUND, NO_SUCH_ALERT)
    if not is_open_alert(AlertState(alert.state)):
        raise UseCaseError(ErrorCode.ILLEGAL_TRANSITION, f"This alert is already {alert.state}.")
    return alert


def note(
    tx: Tx,
    alert: Alert,
    viewer: Viewer,
    action: str,
    text: str = "",
    crew_id: str | None = None,
    *,
    take: bool = True,
) -> None:
    """Keep the action; acting on an alert also takes it in hand."""
    tx.session.add(
        AlertNote(
            alert_id=alert.id,
            at=tx.now,
            user_id=viewer.user_id,
            action=action,
            crew_id=crew_id,
            text=text[:500],
        )
    )
    if take and alert.taken_by is None:
        user = tx.session.get(User, viewer.user_id)
        alert.taken_by = user.display_name if user is not None else viewer.username
        alert.updated_at = tx.now
        tx.session.add(alert)


class Supervision:
    def __init__(self, ctx: Context, offering: Offering) -> None:
        self.ctx, self.offering = ctx, offering

    async def _on_alert(self, alert_id: str, fn: Callable[[Tx], T]) -> T:
        async with self.ctx.locks.hold(alert_id):
            return await self.ctx.transact(fn)

    async def take_alert(self, viewer: Viewer, alert_id: str) -> AlertView:
        def take(tx: Tx) -> AlertView:
            alert = open_alert(tx, alert_id)
            if alert.taken_by is None:
                note(tx, alert, viewer, "take")
                tx.emit_alert(alert)
            return alert_view(alert, tx.attached(alert.id))

        return await self._on_alert(alert_id, take)

    async def add_note(self, viewer: Viewer, alert_id: str, text: str) -> None:
        def add(tx: Tx) -> None:
            alert = tx.session.get(Alert, alert_id)
            if alert is None:
                raise UseCaseError(ErrorCode.NOT_FOUND, NO_SUCH_ALERT)
            note(tx, alert, viewer, "note", text, take=False)

        await self._on_alert(alert_id, add)

    async def assign_by_hand(self, viewer: Viewer, msg: AlertAssign) -> AlertView:
        def assign(tx: Tx) -> AlertView:
            alert = open_alert(tx, msg.alert_id)
            crew = tx.session.get(Crew, msg.crew_id, with_for_update=True)
            if crew is None:
                raise UseCaseError(ErrorCode.NOT_FOUND, "No such crew.")
            attached = [o for o, _ in tx.attached(alert.id) if is_active_assignment(o)]
            if any(o.crew_id == crew.id for o in attached):
                raise UseCaseError(
                    ErrorCode.CONFLICT, f"{crew.callsign} is already assigned to this alert."
                )
            offer = self._hand_offer(tx, alert, crew, viewer.user_id)
            note(tx, alert, viewer, "assign", msg.reason, crew.id)
            tx.audit(
                at=tx.now, action=Action.DISCLOSURE, object_type="alert",
                object_id=alert.id, reason=msg.reason,
                detail=f"officer's position to crew {crew.id} (assigned by hand)", **by(viewer),
            )  # fmt: skip
            alert.crews_needed = max(alert.crews_needed, len(attached) + 1)
            tx.session.add(alert)
            # The alert has the crews it wants: offers beyond that are withdrawn.
            if len(attached) + 1 >= alert.crews_needed:
                for other in tx.open_offers_in_session(alert.id):
                    if other.id != offer.id:
                        self.offering.close_offer(
                            tx, other, OfferState.WITHDRAWN, "a crew was assigned by hand"
                        )
            tx.session.refresh(crew)
            tx.emit_offer(offer, alert)
            tx.emit_crew(crew)
            self.offering.step(tx, alert, emit=True)
            return alert_view(alert, tx.attached(alert.id))

        return await self._on_alert(msg.alert_id, assign)

    def _hand_offer(self, tx: Tx, alert: Alert, crew: Crew, by: str) -> Offer:
        """Claim the crew for the alert (conditionally, so no other process holds it too)
        and store its accepted offer. An open offer of this alert to it becomes the
        assignment; any other work refuses."""
        state = CrewState(crew.state)
        if state == CrewState.ASSIGNED:
            raise UseCaseError(
                ErrorCode.CONFLICT, f"{crew.callsign} is working another alert: release it first."
            )
        current = tx.session.get(Offer, crew.offer_id) if crew.offer_id else None
        if state == CrewState.OFFERED and (current is None or current.alert_id != alert.id):
            raise UseCaseError(
                ErrorCode.CONFLICT,
                f"{crew.callsign} holds an offer of another alert: withdraw that offer first.",
            )
        move_crew(state, CrewState.ASSIGNED)
        claimed = tx.session.exec(
            update(Crew)
            .where(col(Crew.id) == crew.id, col(Crew.state) == state)
            .values(state=CrewState.ASSIGNED, alert_id=alert.id, offer_id=None, updated_at=tx.now)
        )
        if claimed.rowcount != 1:
            raise UseCaseError(
                ErrorCode.CONFLICT, f"{crew.callsign} changed meanwhile: look again and retry."
            )
        if current is not None and current.state == OfferState.OFFERED:
            offer = current  # its own offer of this alert: taken as accepted
            tx.after_commit.append(lambda: self.offering.disarm(offer.id))
        else:
            distance = (
                haversine_m(crew.last_lat, crew.last_lon, alert.lat, alert.lon)
                if crew.last_lat is not None and crew.last_lon is not None
                else 0.0
            )
            d = self.ctx.settings.dispatch
            offer = Offer(
                id=uuid.uuid4().hex,
                alert_id=alert.id,
                crew_id=crew.id,
                state=OfferState.OFFERED,
                created_at=tx.now,
                deadline=tx.now,
                distance_m=distance,
                eta_s=eta_s(distance, d.detour_factor, self.ctx.speed(CrewMode(crew.mode))),
            )
        offer.state = OfferState.ACCEPTED
        offer.accepted_at = offer.closed_at = tx.now
        offer.assignment_status = AssignmentStatus.EN_ROUTE
        offer.assigned_by = by
        tx.session.add(offer)
        return offer

    async def withdraw(self, viewer: Viewer, msg: OfferWithdraw) -> AlertView:
        """An open offer is withdrawn; an accepted one releases its crew. Either way the
        alert moves on, and is not offered to that crew again."""
        alert_id = await self.ctx.transact(lambda tx: self._alert_of_offer(tx, msg.offer_id))

        def withdraw(tx: Tx) -> AlertView:
            offer = tx.session.get(Offer, msg.offer_id, with_for_update=True)
            assert offer is not None
            alert = open_alert(tx, offer.alert_id)
            offer.withdrawn_by = viewer.user_id
            if offer.state == OfferState.OFFERED:
                note(tx, alert, viewer, "withdraw", msg.reason, offer.crew_id)
                self.offering.close_offer(
                    tx, offer, OfferState.WITHDRAWN, f"withdrawn by a supervisor: {msg.reason}"
                )
                tx.emit_alert(alert)  # taken in hand, even if its state stayed
            elif offer.state == OfferState.ACCEPTED and is_active_assignment(offer):
                note(tx, alert, viewer, "release", msg.reason, offer.crew_id)
                self._release(tx, alert, offer)
            else:
                raise UseCaseError(
                    ErrorCode.ILLEGAL_TRANSITION,
                    f"This offer is no longer open: it was {offer.state}.",
                )
            return alert_view(alert, tx.attached(alert.id))

        return await self._on_alert(alert_id, withdraw)

    @staticmethod
    def _alert_of_offer(tx: Tx, offer_id: str) -> str:
        offer = tx.session.get(Offer, offer_id)
        if offer is None:
            raise UseCaseError(ErrorCode.NOT_FOUND, "No such offer.")
        return offer.alert_id

    def _release(self, tx: Tx, alert: Alert, offer: Offer) -> None:
        offer.assignment_status = move_assignment(assignment_of(offer), AssignmentStatus.CLEARED)
        tx.session.add(offer)
        crew = tx.session.get(Crew, offer.crew_id)
        assert crew is not None
        if crew.alert_id == alert.id:
            crew.state = move_crew(CrewState(crew.state), CrewState.AVAILABLE)
            crew.alert_id, crew.updated_at = None, tx.now
            tx.session.add(crew)
            tx.emit_crew(crew)
        # No longer attached: the crew is told the alert left its screen (alert.removed).
        tx.emit_alert(alert, also_crews=(crew.id,))
        self.offering.step(tx, alert, emit=True)

    async def cancel_alert(self, viewer: Viewer, msg: AlertCancel) -> AlertView:
        """A supervisor's cancel needs a reason, which is kept."""
        if not (msg.reason or "").strip():
            raise UseCaseError(ErrorCode.INVALID, "reason: a supervisor's cancel needs a reason.")

        def cancel(tx: Tx) -> AlertView:
            alert = open_alert(tx, msg.alert_id)
            note(tx, alert, viewer, "cancel", msg.reason or "")
            self.offering.close_alert(
                tx, alert, AlertState.CANCELLED, reason=f"cancelled by a supervisor: {msg.reason}"
            )
            return alert_view(alert, tx.attached(alert.id))

        return await self._on_alert(msg.alert_id, cancel)

    async def close_by_supervisor(self, viewer: Viewer, msg: AlertClose) -> AlertView:
        """Resolved by a supervisor (handled by radio) from any open state, with or without
        a crew: open offers are withdrawn and attached crews freed. Needs an outcome and a
        reason, both kept."""
        if not msg.reason.strip():
            raise UseCaseError(ErrorCode.INVALID, "reason: closing an alert needs a reason.")

        def close(tx: Tx) -> AlertView:
            alert = open_alert(tx, msg.alert_id)
            note(tx, alert, viewer, "close", msg.reason)
            alert.outcome = msg.outcome
            self.offering.close_alert(
                tx, alert, AlertState.RESOLVED, reason=f"closed by a supervisor: {msg.reason}"
            )
            return alert_view(alert, tx.attached(alert.id))

        return await self._on_alert(msg.alert_id, close)

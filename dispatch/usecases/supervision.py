"""What supervisors do to alerts from the console: take one in hand, assign a crew by
hand, withdraw an offer or release a crew, close or cancel, add a note. Each action is
kept, with its reason, as an `AlertNote` for the incident's timeline."""

from __future__ import annotations

import uuid
from functools import partial

from sqlalchemy import update
from sqlmodel import col

from dispatch.auth.sessions import Viewer
from dispatch.core.geo import eta_s, haversine_m
from dispatch.core.lifecycle import is_open_alert, move_assignment, move_crew
from dispatch.storage.models import Alert, AlertNote, Crew, Offer, User
from dispatch.usecases.crews import CrewCases
from dispatch.usecases.dispatcher import UseCaseError
from dispatch.usecases.views import alert_view
from dispatch.usecases.work import Work, assignment_of, is_active_assignment
from schemas.client import AlertAssign, AlertCancel, AlertClose, OfferWithdraw
from schemas.common import CrewMode, Role
from schemas.errors import ErrorCode
from schemas.views import AlertState, AlertView, AssignmentStatus, CrewState, OfferState

NO_SUCH_ALERT = "No such alert."


class SupervisionCases(CrewCases):
    async def _open_alert(self, w: Work, alert_id: str) -> Alert:
        alert = await w.session.get(Alert, alert_id, with_for_update=True)
        if alert is None:
            raise UseCaseError(ErrorCode.NOT_FOUND, NO_SUCH_ALERT)
        if not is_open_alert(AlertState(alert.state)):
            raise UseCaseError(
                ErrorCode.ILLEGAL_TRANSITION, f"This alert is already {alert.state}."
            )
        return alert

    async def _name(self, w: Work, viewer: Viewer) -> str:
        user = await w.session.get(User, viewer.user_id)
        return user.display_name if user is not None else viewer.username

    async def _note(
        self,
        w: Work,
        alert: Alert,
        viewer: Viewer | None,
        action: str,
        text: str = "",
        crew_id: str | None = None,
        *,
        take: bool = True,
    ) -> None:
        """Keep the action; acting on an alert also takes it in hand."""
        w.session.add(
            AlertNote(
                alert_id=alert.id,
                at=w.now,
                user_id=viewer.user_id if viewer else None,
                action=action,
                crew_id=crew_id,
                text=text[:500],
            )
        )
        if take and viewer is not None and alert.taken_by is None:
            alert.taken_by = await self._name(w, viewer)
            alert.updated_at = w.now
            w.session.add(alert)

    async def take_alert(self, viewer: Viewer, alert_id: str) -> AlertView:
        async with self.work() as w:
            alert = await self._open_alert(w, alert_id)
            if alert.taken_by is None:
                await self._note(w, alert, viewer, "take")
                await w.emit_alert(alert)
            return alert_view(alert, await w.attached(alert.id))

    async def add_note(self, viewer: Viewer, alert_id: str, text: str) -> None:
        async with self.work() as w:
            alert = await w.session.get(Alert, alert_id)
            if alert is None:
                raise UseCaseError(ErrorCode.NOT_FOUND, NO_SUCH_ALERT)
            await self._note(w, alert, viewer, "note", text, take=False)

    async def assign_by_hand(self, viewer: Viewer, msg: AlertAssign) -> AlertView:
        async with self.work() as w:
            alert = await self._open_alert(w, msg.alert_id)
            crew = await w.session.get(Crew, msg.crew_id, with_for_update=True)
            if crew is None:
                raise UseCaseError(ErrorCode.NOT_FOUND, "No such crew.")
            attached = [o for o, _ in await w.attached(alert.id) if is_active_assignment(o)]
            if any(o.crew_id == crew.id for o in attached):
                raise UseCaseError(
                    ErrorCode.CONFLICT, f"{crew.callsign} is already assigned to this alert."
                )
            offer = await self._hand_offer(w, alert, crew, viewer.user_id)
            await self._note(w, alert, viewer, "assign", msg.reason, crew.id)
            alert.crews_needed = max(alert.crews_needed, len(attached) + 1)
            w.session.add(alert)
            # The alert has the crews it wants: offers beyond that are withdrawn.
            if len(attached) + 1 >= alert.crews_needed:
                for other in await w.open_offers(alert.id):
                    if other.id != offer.id:
                        await self.close_offer(
                            w, other, OfferState.WITHDRAWN, "a crew was assigned by hand"
                        )
            await w.session.refresh(crew)
            w.emit_offer(offer, alert)
            w.emit_crew(crew)
            w.after_commit.append(partial(self._refresh_ready, crew.id, CrewState.ASSIGNED))
            await self.offer_step(w, alert, emit=True)
            return alert_view(alert, await w.attached(alert.id))

    async def _hand_offer(self, w: Work, alert: Alert, crew: Crew, by: str) -> Offer:
        """Claim the crew for the alert (conditionally, so no other process holds it too)
        and store its accepted offer. An open offer of this alert to it becomes the
        assignment; any other work refuses."""
        state = CrewState(crew.state)
        if state == CrewState.ASSIGNED:
            raise UseCaseError(
                ErrorCode.CONFLICT, f"{crew.callsign} is working another alert: release it first."
            )
        current = await w.session.get(Offer, crew.offer_id) if crew.offer_id else None
        if state == CrewState.OFFERED and (current is None or current.alert_id != alert.id):
            raise UseCaseError(
                ErrorCode.CONFLICT,
                f"{crew.callsign} holds an offer of another alert: withdraw that offer first.",
            )
        move_crew(state, CrewState.ASSIGNED)
        claimed = await w.session.exec(
            update(Crew)
            .where(col(Crew.id) == crew.id, col(Crew.state) == state)
            .values(state=CrewState.ASSIGNED, alert_id=alert.id, offer_id=None, updated_at=w.now)
        )
        if claimed.rowcount != 1:
            raise UseCaseError(
                ErrorCode.CONFLICT, f"{crew.callsign} changed meanwhile: look again and retry."
            )
        if current is not None and current.state == OfferState.OFFERED:
            offer = current  # its own offer of this alert: taken as accepted
            self.disarm(offer.id)
        else:
            distance = (
                haversine_m(crew.last_lat, crew.last_lon, alert.lat, alert.lon)
                if crew.last_lat is not None and crew.last_lon is not None
                else 0.0
            )
            d = self.settings.dispatch
            offer = Offer(
                id=uuid.uuid4().hex,
                alert_id=alert.id,
                crew_id=crew.id,
                state=OfferState.OFFERED,
                created_at=w.now,
                deadline=w.now,
                distance_m=distance,
                eta_s=eta_s(distance, d.detour_factor, self.speed(CrewMode(crew.mode))),
            )
        offer.state = OfferState.ACCEPTED
        offer.accepted_at = offer.closed_at = w.now
        offer.assignment_status = AssignmentStatus.EN_ROUTE
        offer.assigned_by = by
        w.session.add(offer)
        return offer

    async def withdraw(self, viewer: Viewer, msg: OfferWithdraw) -> AlertView:
        """An open offer is withdrawn; an accepted one releases its crew. Either way the
        alert moves on, and is not offered to that crew again."""
        async with self.work() as w:
            offer = await w.session.get(Offer, msg.offer_id, with_for_update=True)
            if offer is None:
                raise UseCaseError(ErrorCode.NOT_FOUND, "No such offer.")
            alert = await self._open_alert(w, offer.alert_id)
            offer.withdrawn_by = viewer.user_id
            if offer.state == OfferState.OFFERED:
                await self._note(w, alert, viewer, "withdraw", msg.reason, offer.crew_id)
                await self.close_offer(
                    w, offer, OfferState.WITHDRAWN, f"withdrawn by a supervisor: {msg.reason}"
                )
                await w.emit_alert(alert)  # taken in hand, even if its state stayed
            elif offer.state == OfferState.ACCEPTED and is_active_assignment(offer):
                await self._note(w, alert, viewer, "release", msg.reason, offer.crew_id)
                await self._release(w, alert, offer)
            else:
                raise UseCaseError(
                    ErrorCode.ILLEGAL_TRANSITION,
                    f"This offer is no longer open: it was {offer.state}.",
                )
            return alert_view(alert, await w.attached(alert.id))

    async def _release(self, w: Work, alert: Alert, offer: Offer) -> None:
        offer.assignment_status = move_assignment(assignment_of(offer), AssignmentStatus.CLEARED)
        w.session.add(offer)
        crew = await w.session.get(Crew, offer.crew_id)
        assert crew is not None
        if crew.alert_id == alert.id:
            crew.state = move_crew(CrewState(crew.state), CrewState.AVAILABLE)
            crew.alert_id, crew.updated_at = None, w.now
            w.session.add(crew)
            w.emit_crew(crew)
            w.after_commit.append(partial(self._refresh_ready, crew.id, CrewState.AVAILABLE))
        # No longer attached: the crew is told the alert left its screen (alert.removed).
        await w.emit_alert(alert, also_crews=(crew.id,))
        await self.offer_step(w, alert, emit=True)

    async def cancel_alert(self, viewer: Viewer, msg: AlertCancel) -> AlertView:
        """A supervisor's cancel needs a reason, which is kept; an officer's goes as before."""
        if viewer.role != Role.SUPERVISOR:
            return await super().cancel_alert(viewer, msg)
        if not (msg.reason or "").strip():
            raise UseCaseError(ErrorCode.INVALID, "reason: a supervisor's cancel needs a reason.")
        async with self.work() as w:
            alert = await self._open_alert(w, msg.alert_id)
            await self._note(w, alert, viewer, "cancel", msg.reason or "")
            await self._close_alert(
                w, alert, AlertState.CANCELLED, reason=f"cancelled by a supervisor: {msg.reason}"
            )
            return alert_view(alert, await w.attached(alert.id))

    async def close_by_supervisor(self, viewer: Viewer, msg: AlertClose) -> AlertView:
        async with self.work() as w:
            alert = await self._open_alert(w, msg.alert_id)
            await self._note(w, alert, viewer, "close", msg.reason)
            alert.outcome = msg.outcome
            await self._close_alert(
                w, alert, AlertState.RESOLVED, reason=f"closed by a supervisor: {msg.reason}"
            )
            return alert_view(alert, await w.attached(alert.id))

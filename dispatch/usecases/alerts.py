"""Alert use cases: raise, add detail, escalate, cancel, and the crews' status updates."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from sqlmodel import select

from dispatch.auth.pins import PinMatch, match_pin
from dispatch.auth.sessions import Viewer
from dispatch.core.lifecycle import is_open_alert, move_alert, move_assignment, move_crew
from dispatch.storage.models import Alert, AlertNote, Crew, Offer, User
from dispatch.usecases.briefs import live_deployment_of
from dispatch.usecases.dispatcher import UseCaseError
from dispatch.usecases.positions import PositionCases
from dispatch.usecases.views import alert_view
from dispatch.usecases.work import Work, assignment_of, is_active_assignment
from schemas.client import AlertCancel, AlertDetail, AlertRaise, AssignmentUpdate
from schemas.common import Role
from schemas.errors import ErrorCode
from schemas.views import (
    AlertState,
    AlertView,
    AssignmentStatus,
    CrewState,
    OfferState,
    OfficerStatus,
)

NO_SUCH_ALERT = "No such alert."
DURESS_NOTE = "DURESS: cancelled under duress (duress PIN): treat as urgent. "


class AlertCases(PositionCases):
    async def store_alert(self, viewer: Viewer, msg: AlertRaise) -> tuple[AlertView, bool]:
        """Store a new alert, or find the same one again. Returns its view and if it is new."""
        async with self.work() as w:
            alert = await w.session.get(Alert, msg.alert_id)
            if alert is not None:
                if alert.officer_id != viewer.user_id:
                    raise UseCaseError(ErrorCode.CONFLICT, "That alert id is already in use.")
                return alert_view(alert, await w.attached(alert.id)), False
            at = msg.position.at or w.now
            alert = Alert(
                id=msg.alert_id,
                officer_id=viewer.user_id,
                state=AlertState.RAISED,
                urgent=msg.urgent,
                crews_needed=self.settings.dispatch.urgent_crews if msg.urgent else 1,
                category=msg.category,
                note=msg.note,
                lat=msg.position.lat,
                lon=msg.position.lon,
                accuracy=msg.position.accuracy,
                raised_at=w.now,
                updated_at=w.now,
                deployment_id=await live_deployment_of(w.session, viewer.user_id),
            )
            w.session.add(alert)
            await w.emit_alert(alert)
            self.note_officer_position(viewer.user_id, msg.position, at)
            return alert_view(alert, []), True

    async def raise_alert(self, viewer: Viewer, msg: AlertRaise) -> tuple[AlertView, bool]:
        """Store the alert (the caller acks once this returns), then offer it in the
        background. A resend of one that has no crew yet is offered again at once; the
        sweeper retries it from `waiting` if that dispatch fails."""
        view, created = await self.store_alert(viewer, msg)
        if created:
            await self.officer_position(viewer, msg.position)  # supervisors see where she is
        if view.state in (AlertState.RAISED, AlertState.UNASSIGNED):
            self.waiting.add(view.id)
            self.spawn(self.dispatch_alert(view.id))
        return view, created

    async def dispatch_alert(self, alert_id: str) -> None:
        async with self.work() as w:
            alert = await w.session.get(Alert, alert_id)
            if alert is not None and is_open_alert(AlertState(alert.state)):
                await self.offer_step(w, alert)

    async def _own_open_alert(self, w: Work, viewer: Viewer, alert_id: str) -> Alert:
        alert = await w.session.get(Alert, alert_id)
        if alert is None or (viewer.role == Role.OFFICER and alert.officer_id != viewer.user_id):
            raise UseCaseError(ErrorCode.NOT_FOUND, NO_SUCH_ALERT)
        if not is_open_alert(AlertState(alert.state)):
            raise UseCaseError(
                ErrorCode.ILLEGAL_TRANSITION, f"This alert is already {alert.state}."
            )
        return alert

    async def _reissue_offers(self, w: Work, alert: Alert) -> None:
        for offer in await w.open_offers(alert.id):
            w.emit_offer(offer, alert)

    async def alert_detail(self, viewer: Viewer, msg: AlertDetail) -> AlertView:
        async with self.work() as w:
            alert = await self._own_open_alert(w, viewer, msg.alert_id)
            if msg.category is not None:
                alert.category = msg.category
            if msg.note is not None:
                alert.note = msg.note
            alert.updated_at = w.now
            w.session.add(alert)
            await w.emit_alert(alert)
            await self._reissue_offers(w, alert)
            return alert_view(alert, await w.attached(alert.id))

    async def escalate_alert(self, viewer: Viewer, alert_id: str) -> AlertView:
        async with self.work() as w:
            alert = await self._own_open_alert(w, viewer, alert_id)
            if not alert.urgent:
                await self._make_urgent(w, alert)
            return alert_view(alert, await w.attached(alert.id))

    async def _make_urgent(self, w: Work, alert: Alert, *, duress: bool = False) -> None:
        """The alert takes `urgent_crews` crews: open offers go out again as urgent."""
        w.session.add(
            AlertNote(
                alert_id=alert.id,
                at=w.now,
                user_id=alert.officer_id,
                action="duress" if duress else "urgent",
                text="Cancelled with the duress PIN."
                if duress
                else "The officer needs urgent help.",
            )
        )
        alert.urgent = True
        alert.crews_needed = max(alert.crews_needed, self.settings.dispatch.urgent_crews)
        alert.updated_at = w.now
        w.session.add(alert)
        await w.emit_alert(alert)
        await self._reissue_offers(w, alert)
        await self.offer_step(w, alert)

    async def cancel_alert(self, viewer: Viewer, msg: AlertCancel) -> AlertView:
        """A supervisor's cancel, or an officer's (with her PIN once she has PINs). Her
        duress PIN escalates the alert instead, and answers exactly as a cancel would."""
        async with self.work() as w:
            await self._own_open_alert(w, viewer, msg.alert_id)  # refuse before any PIN check
        match = await self._check_pin(viewer, msg.pin)
        async with self.work() as w:
            alert = await self._own_open_alert(w, viewer, msg.alert_id)
            if match is PinMatch.DURESS:
                await self._duress(w, alert)
                cover = {"state": AlertState.CANCELLED, "status": OfficerStatus.CANCELLED}
                return alert_view(alert, await w.attached(alert.id)).model_copy(update=cover)
            reason = msg.reason or f"cancelled by the {viewer.role.value}"
            await self._close_alert(w, alert, AlertState.CANCELLED, reason=reason)
            return alert_view(alert, await w.attached(alert.id))

    async def _check_pin(self, viewer: Viewer, pin: str | None) -> PinMatch:
        """Which of her PINs this is; refuses a missing or wrong one, and counts wrong ones."""
        if viewer.role != Role.OFFICER:
            return PinMatch.NONE
        async with self.db.session() as s:
            user = await s.get(User, viewer.user_id)
        if user is None or user.cancel_pin_hash is None:
            return PinMatch.NONE  # no PINs set: a cancel needs none
        if pin is None:
            raise UseCaseError(ErrorCode.INVALID, "pin: your PIN is needed to cancel.")
        match = await match_pin(user.cancel_pin_hash, user.duress_pin_hash, pin)
        auth, now = self.settings.auth, self.clock()
        locked = user.pin_locked_until is not None and user.pin_locked_until > now
        if match is PinMatch.DURESS:  # never locked out: it only ever adds help
            return match
        if locked:
            raise UseCaseError(
                ErrorCode.FORBIDDEN, "Too many wrong PINs: cancelling is locked for now."
            )
        async with self.db.session() as s:
            user = await s.get(User, viewer.user_id)
            assert user is not None
            if match is PinMatch.NONE:
                user.pin_failures = (user.pin_failures or 0) + 1
                if user.pin_failures >= auth.max_failed_logins:
                    user.pin_failures = 0
                    user.pin_locked_until = now + timedelta(seconds=auth.lockout_s)
            else:
                user.pin_failures, user.pin_locked_until = 0, None
            s.add(user)
            await s.commit()
        if match is PinMatch.NONE:
            raise UseCaseError(ErrorCode.FORBIDDEN, "That PIN is not right; nothing was cancelled.")
        return match

    async def _duress(self, w: Work, alert: Alert) -> None:
        """Escalate and mark for supervisors (and crews): she was forced to cancel."""
        if not (alert.note or "").startswith(DURESS_NOTE):
            alert.note = (DURESS_NOTE + (alert.note or ""))[:500]
        await self._make_urgent(w, alert, duress=True)

    async def assignment_status(self, viewer: Viewer, msg: AssignmentUpdate) -> AlertView:
        async with self.work() as w:
            alert = await w.session.get(Alert, msg.alert_id)
            offer = None
            if alert is not None and viewer.crew_id is not None:
                offer = (
                    await w.session.exec(
                        select(Offer).where(
                            Offer.alert_id == alert.id,
                            Offer.crew_id == viewer.crew_id,
                            Offer.state == OfferState.ACCEPTED,
                        )
                    )
                ).first()
            if alert is None or offer is None or not is_active_assignment(offer):
                raise UseCaseError(ErrorCode.NOT_FOUND, "You are not assigned to this alert.")
            current = assignment_of(offer)
            if msg.status == "resolved":
                if msg.outcome is None:
                    raise UseCaseError(ErrorCode.INVALID, "Resolving needs an outcome.")
                alert.outcome, alert.outcome_note = msg.outcome, msg.note
                await self._close_alert(w, alert, AlertState.RESOLVED, reason="resolved by crew")
            elif msg.status != current:
                offer.assignment_status = move_assignment(current, AssignmentStatus(msg.status))
                if offer.assignment_status == AssignmentStatus.ON_SCENE:
                    offer.on_scene_at = w.now
                w.session.add(offer)
                await self.offer_step(w, alert, emit=True)
            return alert_view(alert, await w.attached(alert.id))

    async def _close_alert(self, w: Work, alert: Alert, target: AlertState, *, reason: str) -> None:
        """Resolve or cancel: withdraw open offers, clear attached crews, free them."""
        alert.state = move_alert(AlertState(alert.state), target)
        alert.closed_at = alert.updated_at = w.now
        alert.close_reason = reason
        w.session.add(alert)
        w.after_commit.append(partial(self.waiting.discard, alert.id))
        for offer in await w.open_offers(alert.id):
            await self.close_offer(w, offer, OfferState.WITHDRAWN, f"alert {target.value}")
        for offer, crew in await w.attached(alert.id):
            if not is_active_assignment(offer):
                continue
            offer.assignment_status = move_assignment(
                assignment_of(offer), AssignmentStatus.CLEARED
            )
            w.session.add(offer)
            if crew.alert_id == alert.id:
                crew.state = move_crew(CrewState(crew.state), CrewState.AVAILABLE)
                crew.alert_id, crew.updated_at = None, w.now
                w.session.add(crew)
                w.emit_crew(crew)
                w.after_commit.append(partial(self._refresh_ready, crew.id, CrewState.AVAILABLE))
        await w.emit_alert(alert)

    async def crew_for(self, w: Work, viewer: Viewer) -> Crew:
        crew = await w.session.get(Crew, viewer.crew_id) if viewer.crew_id else None
        if crew is None:
            raise UseCaseError(ErrorCode.FORBIDDEN, "Your account is not a member of a crew.")
        return crew

"""Crew use cases: duty, accepting and declining offers, connecting and disconnecting."""

from __future__ import annotations

import asyncio
from functools import partial

from sqlmodel import select

from dispatch.auth.sessions import Viewer
from dispatch.core.lifecycle import move_crew, move_offer
from dispatch.storage.models import Alert, Crew, Offer
from dispatch.usecases.alerts import AlertCases
from dispatch.usecases.dispatcher import UseCaseError
from dispatch.usecases.views import crew_view, offer_view
from dispatch.usecases.work import Work
from schemas.errors import ErrorCode
from schemas.views import AssignmentStatus, CrewState, CrewView, OfferState, OfferView

NO_SUCH_OFFER = "No such offer."


class CrewCases(AlertCases):
    async def set_duty(self, viewer: Viewer, on: bool) -> CrewView:
        async with self.work() as w:
            crew = await self.crew_for(w, viewer)
            state = CrewState(crew.state)
            if on and state == CrewState.OFF_DUTY:
                crew.state = move_crew(state, CrewState.AVAILABLE)
            elif on:
                # Already on duty: nothing changes, but make sure dispatch can see the crew.
                w.after_commit.append(partial(self._refresh_ready, crew.id, state))
                return crew_view(crew)
            elif not on and state == CrewState.ASSIGNED:
                raise UseCaseError(
                    ErrorCode.ILLEGAL_TRANSITION,
                    "Resolve or hand back your assignment before going off duty.",
                )
            elif not on and state != CrewState.OFF_DUTY:
                if crew.offer_id is not None:
                    offer = await w.session.get(Offer, crew.offer_id)
                    if offer is not None and offer.state == OfferState.OFFERED:
                        await self.close_offer(w, offer, OfferState.DECLINED, "crew went off duty")
                        await w.session.refresh(crew)
                crew.state = move_crew(CrewState(crew.state), CrewState.OFF_DUTY)
            else:
                return crew_view(crew)
            crew.updated_at = w.now
            w.session.add(crew)
            w.emit_crew(crew)
            new_state = CrewState(crew.state)
            w.after_commit.append(lambda: self._refresh_ready(crew.id, new_state))
            return crew_view(crew)

    async def _crew_offer(self, w: Work, viewer: Viewer, offer_id: str) -> tuple[Offer, Alert]:
        offer = await w.session.get(Offer, offer_id, with_for_update=True)
        if offer is None or offer.crew_id != viewer.crew_id:
            raise UseCaseError(ErrorCode.NOT_FOUND, NO_SUCH_OFFER)
        if offer.state != OfferState.OFFERED:
            raise UseCaseError(
                ErrorCode.ILLEGAL_TRANSITION, f"This offer is no longer open: it was {offer.state}."
            )
        alert = await w.session.get(Alert, offer.alert_id)
        assert alert is not None
        return offer, alert

    async def accept_offer(self, viewer: Viewer, offer_id: str) -> OfferView:
        expired = False
        async with self.work() as w:
            offer, alert = await self._crew_offer(w, viewer, offer_id)
            if offer.deadline <= w.now:
                await self.close_offer(w, offer, OfferState.EXPIRED, "accepted after the deadline")
                expired = True
            else:
                offer.state = move_offer(OfferState(offer.state), OfferState.ACCEPTED)
                offer.accepted_at, offer.closed_at = w.now, w.now
                offer.assignment_status = AssignmentStatus.EN_ROUTE
                w.session.add(offer)
                self.disarm(offer.id)
                crew = await w.session.get(Crew, offer.crew_id)
                assert crew is not None
                crew.state = move_crew(CrewState(crew.state), CrewState.ASSIGNED)
                crew.alert_id, crew.offer_id, crew.updated_at = alert.id, None, w.now
                w.session.add(crew)
                w.emit_offer(offer, alert)
                w.emit_crew(crew)
                await self.offer_step(w, alert, emit=True)
            view = offer_view(offer, alert)
        if expired:
            raise UseCaseError(
                ErrorCode.ILLEGAL_TRANSITION, "This offer expired before you accepted."
            )
        return view

    async def decline_offer(self, viewer: Viewer, offer_id: str, reason: str | None) -> OfferView:
        async with self.work() as w:
            offer, alert = await self._crew_offer(w, viewer, offer_id)
            await self.close_offer(w, offer, OfferState.DECLINED, reason or "declined")
            return offer_view(offer, alert)

    async def crew_connected(self, crew_id: str) -> None:
        """A member of the crew connected: it may be offered alerts again."""
        pending = self._withdrawals.pop(crew_id, None)
        if pending is not None:
            pending.cancel()  # back within the grace period: its offer stays
        async with self.lock:
            async with self.db.session() as s:
                crew = await s.get(Crew, crew_id)
            if crew is None:
                return
            self.connections[crew_id] = self.connections.get(crew_id, 0) + 1
            if crew_id not in self.index:
                self.track_crew(crew)
            self._refresh_ready(crew_id, CrewState(crew.state))

    async def crew_disconnected(self, crew_id: str) -> None:
        """The crew's last member disconnected: it is offered nothing more, and after
        `dispatch.disconnect_grace_s` without it coming back its open offer moves on.
        Stopping the server cancels the grace, so a restart never withdraws offers."""
        left = self.connections.get(crew_id, 0) - 1
        if left > 0:
            self.connections[crew_id] = left
            return
        self.connections.pop(crew_id, None)
        self.index.set_ready(crew_id, False)
        task = asyncio.get_running_loop().create_task(self._withdraw_after_grace(crew_id))
        self._withdrawals[crew_id] = task
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    async def _withdraw_after_grace(self, crew_id: str) -> None:
        await asyncio.sleep(self.settings.dispatch.disconnect_grace_s)
        self._withdrawals.pop(crew_id, None)
        if self.connections.get(crew_id, 0) > 0:
            return
        async with self.work() as w:
            rows = await w.session.exec(
                select(Offer)
                .where(Offer.crew_id == crew_id, Offer.state == OfferState.OFFERED)
                .with_for_update()
            )
            for offer in rows.all():
                await self.close_offer(w, offer, OfferState.WITHDRAWN, "crew disconnected")

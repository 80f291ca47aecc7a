"""The crew's side: duty, accepting and declining offers, connecting and disconnecting."""

from __future__ import annotations

import asyncio

from sqlmodel import select

from dispatch.audit import Action, by
from dispatch.auth.sessions import Viewer
from dispatch.core.lifecycle import move_crew, move_offer
from dispatch.storage.models import Alert, Crew, Offer
from dispatch.usecases.context import Context, UseCaseError
from dispatch.usecases.offering import Offering
from dispatch.usecases.views import crew_view, offer_view
from dispatch.usecases.work import Tx
from schemas.errors import ErrorCode
from schemas.views import AssignmentStatus, CrewState, CrewView, OfferState, OfferView

NO_SUCH_OFFER = "No such offer."
# An accept waits for raises in flight only while its offer has this much more time
# left than the longest wait: an accept in time is never refused for the wait.
ACCEPT_MARGIN_S = 2.0


def crew_of(tx: Tx, viewer: Viewer) -> Crew:
    crew = tx.get(Crew, viewer.crew_id) if viewer.crew_id else None
    if crew is None:
        raise UseCaseError(ErrorCode.FORBIDDEN, "Your account is not a member of a crew.")
    return crew


class Crews:
    def __init__(self, ctx: Context, offering: Offering) -> None:
        self.ctx, self.offering = ctx, offering
        self._withdrawals: dict[str, asyncio.Task[None]] = {}  # crews gone, within the grace

    async def set_duty(self, viewer: Viewer, on: bool) -> CrewView:
        def duty(tx: Tx) -> CrewView:
            crew = crew_of(tx, viewer)
            if crew.offer_id is not None:  # its offer first, as an expiry or decline locks it
                tx.get(Offer, crew.offer_id, for_update=True)
            # Then the crew as it is now, locked: a claim that committed since it was read
            # is seen, not overwritten (PostgreSQL; SQLite's writer holds the database).
            tx.session.refresh(crew, with_for_update=True)
            state = CrewState(crew.state)
            if on and state == CrewState.OFF_DUTY:
                crew.state = move_crew(state, CrewState.AVAILABLE)
            elif on:
                # Already on duty: nothing changes, but make sure dispatch can see the crew.
                tx.after_commit.append(lambda: self._known(crew.id, state))
                return crew_view(crew)
            elif state == CrewState.ASSIGNED:
                raise UseCaseError(
                    ErrorCode.ILLEGAL_TRANSITION,
                    "Resolve or hand back your assignment before going off duty.",
                )
            elif state != CrewState.OFF_DUTY:
                if crew.offer_id is not None:
                    offer = tx.get(Offer, crew.offer_id, for_update=True)
                    if offer is not None and offer.state == OfferState.OFFERED:
                        self.offering.close_offer(
                            tx, offer, OfferState.DECLINED, "crew went off duty"
                        )
                crew.state = move_crew(CrewState(crew.state), CrewState.OFF_DUTY)
            else:
                return crew_view(crew)
            crew.updated_at = tx.now
            tx.session.add(crew)
            tx.emit_crew(crew)
            return crew_view(crew)

        return await self.ctx.transact(duty)

    def _known(self, crew_id: str, state: CrewState) -> None:
        self.ctx.crews.states[crew_id] = state
        self.ctx.refresh_ready(crew_id)

    def _crew_offer(self, tx: Tx, viewer: Viewer, offer_id: str) -> tuple[Offer, Alert]:
        offer = tx.get(Offer, offer_id, for_update=True)
        if offer is None or offer.crew_id != viewer.crew_id:
            raise UseCaseError(ErrorCode.NOT_FOUND, NO_SUCH_OFFER)
        if offer.state != OfferState.OFFERED:
            raise UseCaseError(
                ErrorCode.ILLEGAL_TRANSITION, f"This offer is no longer open: it was {offer.state}."
            )
        alert = tx.get(Alert, offer.alert_id, for_update=True)
        assert alert is not None
        return offer, alert

    async def accept_offer(self, viewer: Viewer, offer_id: str) -> OfferView:
        expired = False

        def accept(tx: Tx) -> OfferView:
            nonlocal expired
            offer, alert = self._crew_offer(tx, viewer, offer_id)
            if offer.deadline <= tx.now:
                self.offering.close_offer(
                    tx, offer, OfferState.EXPIRED, "accepted after the deadline"
                )
                expired = True
                return offer_view(offer, alert)
            tx.write(
                offer,
                state=move_offer(OfferState(offer.state), OfferState.ACCEPTED),
                accepted_at=tx.now,
                closed_at=tx.now,
                assignment_status=AssignmentStatus.EN_ROUTE,
            )
            tx.after_commit.append(lambda: self.offering.disarm(offer_id))
            crew = tx.get(Crew, offer.crew_id)
            assert crew is not None
            tx.write(
                crew,
                state=move_crew(CrewState(crew.state), CrewState.ASSIGNED),
                alert_id=alert.id,
                offer_id=None,
                updated_at=tx.now,
            )
            tx.audit(
                at=tx.now,
                action=Action.DISCLOSURE,
                object_type="alert",
                object_id=alert.id,
                detail=f"officer's position to crew {crew.id}",
                **by(viewer),
            )
            tx.emit_offer(offer, alert)
            tx.emit_crew(crew)
            self.offering.step(tx, alert, emit=True)
            return offer_view(offer, alert)

        left = self.offering.seconds_left(offer_id)
        if left is not None and left > self.ctx.priority.max_wait_s + ACCEPT_MARGIN_S:
            await self.ctx.priority.routine()  # far from its deadline: a raise first
        view = await self.ctx.transact(accept)
        if expired:
            raise UseCaseError(
                ErrorCode.ILLEGAL_TRANSITION, "This offer expired before you accepted."
            )
        return view

    async def decline_offer(self, viewer: Viewer, offer_id: str, reason: str | None) -> OfferView:
        def decline(tx: Tx) -> OfferView:
            offer, alert = self._crew_offer(tx, viewer, offer_id)
            self.offering.close_offer(tx, offer, OfferState.DECLINED, reason or "declined")
            return offer_view(offer, alert)

        return await self.ctx.transact(decline)

    # -- connections (memory only: no database read) --------------------------------------

    async def connected(self, crew_id: str) -> None:
        """A member of the crew connected: it may be offered alerts again. Known crews
        need no database read; one added behind this process's back is read once, before
        anything is counted: a read that fails leaves no connection counted that its
        socket would never take back."""
        if crew_id not in self.ctx.crews.states:
            async with self.ctx.db.session() as s:
                crew = await s.get(Crew, crew_id)
            if crew is not None and crew_id not in self.ctx.crews.states:
                self.ctx.track_crew(crew)
        pending = self._withdrawals.pop(crew_id, None)
        if pending is not None:
            pending.cancel()  # back within the grace period: its offer stays
        here = self.ctx.crews.connections.get(crew_id, 0)
        self.ctx.crews.connections[crew_id] = here + 1
        if here == 0:
            self.ctx.on_presence(crew_id, True)
        self.ctx.refresh_ready(crew_id)

    def disconnected(self, crew_id: str) -> None:
        """The crew's last member disconnected: it is offered nothing more, and after
        `dispatch.disconnect_grace_s` without it coming back its open offer moves on.
        Stopping the server cancels the grace, so a restart never withdraws offers."""
        left = self.ctx.crews.connections.get(crew_id, 0) - 1
        if left > 0:
            self.ctx.crews.connections[crew_id] = left
            return
        self.ctx.crews.connections.pop(crew_id, None)
        self.ctx.on_presence(crew_id, False)
        self.ctx.refresh_ready(crew_id)
        self.withdraw_after(crew_id, self.ctx.settings.dispatch.disconnect_grace_s)

    def withdrawal(self, crew_id: str) -> asyncio.Task[None] | None:
        """The crew is gone and its open offer waits out the grace period in this task
        (cancelled if it comes back in time)."""
        return self._withdrawals.get(crew_id)

    def withdraw_after(self, crew_id: str, delay_s: float, *, known: bool = True) -> None:
        """Withdraw the crew's open offer unless it is connected again (to any process)
        within `delay_s`. Only a crew holding an offer has anything to withdraw: a storm
        of thousands of disconnects costs no transaction for the others. `known=False`
        (a dead process's crews): memory may not have heard of the offer yet, so the
        database is asked."""
        if known and self.ctx.crews.states.get(crew_id) != CrewState.OFFERED:
            return
        pending = self._withdrawals.pop(crew_id, None)
        if pending is not None:
            pending.cancel()
        self._withdrawals[crew_id] = self.ctx.spawn(
            self._withdraw_later(crew_id, delay_s, known=known)
        )

    async def _withdraw_later(self, crew_id: str, delay_s: float, *, known: bool) -> None:
        await asyncio.sleep(delay_s)
        self._withdrawals.pop(crew_id, None)
        if self.ctx.crews.connected_anywhere(crew_id):
            return
        if known and self.ctx.crews.states.get(crew_id) != CrewState.OFFERED:
            return  # answered, or withdrawn meanwhile

        def withdraw(tx: Tx) -> None:
            rows = tx.session.exec(
                select(Offer)
                .where(Offer.crew_id == crew_id, Offer.state == OfferState.OFFERED)
                .with_for_update()
            )
            for offer in rows.all():
                self.offering.close_offer(tx, offer, OfferState.WITHDRAWN, "crew disconnected")

        await self.ctx.transact(withdraw)

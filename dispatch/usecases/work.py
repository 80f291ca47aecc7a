"""A unit of work: one transaction whose events are numbered at commit and
published after it, and whose in-memory effects run only once it has committed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from dispatch.realtime.events import KIND_ALERT, KIND_CREW, KIND_OFFER, PendingEvent, StoredEvent
from dispatch.storage.models import EVENT_SEQ, Alert, Counter, Crew, Offer
from dispatch.usecases.views import alert_view, crew_view, offer_view
from schemas.views import AssignmentStatus, OfferState

__all__ = ["EVENT_SEQ", "Work", "attached_crews"]


async def attached_crews(session: AsyncSession, alert_id: str) -> list[tuple[Offer, Crew]]:
    """Crews that accepted the alert (or were assigned by hand) and are still attached to
    it, in order of acceptance. A crew a supervisor released is no longer attached."""
    rows = await session.exec(
        select(Offer, Crew)
        .join(Crew, col(Crew.id) == col(Offer.crew_id))
        .where(
            Offer.alert_id == alert_id,
            Offer.state == OfferState.ACCEPTED,
            col(Offer.withdrawn_by).is_(None),
        )
        .order_by(col(Offer.accepted_at), col(Offer.id))
    )
    return list(rows.all())


@dataclass
class Work:
    session: AsyncSession
    now: datetime
    pending: list[PendingEvent] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    async def attached(self, alert_id: str) -> list[tuple[Offer, Crew]]:
        return await attached_crews(self.session, alert_id)

    async def open_offers(self, alert_id: str) -> list[Offer]:
        rows = await self.session.exec(
            select(Offer).where(Offer.alert_id == alert_id, Offer.state == OfferState.OFFERED)
        )
        return list(rows.all())

    async def emit_alert(self, alert: Alert, *, also_crews: tuple[str, ...] = ()) -> None:
        attached = await self.attached(alert.id)
        crews = tuple(dict.fromkeys([c.id for _, c in attached] + list(also_crews)))
        view = alert_view(alert, attached)
        self.pending.append(
            PendingEvent(KIND_ALERT, alert.id, view.model_dump_json(), alert.officer_id, crews)
        )

    def emit_offer(self, offer: Offer, alert: Alert) -> None:
        view = offer_view(offer, alert)
        self.pending.append(
            PendingEvent(KIND_OFFER, offer.id, view.model_dump_json(), None, (offer.crew_id,))
        )

    def emit_crew(self, crew: Crew) -> None:
        view = crew_view(crew)
        self.pending.append(
            PendingEvent(KIND_CREW, crew.id, view.model_dump_json(), None, (crew.id,))
        )

    async def number_events(self) -> list[StoredEvent]:
        """Take a block of sequence numbers (row-locked until commit) and store the events."""
        if not self.pending:
            return []
        n = len(self.pending)
        result = await self.session.exec(
            update(Counter)
            .where(col(Counter.name) == EVENT_SEQ)
            .values(value=col(Counter.value) + n)
            .returning(col(Counter.value))
        )
        last = int(result.scalar_one())
        events = [p.numbered(last - n + 1 + i) for i, p in enumerate(self.pending)]
        for event in events:
            self.session.add(event.to_row(self.now))
        return events


def assignment_of(offer: Offer) -> AssignmentStatus:
    """The assignment status of an accepted offer (en route until the crew says otherwise)."""
    return AssignmentStatus(offer.assignment_status or AssignmentStatus.EN_ROUTE)


def is_active_assignment(offer: Offer) -> bool:
    return offer.assignment_status in (AssignmentStatus.EN_ROUTE, AssignmentStatus.ON_SCENE)

"""Everything one viewer may see, read in one consistent pass with its sequence number."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from dispatch.auth.sessions import Viewer
from dispatch.realtime.events import KIND_ALERT, StoredEvent
from dispatch.realtime.visibility import crew_sees_alert
from dispatch.storage.models import (
    Alert,
    Counter,
    Crew,
    Deployment,
    DeploymentMember,
    Event,
    Offer,
)
from dispatch.usecases.briefs import load_brief
from dispatch.usecases.deployments import DeploymentCases
from dispatch.usecases.views import alert_view, crew_view, offer_view
from dispatch.usecases.work import EVENT_SEQ, attached_crews
from schemas.common import Position, Role
from schemas.server import LivePosition, Snapshot
from schemas.views import (
    OPEN_ALERT_STATES,
    AlertView,
    DeploymentBrief,
    DeploymentState,
    OfferState,
)


class SnapshotCases(DeploymentCases):
    async def snapshot(self, viewer: Viewer) -> Snapshot:
        # The lock keeps this process's writers out; REPEATABLE READ (PostgreSQL) keeps
        # other processes' commits out of the middle of the read.
        async with self.lock, self.db.snapshot_session() as s:
            counter = await s.get(Counter, EVENT_SEQ)
            seq = counter.value if counter else 0
            alerts = await self._visible_alerts(s, viewer)
            offers, crews = [], []
            if viewer.role in (Role.SUPERVISOR, Role.CREW):
                query = select(Offer, Alert).join(Alert, col(Alert.id) == col(Offer.alert_id))
                query = query.where(Offer.state == OfferState.OFFERED)
                if viewer.role == Role.CREW:
                    query = query.where(Offer.crew_id == viewer.crew_id)
                offers = [offer_view(o, a) for o, a in (await s.exec(query)).all()]
                crew_query = select(Crew).order_by(col(Crew.callsign))
                if viewer.role == Role.CREW:
                    crew_query = crew_query.where(Crew.id == viewer.crew_id)
                crews = [crew_view(c) for c in (await s.exec(crew_query)).all()]
            deployments = await self._visible_deployments(s, viewer)
        return Snapshot(
            seq=seq,
            alerts=alerts,
            offers=offers,
            crews=crews,
            positions=self._visible_positions(viewer, alerts),
            deployments=deployments,
        )

    async def _visible_deployments(self, s: AsyncSession, viewer: Viewer) -> list[DeploymentBrief]:
        """Briefed and live deployments: all for supervisors, her or its own for the team."""
        query = select(Deployment).where(
            col(Deployment.state).in_([DeploymentState.BRIEFED, DeploymentState.LIVE])
        )
        if viewer.role != Role.SUPERVISOR:
            member = (
                DeploymentMember.user_id == viewer.user_id
                if viewer.role == Role.OFFICER
                else DeploymentMember.crew_id == viewer.crew_id
            )
            mine = select(DeploymentMember.deployment_id).where(member)
            query = query.where(col(Deployment.id).in_(mine))
        rows = (await s.exec(query.order_by(col(Deployment.starts_at)))).all()
        return [await load_brief(s, d) for d in rows]

    async def _visible_alerts(self, s: AsyncSession, viewer: Viewer) -> list[AlertView]:
        query = select(Alert).where(col(Alert.state).in_(list(OPEN_ALERT_STATES)))
        if viewer.role == Role.OFFICER:
            query = query.where(Alert.officer_id == viewer.user_id)
        elif viewer.role == Role.CREW:
            mine = select(Offer.alert_id).where(
                Offer.crew_id == viewer.crew_id, Offer.state == OfferState.ACCEPTED
            )
            query = query.where(col(Alert.id).in_(mine))
        views = []
        for alert in (await s.exec(query.order_by(col(Alert.raised_at)))).all():
            attached = await attached_crews(s, alert.id)
            views.append(alert_view(alert, attached))
        if viewer.role == Role.CREW:
            views = [v for v in views if crew_sees_alert(viewer, v)]
        return views

    def _visible_positions(self, viewer: Viewer, alerts: list[AlertView]) -> list[LivePosition]:
        if viewer.role == Role.SUPERVISOR:
            officers = [
                p.model_copy(
                    update={"alert_id": next(iter(self.officer_alerts.get(p.subject_id, {})), None)}
                )
                for p in self.officer_last.values()
            ]
            return [*officers, *self.crew_last.values()]
        if viewer.role == Role.CREW:
            return [
                self.officer_last[a.officer_id].model_copy(update={"alert_id": a.id})
                for a in alerts
                if a.officer_id in self.officer_last
            ]
        return []

    async def events_after(self, last_seq: int, limit: int) -> list[Event] | None:
        """Events after `last_seq`, or None when they are no longer all kept (or too many)."""
        async with self.db.session() as s:
            counter = await s.get(Counter, EVENT_SEQ)
            head = counter.value if counter else 0
            if last_seq > head:
                return None  # the client is ahead of this database: start again
            if last_seq == head:
                return []
            rows = list(
                (
                    await s.exec(
                        select(Event)
                        .where(col(Event.seq) > last_seq)
                        .order_by(col(Event.seq))
                        .limit(limit + 1)
                    )
                ).all()
            )
        if not rows or rows[0].seq != last_seq + 1 or len(rows) > limit:
            return None
        return rows

    async def prune_events(self) -> int:
        """Keep the newest `realtime.event_retention` events."""
        keep = self.settings.realtime.event_retention
        async with self.lock, self.db.session() as s:
            counter = await s.get(Counter, EVENT_SEQ)
            head = counter.value if counter else 0
            result = await s.exec(delete(Event).where(col(Event.seq) <= head - keep))
            await s.commit()
            return int(result.rowcount or 0)


class Dispatcher(SnapshotCases):
    """Every use case of the dispatch server, over one database, hub and index."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._positions_init()

    async def start(self) -> None:
        await super().start()
        async with self.db.session() as s:
            open_alerts = (
                await s.exec(select(Alert).where(col(Alert.state).in_(list(OPEN_ALERT_STATES))))
            ).all()
            for alert in open_alerts:
                view = alert_view(alert, await attached_crews(s, alert.id))
                self.observe(
                    StoredEvent(
                        0, KIND_ALERT, alert.id, view.model_dump_json(), alert.officer_id, ()
                    )
                )
            # Supervisors see each crew's last known position (and its age) after a restart.
            for crew in (
                await s.exec(select(Crew).where(col(Crew.last_fix_at).is_not(None)))
            ).all():
                if crew.id in self.crew_last or crew.last_lat is None or crew.last_lon is None:
                    continue
                assert crew.last_fix_at is not None
                fix = Position(lat=crew.last_lat, lon=crew.last_lon, accuracy=crew.last_accuracy)
                self.crew_last[crew.id] = LivePosition.of(Role.CREW, crew.id, fix, crew.last_fix_at)

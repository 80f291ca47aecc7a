"""Bringing a viewer up to date: the events it missed, from the sequencer's ring in
memory (no database read), or everything it may see, read in one consistent pass."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, delete, select

from dispatch.auth.sessions import Viewer
from dispatch.realtime.events import StoredEvent
from dispatch.realtime.visibility import audience_key, crew_sees_alert, officer_alert
from dispatch.storage.models import (
    EVENT_SEQ,
    Alert,
    Counter,
    Crew,
    Deployment,
    DeploymentMember,
    Event,
    Offer,
    WelfareWarning,
)
from dispatch.usecases.briefs import load_brief
from dispatch.usecases.context import Context
from dispatch.usecases.messages import messages_of
from dispatch.usecases.positions import Positions
from dispatch.usecases.views import alert_view, crew_view, offer_view
from schemas.common import Role
from schemas.server import Snapshot
from schemas.views import (
    OPEN_ALERT_STATES,
    AlertView,
    DeploymentBrief,
    DeploymentState,
    OfferState,
)
from schemas.welfare import WarningView

# Crews' and supervisors' snapshots read at the same time, at most: in a storm of
# reconnects they wait here, in memory, rather than take every pooled connection and
# leave an alert waiting for one. Officers' (small, and an alert may follow) never wait.
SNAPSHOT_READERS = 4
MAX_SESSIONS_KEPT = 100_000


class Snapshots:
    def __init__(self, ctx: Context, positions: Positions) -> None:
        self.ctx, self.positions = ctx, positions
        self._readers = asyncio.Semaphore(SNAPSHOT_READERS)
        self._first_sync: dict[str, int] = {}  # session -> seq of its first sync here

    def missed(self, viewer: Viewer, last_seq: int) -> list[StoredEvent] | None:
        """The events after `last_seq` this viewer may see, from memory, or None when a
        snapshot is needed. A phone's own index is trusted further back than the ring
        reaches only for a session that synced here before, at or below `last_seq`: a
        number the phone kept from another sign-in (another crew) gets a snapshot."""
        first = self._first_sync.get(viewer.session_hash)
        past_ring = first is not None and last_seq >= first
        return self.ctx.sequencer.since(last_seq, audience_key(viewer), past_ring=past_ring)

    def synced(self, viewer: Viewer, seq: int) -> None:
        """The session's sync was answered up to `seq` (its first here is kept)."""
        if viewer.session_hash not in self._first_sync:
            if len(self._first_sync) >= MAX_SESSIONS_KEPT:
                self._first_sync.pop(next(iter(self._first_sync)))
            self._first_sync[viewer.session_hash] = seq

    async def snapshot(self, viewer: Viewer) -> Snapshot:
        def read_all(s: Session) -> tuple[Any, ...]:
            return (*self._read(s, viewer), _warnings(s, viewer))

        if viewer.role == Role.OFFICER:  # her next message may be an alert: no queue
            read = await self.ctx.store.read(read_all)
        else:
            async with self._readers:
                read = await self.ctx.store.read(read_all)
        seq, alerts, offers, crews, deployments, messages, warnings = read
        return Snapshot(
            seq=seq,
            alerts=alerts,
            offers=offers,
            crews=crews,
            positions=self.positions.visible(viewer, [(a.id, a.officer_id) for a in alerts]),
            deployments=deployments,
            messages=messages,
            warnings=warnings,
        )

    def _read(self, s: Session, viewer: Viewer) -> tuple[Any, ...]:
        counter = s.get(Counter, EVENT_SEQ)
        seq = counter.value if counter else 0
        alerts = self._visible_alerts(s, viewer)
        offers, crews = [], []
        if viewer.role in (Role.SUPERVISOR, Role.CREW):
            query = select(Offer, Alert).join(Alert, col(Alert.id) == col(Offer.alert_id))
            query = query.where(Offer.state == OfferState.OFFERED)
            if viewer.role == Role.CREW:
                query = query.where(Offer.crew_id == viewer.crew_id)
            offers = [offer_view(o, a) for o, a in s.exec(query).all()]
            crew_query = select(Crew).order_by(col(Crew.callsign))
            if viewer.role == Role.CREW:
                crew_query = crew_query.where(Crew.id == viewer.crew_id)
            crews = [crew_view(c) for c in s.exec(crew_query).all()]
        # Messages on the open alerts it sees: supervisors and crews, never an officer.
        messages = [] if viewer.role == Role.OFFICER else messages_of(s, [a.id for a in alerts])
        return seq, alerts, offers, crews, self._visible_deployments(s, viewer), messages

    @staticmethod
    def _visible_deployments(s: Session, viewer: Viewer) -> list[DeploymentBrief]:
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
        rows = s.exec(query.order_by(col(Deployment.starts_at))).all()
        return [load_brief(s, d) for d in rows]

    @staticmethod
    def _visible_alerts(s: Session, viewer: Viewer) -> list[AlertView]:
        query = select(Alert).where(col(Alert.state).in_(list(OPEN_ALERT_STATES)))
        if viewer.role == Role.OFFICER:
            query = query.where(Alert.officer_id == viewer.user_id)
        elif viewer.role == Role.CREW:
            mine = select(Offer.alert_id).where(
                Offer.crew_id == viewer.crew_id, Offer.state == OfferState.ACCEPTED
            )
            query = query.where(
                or_(col(Alert.id).in_(mine), col(Alert.help_crew_id) == viewer.crew_id)
            )
        alerts = s.exec(query.order_by(col(Alert.raised_at))).all()
        if not alerts:
            return []
        attached: dict[str, list[tuple[Offer, Crew]]] = {a.id: [] for a in alerts}
        rows = s.exec(
            select(Offer, Crew)
            .join(Crew, col(Crew.id) == col(Offer.crew_id))
            .where(
                col(Offer.alert_id).in_(list(attached)),
                Offer.state == OfferState.ACCEPTED,
                col(Offer.withdrawn_by).is_(None),
            )
            .order_by(col(Offer.accepted_at), col(Offer.id))
        ).all()
        for offer, crew in rows:
            attached[offer.alert_id].append((offer, crew))
        views = [alert_view(a, attached[a.id]) for a in alerts]
        if viewer.role == Role.CREW:
            views = [v for v in views if crew_sees_alert(viewer, v)]
        if viewer.role == Role.OFFICER:  # her own phone: as her frames show them
            views = [
                AlertView.model_validate(officer_alert(v.model_dump(mode="json")))
                for v in views
                if not v.duress  # she was shown a cancel: a cancelled alert is not listed
            ]
        return views

    async def prune_events(self) -> int:
        """Keep the newest `realtime.event_retention` events."""
        keep = self.ctx.settings.realtime.event_retention
        async with self.ctx.db.session() as s:
            counter = await s.get(Counter, EVENT_SEQ)
            head = counter.value if counter else 0
            result = await s.exec(delete(Event).where(col(Event.seq) <= head - keep))
            await s.commit()
            return int(result.rowcount or 0)


def _warnings(s: Session, viewer: Viewer) -> list[WarningView]:
    """The welfare warnings on the board (supervisors only), read with the rest."""
    if viewer.role != Role.SUPERVISOR:
        return []
    rows = s.exec(select(WelfareWarning).order_by(col(WelfareWarning.raised_at))).all()
    return [WarningView.model_validate_json(w.payload) for w in rows]

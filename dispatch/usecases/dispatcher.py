"""The dispatcher: the use cases as a few composed parts over one shared context.

    positions    live positions, relayed and batched to the database
    offering     the offering step, deadlines, retries, closing an alert
    alerts       the officer's alert                     (offering, positions)
    crews        duty, offers, connections               (offering)
    supervision  supervisors' hands on alerts            (offering)
    deployments  brief, go live, stand down              (offering)
    messages     incident messages, her signal, drills
    snapshots    replay from memory, or a snapshot       (positions)
    welfare      check-ins, escort timers, silent phones (alerts, positions)
    cluster      heartbeats, crews on other processes    (crews)

Each part is handed the context (store, database, hub, crew index, clock) and the
parts it names; nothing reaches another part through `self`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlmodel import col, select

from dispatch.config import Settings
from dispatch.logs import failure
from dispatch.realtime.events import KIND_ALERT, KIND_DEPLOYMENT, StoredEvent
from dispatch.realtime.hub import Hub
from dispatch.storage.db import Database
from dispatch.storage.models import EVENT_SEQ, Alert, Counter, Crew, Deployment, Offer
from dispatch.storage.store import make_store
from dispatch.usecases.alerts import Alerts
from dispatch.usecases.briefs import load_brief
from dispatch.usecases.cluster import Cluster
from dispatch.usecases.context import Clock, Context, UseCaseError, utc_now
from dispatch.usecases.crews import Crews
from dispatch.usecases.deployments import Deployments
from dispatch.usecases.messages import Messages
from dispatch.usecases.offering import Offering
from dispatch.usecases.positions import Positions
from dispatch.usecases.snapshot import Snapshots
from dispatch.usecases.supervision import Supervision
from dispatch.usecases.views import alert_view
from dispatch.usecases.welfare import Welfare
from dispatch.usecases.work import Work, attached_crews_async
from schemas.views import OPEN_ALERT_STATES, DeploymentState, OfferState

__all__ = ["Clock", "Dispatcher", "UseCaseError", "utc_now"]

log = logging.getLogger("dispatch.dispatcher")


@dataclass
class StoredMemory:
    """What memory follows from events, as the database has it now."""

    crews: list[Crew]
    head: int
    alerts: list[StoredEvent]  # open alerts, as their events would say
    deployments: list[StoredEvent]  # live deployments, likewise
    offers: list[Offer]  # open offers


class Dispatcher:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        # Events were lost to this process: the server closes every socket to resync.
        self.on_events_lost: Callable[[], None] = lambda: None
        ctx.sequencer.on_hole = self._events_lost
        self._reloading: asyncio.Task[None] | None = None
        self.positions = Positions(ctx)
        self.offering = Offering(ctx)
        self.alerts = Alerts(ctx, self.offering, self.positions)
        self.positions.is_live = self.alerts.live_of.__contains__
        self.crews = Crews(ctx, self.offering)
        self.supervision = Supervision(ctx, self.offering)
        self.deployments = Deployments(ctx, self.offering)
        self.messages = Messages(ctx)
        self.snapshots = Snapshots(ctx, self.positions)
        self.cluster = Cluster(ctx, self.crews)
        self.welfare = Welfare(ctx, self.alerts, self.positions)

    @classmethod
    def build(
        cls, *, db: Database, hub: Hub, settings: Settings, clock: Clock = utc_now
    ) -> Dispatcher:
        store = make_store(
            settings.database.url,
            db.engine,
            synchronous=settings.database.sqlite_synchronous,
            raises_at_once=settings.database.raises_at_once,
            raise_turn_wait_s=settings.database.raise_turn_wait_s,
        )
        return cls(Context(db=db, store=store, hub=hub, settings=settings, clock=clock))

    # -- what the slower paths (plans, people) use ----------------------------------------

    @property
    def db(self) -> Database:
        return self.ctx.db

    @property
    def settings(self) -> Settings:
        return self.ctx.settings

    def clock(self) -> datetime:
        return self.ctx.clock()

    @asynccontextmanager
    async def work(self) -> AsyncIterator[Work]:
        async with self.ctx.work() as w:
            yield w

    # -- start and stop -------------------------------------------------------------------

    async def start(self) -> None:
        """Memory from the database: crews and their last positions, who may see which
        officer; then deliver events from the stored head on, and resume open offers."""
        stored = await self._read_memory()
        for crew in stored.crews:
            self.ctx.track_crew(crew)
            self.positions.remember_crew(crew)
        self._remember(stored)
        self.ctx.sequencer.start(stored.head, await self.ctx.recent_events(stored.head))
        await self.ctx.store.start()
        await self.offering.start()
        await self.cluster.start()

    async def _read_memory(self) -> StoredMemory:
        async with self.ctx.db.session() as s:
            # The head first: a change committed after it is delivered as an event, over
            # rows that may already show it (each event is a whole view: no harm).
            counter = await s.get(Counter, EVENT_SEQ)
            crews = list((await s.exec(select(Crew))).all())
            open_alerts = (
                await s.exec(select(Alert).where(col(Alert.state).in_(list(OPEN_ALERT_STATES))))
            ).all()
            alerts = [
                StoredEvent(
                    0,
                    KIND_ALERT,
                    alert.id,
                    alert_view(alert, await attached_crews_async(s, alert.id)).model_dump_json(),
                    alert.officer_id,
                    (),
                )
                for alert in open_alerts
            ]
            live = await s.exec(select(Deployment).where(Deployment.state == DeploymentState.LIVE))
            deployments = []
            for dep in live.all():
                brief = await s.run_sync(partial(load_brief, dep=dep))
                deployments.append(
                    StoredEvent(0, KIND_DEPLOYMENT, dep.id, brief.model_dump_json(), None, ())
                )
            offers = (await s.exec(select(Offer).where(Offer.state == OfferState.OFFERED))).all()
        head = counter.value if counter else 0
        return StoredMemory(crews, head, alerts, deployments, list(offers))

    def _remember(self, stored: StoredMemory) -> None:
        """What the events would have told memory, as the database has it now."""
        for event in stored.alerts:
            self.positions.observe(event)
            self.offering.observe(event)
        for event in stored.deployments:
            self.alerts.observe(event)
        self.offering.remember_offers(stored.offers)

    # -- events lost ---------------------------------------------------------------------

    def _events_lost(self, first: int, last: int) -> None:
        """Events `first`-`last` were pruned before this process read them (a lag longer
        than the table keeps). At once, no crew sees an officer (on an alert that may
        have closed) and the clients are told to resync (`on_events_lost`, the
        server's); then memory is read back from the database."""
        self.positions.blind_crews()
        self.on_events_lost()
        if self._reloading is None or self._reloading.done():
            # One at a time: a hole during a reload makes it read again (`since`).
            self._reloading = self.ctx.spawn(self.reload())

    def _forget(self) -> None:
        self.positions.forget_alerts()
        self.alerts.forget_deployments()
        self.offering.forget()

    async def reload(self) -> None:
        """Memory as the database has it, then the events delivered meanwhile again
        (each is as new as the rows or newer; those after follow in sequence)."""
        backoff = 0.5
        while True:
            before = self.ctx.sequencer.head
            try:
                stored = await self._read_memory()
            except Exception as exc:  # the database away: crews stay blind till then
                log.warning("memory not read back yet, again in %g s: %s", backoff, failure(exc))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            since = self.ctx.sequencer.since(before)
            if since is not None:
                break
            # Another hole came while reading, or more events than the ring holds: again.
            await asyncio.sleep(backoff)
        self._forget()
        for crew in stored.crews:
            self.ctx.track_state(crew)
        self._remember(stored)
        for event in since:
            self.ctx.remember(event)
        self._reloading = None  # rebuilt: a hole from now on needs a reload of its own
        self.offering.take_up((e.entity_id for e in stored.alerts), stored.offers)
        log.warning("memory read back from the database after lost events")

    async def stop(self) -> None:
        self.offering.stop()
        await self.cluster.stop()
        await self.ctx.stop()
        await self.ctx.store.close()

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

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial

from sqlmodel import col, select

from dispatch.config import Settings
from dispatch.realtime.events import KIND_ALERT, KIND_DEPLOYMENT, StoredEvent
from dispatch.realtime.hub import Hub
from dispatch.storage.db import Database
from dispatch.storage.models import EVENT_SEQ, Alert, Counter, Crew, Deployment
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
from schemas.views import OPEN_ALERT_STATES, DeploymentState

__all__ = ["Clock", "Dispatcher", "UseCaseError", "utc_now"]


class Dispatcher:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
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
        async with self.ctx.db.session() as s:
            for crew in (await s.exec(select(Crew))).all():
                self.ctx.track_crew(crew)
                self.positions.remember_crew(crew)
            counter = await s.get(Counter, EVENT_SEQ)
            head = counter.value if counter else 0
            open_alerts = (
                await s.exec(select(Alert).where(col(Alert.state).in_(list(OPEN_ALERT_STATES))))
            ).all()
            for alert in open_alerts:
                view = alert_view(alert, await attached_crews_async(s, alert.id))
                self.positions.observe(
                    StoredEvent(
                        0, KIND_ALERT, alert.id, view.model_dump_json(), alert.officer_id, ()
                    )
                )
            for dep in (
                await s.exec(select(Deployment).where(Deployment.state == DeploymentState.LIVE))
            ).all():
                brief = await s.run_sync(partial(load_brief, dep=dep))
                self.alerts.observe(
                    StoredEvent(0, KIND_DEPLOYMENT, dep.id, brief.model_dump_json(), None, ())
                )
        self.ctx.sequencer.start(head, await self.ctx.recent_events(head))
        await self.ctx.store.start()
        await self.offering.start()
        await self.cluster.start()

    async def stop(self) -> None:
        self.offering.stop()
        await self.cluster.stop()
        await self.ctx.stop()
        await self.ctx.store.close()

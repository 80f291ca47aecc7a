"""Everything the running server holds, built in the app's lifespan (never at import)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlmodel import Session

from dispatch.audit.job import RetentionJob
from dispatch.auth.session_cache import SessionCache
from dispatch.cap.webhook import CapWebhook
from dispatch.config import Settings
from dispatch.gc_policy import GcKeeper
from dispatch.logs import failure
from dispatch.metrics import Metrics
from dispatch.realtime.events import StoredEvent
from dispatch.realtime.hub import Hub, make_hub
from dispatch.realtime.registry import Registry
from dispatch.scheduling.scheduler import OperationsScheduler
from dispatch.storage.db import Database
from dispatch.usecases.context import (
    EVENTS_CHANNEL,
    POSITIONS_CHANNEL,
    PRESENCE_CHANNEL,
    Clock,
    utc_now,
)
from dispatch.usecases.dispatcher import Dispatcher
from dispatch.usecases.planner_pool import PlannerPool
from dispatch.usecases.plans import PlanCases
from schemas.common import Role
from schemas.errors import CloseCode

log = logging.getLogger("dispatch")

SESSIONS_CHANNEL = "dispatch.sessions"  # ended sessions: every process closes their sockets
READY_TIMEOUT_S = 2.0  # /readyz: longer without an answer from the database or hub = not ready
CHECKPOINT_S = 5.0  # SQLite: how often the write-ahead log is copied back (off the loop)


@dataclass
class Services:
    settings: Settings
    db: Database
    hub: Hub
    dispatcher: Dispatcher
    registry: Registry
    sessions: SessionCache
    plans: PlanCases
    scheduler: OperationsScheduler
    metrics: Metrics
    tune_gc: bool = False
    started: bool = False
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _gc: GcKeeper | None = None
    retention: RetentionJob | None = None  # the daily purge, from start()
    cap: CapWebhook | None = None  # CAP messages to cap.webhook_url (off when it is empty)

    @classmethod
    def build(
        cls, settings: Settings, clock: Clock = utc_now, *, tune_gc: bool = False
    ) -> Services:
        db = Database(
            settings.database.url, sqlite_synchronous=settings.database.sqlite_synchronous
        )
        hub = make_hub(settings.pubsub.url)
        dispatcher = Dispatcher.build(db=db, hub=hub, settings=settings, clock=clock)
        registry = Registry()
        dispatcher.ctx.outward.append(registry.deliver_event)  # after memory has followed
        dispatcher.positions.relay = registry.deliver_position
        dispatcher.ctx.send_now = registry.send_now
        dispatcher.welfare.here = registry.connected_here
        dispatcher.on_events_lost = partial(
            registry.close_all, CloseCode.TRY_AGAIN, "events were lost here: reconnect and sync"
        )
        plans = PlanCases(dispatcher, PlannerPool())
        scheduler = OperationsScheduler(dispatcher)
        plans.on_schedule_change = scheduler.schedule
        metrics = Metrics()
        metrics.events_filled.set_function(lambda: dispatcher.ctx.sequencer.filled)
        metrics.event_holes.set_function(lambda: dispatcher.ctx.sequencer.holes)
        dispatcher.ctx.alert_stored = metrics.alert_to_offer.observe
        metrics.store_busy.set_function(lambda: dispatcher.ctx.store.busy)
        at_once = dispatcher.offering.at_once
        for outcome in at_once:
            metrics.raised_at_once.labels(outcome).set_function(
                partial(at_once.__getitem__, outcome)
            )
        metrics.routine_waited.set_function(lambda: dispatcher.ctx.priority.waited)
        dispatcher.ctx.event_committed = metrics.committed
        dispatcher.ctx.outward.append(metrics.delivered)
        cap = CapWebhook(settings.cap, db=db, clock=clock)
        dispatcher.ctx.outward.append(cap.observe)  # queues only: off the alert path
        pool: Any = db.engine.sync_engine.pool
        metrics.db_pool_in_use.set_function(lambda: getattr(pool, "checkedout", lambda: 0)())
        metrics.db_pool_size.set_function(lambda: getattr(pool, "size", lambda: 0)())
        cluster = dispatcher.cluster
        metrics.cluster_peers.set_function(lambda: cluster.alive_peers)
        metrics.cluster_takeovers.set_function(lambda: cluster.taken_over)
        for role in Role:
            metrics.connections.labels(role.value).set_function(partial(registry.count, role))
        return cls(
            settings,
            db,
            hub,
            dispatcher,
            registry,
            SessionCache(db),
            plans,
            scheduler,
            metrics,
            tune_gc,
            cap=cap,
        )

    async def start(self) -> None:
        await self.db.create_tables()
        await self.hub.connect()
        channels: list[tuple[str, Callable[[str], None]]] = [(SESSIONS_CHANNEL, self._end_session)]
        if self.hub.shared:
            channels += [
                (EVENTS_CHANNEL, self._peer_event),
                (POSITIONS_CHANNEL, self.dispatcher.positions.from_peer),
                (PRESENCE_CHANNEL, self.dispatcher.cluster.from_peer),
            ]
        ready = [asyncio.Event() for _ in channels]
        self._tasks = [
            asyncio.create_task(self._pump(channel, deliver, done))
            for (channel, deliver), done in zip(channels, ready, strict=True)
        ]
        for event in ready:
            await event.wait()
        await self.sessions.preload(self.dispatcher.clock())
        await self.dispatcher.start()
        d, r = self.settings.dispatch, self.settings.realtime
        self._every(d.sweep_interval_s, self.dispatcher.offering.sweep)
        self._every(r.position_flush_s, self.dispatcher.positions.flush)
        self._every(60.0, self.dispatcher.snapshots.prune_events)
        self._every(d.sweep_interval_s, self._expire_sockets)
        self._every(CHECKPOINT_S, self.dispatcher.ctx.store.checkpoint)
        self._every(self.settings.welfare.sweep_s, self.dispatcher.welfare.sweep)
        self._every(r.supervisor_positions_every_s, self._flush_positions)
        if self.dispatcher.cluster.enabled:
            self._every(self.settings.cluster.heartbeat_s, self.dispatcher.cluster.beat)
        await self.scheduler.start()  # in the lifespan, never at import
        self.retention = RetentionJob(self.db, self.settings.retention, self.dispatcher.clock)
        await self.retention.start()
        if self.cap is not None:
            await self.cap.start()
        self.metrics.start()
        self.started = True
        if self.tune_gc:
            r = self.settings.realtime
            self._gc = GcKeeper(
                every_s=r.gc_freeze_every_s,
                after_closed=r.gc_collect_after_closed,
                closed=lambda: self.registry.closed,
            )
            self._gc.start()

    async def unready(self) -> str | None:
        """Why this process cannot take phones now, or None when it can."""
        if not self.started:
            return "The server is starting."
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                await self.dispatcher.ctx.store.read(_select_one)
        except Exception:
            return "The database does not answer."
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                await self.hub.ping()
        except Exception:
            return "The event hub does not answer."
        return None

    async def stop(self) -> None:
        self.started = False
        self.metrics.stop()
        if self._gc is not None:
            self._gc.stop()
        self.scheduler.stop()
        if self.retention is not None:
            self.retention.stop()
        if self.cap is not None:
            await self.cap.stop()
        self.plans.planner.close()
        await self.dispatcher.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.dispatcher.positions.flush()
        await self.hub.disconnect()
        await self.db.close()

    async def _pump(
        self, channel: str, deliver: Callable[[str], None], ready: asyncio.Event
    ) -> None:
        """Deliver a hub channel, for ever. If the subscription itself fails (Redis went
        away), every socket is closed with 1013 so that its client resyncs, and the
        subscription is made again with backoff."""
        backoff = 0.2
        while True:
            try:
                async with self.hub.subscribe(channel) as messages:
                    ready.set()
                    backoff = 0.2
                    async for text in messages:
                        try:
                            deliver(text)
                        except Exception:
                            log.exception("could not deliver a message on %s", channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("lost the hub subscription to %s; resubscribing", channel)
                self.registry.close_all(
                    CloseCode.TRY_AGAIN, "event stream interrupted: reconnect and sync"
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _peer_event(self, text: str) -> None:
        self.dispatcher.ctx.sequencer.offer(StoredEvent.from_json(text))

    def _end_session(self, session_hash: str) -> None:
        self.sessions.end(session_hash)
        for conn in self.registry.by_session(session_hash):
            conn.close(CloseCode.SESSION_ENDED, "signed out: sign in again")

    async def end_session(self, session_hash: str) -> None:
        await self.hub.publish(SESSIONS_CHANNEL, session_hash)

    async def _flush_positions(self) -> None:
        self.registry.flush_positions()

    async def _expire_sockets(self) -> None:
        """Close the sockets of sessions that expired (by the server's clock), and those
        that never synced within `realtime.sync_within_s` (by the process's own)."""
        limit = self.settings.realtime.sync_within_s
        for conn in self.registry.unsynced_since(time.monotonic() - limit):
            conn.close(CloseCode.TRY_AGAIN, f"no sync within {limit:g} s: reconnect and sync")
        now = self.dispatcher.clock()
        due = deque(self.registry.expiring(now))
        try:
            while due:
                conn = due[0]
                if conn.viewer.role == Role.SUPERVISOR:
                    # A console session's expiry slides with use, perhaps through another
                    # process: the database says whether it really ended.
                    try:
                        stored = await self.sessions.stored_expiry(conn.viewer.session_hash)
                    except Exception as exc:  # looked at again next time; the rest now
                        log.warning("session expiry not read: %s", failure(exc))
                        self.registry.watch_expiry(due.popleft())
                        continue
                    if stored is not None and stored > now:
                        conn.viewer.expires_at = stored
                        self.registry.watch_expiry(due.popleft())
                        continue
                self.sessions.forget(conn.viewer.session_hash)
                conn.close(CloseCode.SESSION_ENDED, "session expired: sign in again")
                due.popleft()
        finally:  # cancelled half way (shutdown): what is left stays watched
            for conn in due:
                self.registry.watch_expiry(conn)

    def _every(self, seconds: float, job: Callable[[], Awaitable[Any]]) -> None:
        async def loop() -> None:
            while True:
                await asyncio.sleep(seconds)
                try:
                    await job()
                except Exception as exc:
                    name = getattr(job, "__name__", "job")
                    log.error("periodic job %s failed: %s", name, failure(exc))

        self._tasks.append(asyncio.create_task(loop()))


def _select_one(session: Session) -> None:
    session.connection().exec_driver_sql("SELECT 1")

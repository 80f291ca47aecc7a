"""Everything the running server holds, built in the app's lifespan (never at import)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from dispatch.config import Settings
from dispatch.realtime.events import StoredEvent
from dispatch.realtime.hub import Hub, make_hub
from dispatch.realtime.registry import Registry
from dispatch.scheduling.scheduler import OperationsScheduler
from dispatch.storage.db import Database
from dispatch.usecases.dispatcher import EVENTS_CHANNEL, POSITIONS_CHANNEL, Clock, utc_now
from dispatch.usecases.planner_pool import PlannerPool
from dispatch.usecases.plans import PlanCases
from dispatch.usecases.snapshot import Dispatcher
from schemas.errors import CloseCode

log = logging.getLogger("dispatch")

SESSIONS_CHANNEL = "dispatch.sessions"  # ended sessions: every process closes their sockets


@dataclass
class Services:
    settings: Settings
    db: Database
    hub: Hub
    dispatcher: Dispatcher
    registry: Registry
    plans: PlanCases
    scheduler: OperationsScheduler
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings, clock: Clock = utc_now) -> Services:
        db = Database(settings.database.url)
        hub = make_hub(settings.pubsub.url)
        dispatcher = Dispatcher(db=db, hub=hub, settings=settings, clock=clock)
        plans = PlanCases(dispatcher, PlannerPool())
        scheduler = OperationsScheduler(dispatcher)
        plans.on_schedule_change = scheduler.schedule
        return cls(settings, db, hub, dispatcher, Registry(), plans, scheduler)

    async def start(self) -> None:
        await self.db.create_tables()
        await self.hub.connect()
        ready = [asyncio.Event() for _ in range(3)]
        self._tasks = [
            asyncio.create_task(self._pump(EVENTS_CHANNEL, self._deliver_event, ready[0])),
            asyncio.create_task(self._pump(POSITIONS_CHANNEL, self._deliver_position, ready[1])),
            asyncio.create_task(self._pump(SESSIONS_CHANNEL, self._end_session, ready[2])),
        ]
        for event in ready:
            await event.wait()
        await self.dispatcher.start()
        self._tasks += [
            asyncio.create_task(
                self._every(self.settings.dispatch.sweep_interval_s, self.dispatcher.sweep)
            ),
            asyncio.create_task(
                self._every(
                    self.settings.realtime.position_flush_s, self.dispatcher.flush_positions
                )
            ),
            asyncio.create_task(self._every(60.0, self.dispatcher.prune_events)),
        ]
        await self.scheduler.start()  # in the lifespan, never at import

    async def stop(self) -> None:
        self.scheduler.stop()
        self.plans.planner.close()
        await self.dispatcher.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.dispatcher.flush_positions()
        await self.hub.disconnect()
        await self.db.close()

    async def _pump(self, channel: str, deliver: Any, ready: asyncio.Event | None = None) -> None:
        """Deliver a hub channel, for ever. If the subscription itself fails (Redis went
        away), every socket is closed with 1013 so that its client resyncs from storage,
        and the subscription is made again with backoff."""
        backoff = 0.2
        while True:
            try:
                async with self.hub.subscribe(channel) as messages:
                    if ready is not None:
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
                for conn in self.registry.everyone():
                    conn.close(CloseCode.TRY_AGAIN, "event stream interrupted: reconnect and sync")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _deliver_event(self, text: str) -> None:
        event = StoredEvent.from_json(text)
        self.dispatcher.observe(event)
        self.registry.deliver_event(event)

    def _deliver_position(self, text: str) -> None:
        self.registry.deliver_position(json.loads(text))

    def _end_session(self, session_hash: str) -> None:
        for conn in self.registry.by_session(session_hash):
            conn.close(CloseCode.SESSION_ENDED, "signed out: sign in again")

    async def end_session(self, session_hash: str) -> None:
        await self.hub.publish(SESSIONS_CHANNEL, session_hash)

    @staticmethod
    async def _every(seconds: float, job: Any) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:
                log.exception("periodic job %s failed", getattr(job, "__name__", job))

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
from dispatch.storage.db import Database
from dispatch.usecases.dispatcher import EVENTS_CHANNEL, POSITIONS_CHANNEL, Clock, utc_now
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
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings, clock: Clock = utc_now) -> Services:
        db = Database(settings.database.url)
        hub = make_hub(settings.pubsub.url)
        dispatcher = Dispatcher(db=db, hub=hub, settings=settings, clock=clock)
        return cls(settings, db, hub, dispatcher, Registry())

    async def start(self) -> None:
        await self.db.create_tables()
        await self.hub.connect()
        ready = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._pump_events(ready)),
            asyncio.create_task(self._pump_positions()),
            asyncio.create_task(self._pump_ended_sessions()),
        ]
        await ready.wait()
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

    async def stop(self) -> None:
        await self.dispatcher.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.dispatcher.flush_positions()
        await self.hub.disconnect()
        await self.db.close()

    async def _pump_events(self, ready: asyncio.Event) -> None:
        async with self.hub.subscribe(EVENTS_CHANNEL) as messages:
            ready.set()
            async for text in messages:
                try:
                    event = StoredEvent.from_json(text)
                    self.dispatcher.observe(event)
                    self.registry.deliver_event(event)
                except Exception:
                    log.exception("could not deliver an event")

    async def end_session(self, session_hash: str) -> None:
        await self.hub.publish(SESSIONS_CHANNEL, session_hash)

    async def _pump_ended_sessions(self) -> None:
        async with self.hub.subscribe(SESSIONS_CHANNEL) as messages:
            async for session_hash in messages:
                for conn in self.registry.by_session(session_hash):
                    conn.close(CloseCode.SESSION_ENDED, "signed out: sign in again")

    async def _pump_positions(self) -> None:
        async with self.hub.subscribe(POSITIONS_CHANNEL) as messages:
            async for text in messages:
                try:
                    self.registry.deliver_position(json.loads(text))
                except Exception:
                    log.exception("could not deliver a position")

    @staticmethod
    async def _every(seconds: float, job: Any) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception:
                log.exception("periodic job %s failed", getattr(job, "__name__", job))

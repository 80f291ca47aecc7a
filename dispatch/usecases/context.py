"""What every part of the dispatcher shares, built once in the app factory.

The store (the core's transactions) and the database (the slower paths), the hub,
the crew index with what this process knows of each crew, the clock and settings,
and the sequencer through which every event, this process's or a peer's, reaches
memory and the clients in order. A part is handed this and nothing wider.

There is no process-wide lock. Decisions that conflict are serialised where they
conflict: per alert (`locks`), and in the database (conditional claims on crews,
rows locked for update on PostgreSQL, one writer at a time on SQLite).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlmodel import col, select

from dispatch.config import Settings
from dispatch.core.lifecycle import IllegalTransition
from dispatch.core.matching import CrewIndex, RankingRules
from dispatch.logs import failure
from dispatch.realtime.events import KIND_CREW, StoredEvent
from dispatch.realtime.hub import Hub
from dispatch.realtime.sequencer import Sequencer
from dispatch.storage.db import Database
from dispatch.storage.models import EVENT_SEQ, Counter, Crew, Event
from dispatch.storage.store import Store, Unit, first_in_line
from dispatch.usecases.priority import Priority
from dispatch.usecases.work import Changes, Tx, Work
from schemas.common import CrewMode
from schemas.errors import ErrorCode
from schemas.views import CrewState, CrewView

log = logging.getLogger("dispatch")

EVENTS_CHANNEL = "dispatch.events"
POSITIONS_CHANNEL = "dispatch.positions"
PRESENCE_CHANNEL = "dispatch.presence"  # crews connecting to and leaving each node
NODE_ID = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"  # this process, in the cluster
GAP_WAIT_S = 0.05  # how long a missing event is waited for before it is read from the table

Clock = Callable[[], datetime]
T = TypeVar("T")


def utc_now() -> datetime:
    return datetime.now(UTC)


class UseCaseError(Exception):
    """A refused request: a stable code and a sentence for the client."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class Refusal(Exception):
    """Raised inside a transaction to roll it back with nothing changed (no resync)."""


class KeyedLocks:
    """One asyncio lock per key (an alert id), kept only while someone holds or waits."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class CrewBook:
    """What this process knows of each crew: its state (from crew events), how many of
    its members are connected here, and on which other processes (nodes) it is connected
    (from the cluster's presence). Ready = available and connected somewhere."""

    def __init__(self) -> None:
        self.states: dict[str, CrewState] = {}
        self.connections: dict[str, int] = {}
        self.remote: dict[str, set[str]] = {}  # crew id -> the other nodes it is on
        # crew id -> (callsign, mode) as last stored or heard: what an offer's crew event
        # says without a read (the one-statement raise checks it against the row).
        self.names: dict[str, tuple[str, CrewMode]] = {}
        self.heard_at: dict[str, int] = {}  # crew id -> the seq of its latest event here

    def connected_anywhere(self, crew_id: str) -> bool:
        return self.connections.get(crew_id, 0) > 0 or bool(self.remote.get(crew_id))

    def ready(self, crew_id: str) -> bool:
        return self.states.get(crew_id) == CrewState.AVAILABLE and self.connected_anywhere(crew_id)


class Context:
    def __init__(
        self, *, db: Database, store: Store, hub: Hub, settings: Settings, clock: Clock = utc_now
    ) -> None:
        self.db, self.store, self.hub = db, store, hub
        self.settings, self.clock = settings, clock
        d = settings.dispatch
        self.rules = RankingRules(
            fresh_s=d.position_fresh_s,
            detour_factor=d.detour_factor,
            speed_mps={
                CrewMode.FOOT: d.speed_mps.foot,
                CrewMode.BIKE: d.speed_mps.bike,
                CrewMode.CAR: d.speed_mps.car,
            },
        )
        self.index = CrewIndex()
        self.crews = CrewBook()
        self.locks = KeyedLocks()
        self.priority = Priority(settings.dispatch.routine_wait_max_s)
        # Who follows the delivered events: the parts' memory, then (`outward`) what
        # tells the world (sockets, metrics). `remember` is the first half alone.
        self.observers: list[Callable[[StoredEvent], None]] = []
        self.outward: list[Callable[[StoredEvent], None]] = []
        self.on_crew_ready: Callable[[], None] = lambda: None  # the offering part's kick
        # A crew's first member connected here (True) or its last left (False): the cluster's
        self.on_presence: Callable[[str, bool], None] = lambda crew_id, up: None
        self.on_resync: Callable[[], Awaitable[None]] | None = None  # the offering part's
        self.alert_stored: Callable[[float], None] = lambda seconds: None  # a metric
        self.event_committed: Callable[[StoredEvent], None] = lambda event: None  # a metric
        # Sends the frames a raise's events put in these crews' outboxes, from the raise's
        # own task (the app's registry; None: left to each socket's writer).
        self.send_now: Callable[[set[str]], None] | None = None
        # The ring never holds more than the table keeps: a replay is never older than
        # what a restarted process could replay.
        r = settings.realtime
        self.sequencer = Sequencer(
            self._deliver,
            self._fill,
            ring=min(r.replay_limit, r.event_retention),
            gap_wait_s=GAP_WAIT_S,
        )
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- background tasks ---------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """A background task, in this process's care (cancelled at stop, failures
        logged). One set going by a raise does not inherit its place first in line
        for the database (`first_in_line`): only the raise itself goes first."""
        loop = asyncio.get_running_loop()
        if first_in_line.get():
            context = contextvars.copy_context()
            context.run(first_in_line.set, False)
            task = loop.create_task(coro, context=context)
        else:
            task = loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        exc = None if task.cancelled() else task.exception()
        if exc is not None:
            log.error("background dispatch task failed: %s", failure(exc))

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.sequencer.stop()

    # -- transactions -------------------------------------------------------------

    async def transact(self, fn: Callable[[Tx], T]) -> T:
        """Run a core step as one transaction; then its effects and its events."""
        box: list[Tx] = []

        def unit(u: Unit) -> T:
            tx = Tx(self.clock(), unit=u)
            box[:] = [tx]
            result = fn(tx)
            tx.number_events()
            return result

        try:
            result = await self.store.run_unit(unit)
        except (UseCaseError, Refusal, IllegalTransition):
            raise  # refusals change nothing: no resync (a phone could ask for one at will)
        except BaseException:
            await self.resync_after_failure()
            raise
        await self.committed(box[0])
        return result

    @asynccontextmanager
    async def work(self) -> AsyncIterator[Work]:
        """An async transaction for the slower paths (plans, people, deployments)."""
        try:
            async with self.db.session() as session:
                w = Work(self.clock(), session=session)
                yield w
                await w.number_events()
                await session.commit()
        except (UseCaseError, IllegalTransition):
            raise
        except BaseException:
            await self.resync_after_failure()
            raise
        await self.committed(w)

    async def committed(self, changes: Changes) -> None:
        """A committed change's effects on memory, then its events, in order."""
        for effect in changes.after_commit:
            effect()
        for event in changes.events:
            self.event_committed(event)
            self.sequencer.offer(event)
        if self.hub.shared:
            # The change is stored: whatever happens to the hub now, the caller must not
            # be told otherwise. Queued in commit order (nothing above awaits); peers
            # that miss an event fill the gap from the table.
            for event in changes.events:
                self.hub.publish_later(EVENTS_CHANNEL, event.to_json())
        if first_in_line.get() and self.send_now is not None:  # a raise: offers go now
            self.send_now({c for event in changes.events for c in event.crew_ids})

    # -- events into memory ---------------------------------------------------------

    def _deliver(self, event: StoredEvent) -> None:
        self.remember(event)
        for observer in self.outward:
            observer(event)

    def remember(self, event: StoredEvent) -> None:
        """An event's effect on memory (a delivery, or one told again after a reload)."""
        if event.kind == KIND_CREW:
            self._observe_crew(event)
        for observer in self.observers:
            observer(event)

    async def _fill(self, first: int, last: int) -> list[StoredEvent]:
        async with self.db.session() as s:
            rows = await s.exec(
                select(Event)
                .where(col(Event.seq) >= first, col(Event.seq) <= last)
                .order_by(col(Event.seq))
            )
            return [StoredEvent.from_row(r) for r in rows.all()]

    async def recent_events(self, head: int) -> list[StoredEvent]:
        """The newest stored events up to `head` (as many as a replay may need)."""
        r = self.settings.realtime
        keep = min(r.replay_limit, r.event_retention)
        return await self._fill(max(1, head - keep + 1), head)

    def _observe_crew(self, event: StoredEvent) -> None:
        view = event.view()
        crew_id = event.entity_id
        self.crews.heard_at[crew_id] = event.seq
        self.crews.states[crew_id] = CrewState(view["state"])
        self.crews.names[crew_id] = (view["callsign"], CrewMode(view["mode"]))
        self.index.set_speed(crew_id, self.speed(CrewMode(view["mode"])))
        self.refresh_ready(crew_id)

    # -- crews ----------------------------------------------------------------------

    def speed(self, mode: CrewMode) -> float:
        return self.rules.speed_mps[mode]

    def refresh_ready(self, crew_id: str) -> None:
        ready = self.crews.ready(crew_id)
        was = self.index.is_ready(crew_id)
        self.index.set_ready(crew_id, ready)
        if ready and not was:
            self.on_crew_ready()

    def taken(self, crew: CrewView) -> None:
        """A claim on the crew has committed: its state as the claim left it, at once
        (its event follows, in sequence, and says the same)."""
        self.crews.states[crew.id] = crew.state
        self.refresh_ready(crew.id)

    def track_crew(self, crew: Crew) -> None:
        """A crew as its row has it, its last stored position too (at start)."""
        if crew.last_fix_at is not None and crew.last_lat is not None and crew.last_lon is not None:
            self.index.set_position(
                crew.id, crew.last_lat, crew.last_lon, crew.last_fix_at.timestamp()
            )
        self.track_state(crew)

    def track_state(self, crew: Crew) -> None:
        """A crew's state, name and mode as its row has them."""
        self.crews.states[crew.id] = CrewState(crew.state)
        self.crews.names[crew.id] = (crew.callsign, CrewMode(crew.mode))
        self.index.set_speed(crew.id, self.speed(CrewMode(crew.mode)))
        self.refresh_ready(crew.id)

    async def resync_after_failure(self) -> None:
        """After a failed transaction, make memory agree with the database again. A
        failure may have come after the commit (a connection lost while PostgreSQL
        answered): its events are then read back here rather than wait for a later
        event to show the gap."""
        try:
            before = self.sequencer.head
            async with self.db.session() as s:
                rows = (await s.exec(select(Crew))).all()
                # A crew whose event came while the rows were read: memory is as new as
                # the row or newer (what follows its event comes in sequence).
                for crew in rows:
                    if self.crews.heard_at.get(crew.id, 0) <= before:
                        self.crews.states[crew.id] = CrewState(crew.state)
                        self.refresh_ready(crew.id)
                counter = await s.get(Counter, EVENT_SEQ)
            head = counter.value if counter else 0
            if head > self.sequencer.head:
                for event in await self._fill(self.sequencer.head + 1, head):
                    self.sequencer.offer(event)
            if self.on_resync is not None:
                await self.on_resync()
        except Exception:
            log.warning("could not resync memory after a failed transaction")

"""The dispatcher: shared state and the offering step every use case ends with.

Every change runs as a `Work` under one lock, so that within a process the
decisions are made one at a time against fresh rows. Claims on a crew are
conditional updates in the database, so that two processes never give one
crew two alerts.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from dispatch.config import Settings
from dispatch.core.lifecycle import is_open_alert, move_crew, move_offer, settle_alert
from dispatch.core.matching import CrewIndex, RankingRules
from dispatch.realtime.events import StoredEvent
from dispatch.realtime.hub import Hub
from dispatch.storage.db import Database
from dispatch.storage.models import Alert, AlertNote, Counter, Crew, Offer
from dispatch.usecases.work import EVENT_SEQ, Work, is_active_assignment
from schemas.common import CrewMode, Position, Role
from schemas.errors import ErrorCode
from schemas.server import LivePosition
from schemas.views import AlertState, AssignmentStatus, CrewState, OfferState

log = logging.getLogger("dispatch")

EVENTS_CHANNEL = "dispatch.events"
POSITIONS_CHANNEL = "dispatch.positions"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class UseCaseError(Exception):
    """A refused request: a stable code and a sentence for the client."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class DispatcherBase:
    def __init__(
        self, *, db: Database, hub: Hub, settings: Settings, clock: Clock = utc_now
    ) -> None:
        self.db, self.hub, self.settings, self.clock = db, hub, settings, clock
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
        self.lock = asyncio.Lock()
        self.index = CrewIndex()
        self.connections: dict[str, int] = {}  # crew id -> connected members
        self.waiting: set[str] = set()  # alerts that want more crews than they have offers
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._retry_scheduled = False
        self._withdrawals: dict[str, asyncio.Task[None]] = {}  # crews gone, within the grace
        self.officer_last: dict[str, LivePosition] = {}  # latest fix of each officer

    # -- plumbing -------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background dispatch task failed", exc_info=task.exception())

    @asynccontextmanager
    async def work(self) -> AsyncIterator[Work]:
        async with self.lock:
            try:
                async with self.db.session() as session:
                    w = Work(session=session, now=self.clock())
                    yield w
                    events = await w.number_events()
                    await session.commit()
            except UseCaseError:
                raise  # refusals are raised before anything changes
            except BaseException:
                await self._resync_after_failure()
                raise
            for effect in w.after_commit:
                effect()
            for event in events:
                self.observe(event)  # at once: the hub's copy comes back a moment later
            # The change is stored: whatever happens to the hub now, the caller must not be
            # told otherwise. A lost event reaches clients when they resync from the table.
            for event in events:
                try:
                    await self.hub.publish(EVENTS_CHANNEL, event.to_json())
                except Exception:
                    log.exception(
                        "could not publish event %d; clients resync from storage", event.seq
                    )

    def observe(self, event: StoredEvent) -> None:
        """Follow what an event changes in memory (overridden by the position relay)."""

    async def _resync_after_failure(self) -> None:
        """After a failed transaction, make memory agree with the database again: crew
        readiness (claims touch the index) and the alerts that may want crews."""
        try:
            async with self.db.session() as s:
                for crew in (await s.exec(select(Crew))).all():
                    self._refresh_ready(crew.id, CrewState(crew.state))
                open_ids = (
                    await s.exec(
                        select(Alert.id).where(
                            col(Alert.state).notin_([AlertState.RESOLVED, AlertState.CANCELLED])
                        )
                    )
                ).all()
            self.waiting.update(open_ids)  # retry_waiting drops the ones that are covered
        except Exception:
            log.exception("could not resync memory after a failed transaction")

    def _refresh_ready(self, crew_id: str, state: CrewState) -> None:
        ready = state == CrewState.AVAILABLE and self.connections.get(crew_id, 0) > 0
        self.index.set_ready(crew_id, ready)
        if ready:
            self.kick()

    def note_officer_position(self, officer_id: str, position: Position, at: datetime) -> None:
        self.officer_last[officer_id] = LivePosition.of(Role.OFFICER, officer_id, position, at)

    def speed(self, mode: CrewMode) -> float:
        return self.rules.speed_mps[mode]

    # -- start and stop -------------------------------------------------------

    async def start(self) -> None:
        """Load crews, re-arm open offers from their stored deadlines, resume alerts."""
        async with self.db.session() as s:
            if await s.get(Counter, EVENT_SEQ) is None:
                s.add(Counter(name=EVENT_SEQ, value=0))
                await s.commit()
            for crew in (await s.exec(select(Crew))).all():
                self.track_crew(crew)
            offers = (await s.exec(select(Offer).where(Offer.state == OfferState.OFFERED))).all()
        for offer in offers:
            self.arm(offer.id, offer.deadline)
        async with self.work() as w:
            rows = await w.session.exec(
                select(Alert)
                .where(col(Alert.state).notin_([AlertState.RESOLVED, AlertState.CANCELLED]))
                .order_by(col(Alert.urgent).desc(), col(Alert.raised_at))
            )
            for alert in rows.all():
                await self.offer_step(w, alert)
        log.info(
            "dispatcher started: %d crews, %d open offers re-armed", len(self.index), len(offers)
        )

    async def stop(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def track_crew(self, crew: Crew) -> None:
        self.index.set_speed(crew.id, self.speed(CrewMode(crew.mode)))
        if crew.last_fix_at is not None and crew.last_lat is not None and crew.last_lon is not None:
            self.index.set_position(
                crew.id, crew.last_lat, crew.last_lon, crew.last_fix_at.timestamp()
            )
        self.index.set_ready(crew.id, False)

    # -- offer deadlines ------------------------------------------------------

    def arm(self, offer_id: str, deadline: datetime) -> None:
        delay = max(0.0, (deadline - self.clock()).total_seconds())
        loop = asyncio.get_running_loop()
        old = self._timers.pop(offer_id, None)
        if old is not None:
            old.cancel()
        self._timers[offer_id] = loop.call_later(
            delay, lambda: self.spawn(self.expire_offer(offer_id))
        )

    def disarm(self, offer_id: str) -> None:
        handle = self._timers.pop(offer_id, None)
        if handle is not None:
            handle.cancel()

    async def expire_offer(self, offer_id: str) -> None:
        self._timers.pop(offer_id, None)
        async with self.work() as w:
            offer = await w.session.get(Offer, offer_id, with_for_update=True)
            if offer is None or offer.state != OfferState.OFFERED:
                return  # answered, withdrawn, or swept by another process first
            if offer.deadline > w.now:
                w.after_commit.append(lambda: self.arm(offer_id, offer.deadline))
                return
            await self.close_offer(w, offer, OfferState.EXPIRED, "no answer before the deadline")

    async def sweep(self) -> None:
        """Backstop for the timers: expire offers past their deadline; retry waiting alerts."""
        async with self.db.session() as s:
            due = (
                await s.exec(
                    select(Offer.id).where(
                        Offer.state == OfferState.OFFERED, col(Offer.deadline) <= self.clock()
                    )
                )
            ).all()
        for offer_id in due:
            try:
                await self.expire_offer(offer_id)
            except Exception:
                log.exception("could not expire offer %s", offer_id)
        if self.waiting:
            await self.retry_waiting()

    # -- the offering step ----------------------------------------------------

    async def close_offer(self, w: Work, offer: Offer, state: OfferState, reason: str) -> None:
        """Decline, expiry or withdrawal: free the crew and move the alert on."""
        offer.state = move_offer(OfferState(offer.state), state)
        offer.closed_at, offer.reason = w.now, reason
        w.session.add(offer)
        self.disarm(offer.id)
        crew = await w.session.get(Crew, offer.crew_id)
        alert = await w.session.get(Alert, offer.alert_id)
        assert crew is not None and alert is not None
        if crew.offer_id == offer.id:
            crew.state = move_crew(CrewState(crew.state), CrewState.AVAILABLE)
            crew.offer_id, crew.updated_at = None, w.now
            w.session.add(crew)
            w.emit_crew(crew)
            w.after_commit.append(lambda: self._refresh_ready(crew.id, CrewState.AVAILABLE))
        w.emit_offer(offer, alert)
        if is_open_alert(AlertState(alert.state)):
            await self.offer_step(w, alert)

    async def offer_step(self, w: Work, alert: Alert, *, emit: bool = False) -> None:
        """Offer the alert to as many of the best crews as it still needs, then settle its state."""
        attached = [o for o, _ in await w.attached(alert.id) if is_active_assignment(o)]
        open_offers = await w.open_offers(alert.id)
        want = alert.crews_needed - len(attached) - len(open_offers)
        if want > 0:
            want -= await self._make_offers(w, alert, want, attached + open_offers)
        # Only once the offers are stored does the alert stop waiting for crews.
        w.after_commit.append(
            partial(self.waiting.add if want > 0 else self.waiting.discard, alert.id)
        )
        on_scene = sum(o.assignment_status == AssignmentStatus.ON_SCENE for o in attached)
        offers_now = len(await w.open_offers(alert.id))
        current = AlertState(alert.state)
        target = settle_alert(
            current,
            crews_attached=len(attached),
            crews_on_scene=on_scene,
            open_offers=offers_now,
        )
        if target != current or emit:
            alert.state, alert.updated_at = target, w.now
            w.session.add(alert)
            await w.emit_alert(alert)
            if target == AlertState.UNASSIGNED:
                w.session.add(
                    AlertNote(
                        alert_id=alert.id,
                        at=w.now,
                        action="unassigned",
                        text="No crew free: escalated to supervisors.",
                    )
                )
                log.warning("alert %s unassigned: no crew free; supervisors told", alert.id)

    async def _make_offers(self, w: Work, alert: Alert, want: int, busy: list[Offer]) -> int:
        recent = w.now - timedelta(seconds=self.settings.dispatch.reoffer_after_s)
        tried_rows = await w.session.exec(
            select(Offer.crew_id).where(
                Offer.alert_id == alert.id,
                # Declined or let lapse; not withdrawn (a cancel, or a dropped connection).
                col(Offer.state).in_([OfferState.DECLINED, OfferState.EXPIRED]),
                col(Offer.closed_at) >= recent,
            )
        )
        # A crew a supervisor withdrew or released is never offered that alert again.
        withdrawn_rows = await w.session.exec(
            select(Offer.crew_id).where(
                Offer.alert_id == alert.id, col(Offer.withdrawn_by).is_not(None)
            )
        )
        tried = set(tried_rows.all()) | set(withdrawn_rows.all()) | {o.crew_id for o in busy}
        made = 0
        while made < want:
            candidates = self.index.rank(
                alert.lat,
                alert.lon,
                now=w.now.timestamp(),
                rules=self.rules,
                limit=want - made,
                exclude=tried,
            )
            if not candidates:
                break
            for cand in candidates:
                tried.add(cand.crew_id)
                offer_id = uuid.uuid4().hex
                claimed = await w.session.exec(
                    update(Crew)
                    .where(col(Crew.id) == cand.crew_id, col(Crew.state) == CrewState.AVAILABLE)
                    .values(state=CrewState.OFFERED, offer_id=offer_id, updated_at=w.now)
                )
                self.index.set_ready(cand.crew_id, False)
                if claimed.rowcount != 1:
                    continue  # taken meanwhile (another process): try the next one
                deadline = w.now + timedelta(seconds=self.settings.dispatch.offer_timeout_s)
                offer = Offer(
                    id=offer_id,
                    alert_id=alert.id,
                    crew_id=cand.crew_id,
                    state=OfferState.OFFERED,
                    created_at=w.now,
                    deadline=deadline,
                    distance_m=cand.distance_m,
                    eta_s=cand.eta_s,
                )
                w.session.add(offer)
                crew = await w.session.get(Crew, cand.crew_id)
                assert crew is not None
                await w.session.refresh(crew)
                w.emit_offer(offer, alert)
                w.emit_crew(crew)
                w.after_commit.append(partial(self.arm, offer_id, deadline))
                made += 1
        return made

    def kick(self) -> None:
        """A crew became free: offer it the waiting alerts (once, soon)."""
        if self.waiting and not self._retry_scheduled:
            self._retry_scheduled = True
            self.spawn(self.retry_waiting())

    async def retry_waiting(self) -> None:
        self._retry_scheduled = False
        if not self.waiting:
            return
        async with self.work() as w:
            rows = await w.session.exec(
                select(Alert)
                .where(col(Alert.id).in_(list(self.waiting)))
                .order_by(col(Alert.urgent).desc(), col(Alert.raised_at))
            )
            alerts = rows.all()
            self.waiting.intersection_update(a.id for a in alerts)
            for alert in alerts:
                if is_open_alert(AlertState(alert.state)):
                    await self.offer_step(w, alert)
                else:
                    self.waiting.discard(alert.id)

"""The offering step every alert use case ends with, and what keeps offers moving:
deadlines, retries of alerts that wait for a crew, closing an alert.

The steps (`step`, `close_offer`, `close_alert`) are synchronous and run inside a core
transaction (`Tx`); ranking reads the crew index in memory, and a claim on a crew is a
conditional update in the database, so no process ever gives one crew two alerts.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import inspect
from sqlmodel import col, select

from dispatch.core.lifecycle import (
    is_open_alert,
    move_alert,
    move_assignment,
    move_crew,
    move_offer,
    settle_alert,
)
from dispatch.core.matching import Candidate
from dispatch.realtime.events import KIND_ALERT, KIND_OFFER, StoredEvent
from dispatch.storage import driver_sql
from dispatch.storage.direct import StatementRefused
from dispatch.storage.models import Alert, AlertNote, Crew, Offer
from dispatch.storage.store import NoTurn, PostgresStore
from dispatch.storage.transient import build
from dispatch.usecases import raise_statement, reads
from dispatch.usecases.context import Context
from dispatch.usecases.numbering import numbered
from dispatch.usecases.statements import (
    CLAIM_CREW,
    INSERT_OFFER,
    alert_values,
    insert_new_alert,
    offer_values,
)
from dispatch.usecases.views import POSITION_UNKNOWN
from dispatch.usecases.work import Changes, Tx, assignment_of, is_active_assignment
from schemas.common import CrewMode
from schemas.views import AlertState, AssignmentStatus, CrewState, CrewView, OfferState

log = logging.getLogger("dispatch")

OPEN = [s for s in AlertState if is_open_alert(s)]
ACTIVE_ASSIGNMENT = (AssignmentStatus.EN_ROUTE.value, AssignmentStatus.ON_SCENE.value)


@dataclass(frozen=True, slots=True)
class Claim:
    """A crew claimed for an alert in this transaction, before its offer is stored."""

    candidate: Candidate
    offer_id: str
    crew: CrewView


class Offering:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.waiting: set[str] = set()  # alerts that want more crews than they have offers
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._retry_scheduled = False
        # What the events say each open alert still lacks (a peer's alerts too): crews
        # needed less those attached, and its open offers. Every process so knows the
        # alerts waiting for a crew, and whichever is alive retries them.
        self._lacking: dict[str, int] = {}
        self._offers_open: dict[str, set[str]] = {}
        self._dirty: set[str] = set()
        self._claiming: set[str] = set()  # crews a raise at once is claiming right now
        self.at_once = {"stored": 0, "handed_on": 0}  # raises tried in one statement
        ctx.on_crew_ready = self.kick
        ctx.on_resync = self.resync
        ctx.observers.append(self.observe)

    # -- start and stop -------------------------------------------------------------

    async def start(self) -> None:
        """Re-arm open offers from their stored deadlines, then resume open alerts."""

        def load(tx: Tx) -> list[Offer]:
            return list(tx.session.exec(select(Offer).where(Offer.state == OfferState.OFFERED)))

        offers = await self.ctx.transact(load)
        for offer in offers:
            self.arm(offer.id, offer.deadline)

        def resume(tx: Tx) -> None:
            rows = tx.session.exec(
                select(Alert)
                .where(col(Alert.state).in_(OPEN))
                .order_by(col(Alert.urgent).desc(), col(Alert.raised_at))
                .with_for_update()  # a retry (a peer's kick) may step the same alerts now
            )
            for alert in rows.all():
                self.step(tx, alert)

        await self.ctx.transact(resume)
        log.info("offering started: %d open offers re-armed", len(offers))

    def stop(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    def forget(self) -> None:
        """Drop what the events said (events were lost): `observe` and `remember_offers`
        are told again from the database."""
        self._lacking.clear()
        self._offers_open.clear()
        self._dirty.clear()

    def remember_offers(self, offers: list[Offer]) -> None:
        """Open offers read from the database, as their events would have said."""
        for offer in offers:
            self._offers_open.setdefault(offer.alert_id, set()).add(offer.id)

    async def resync(self) -> None:
        """Open alerts all waiting, open offers armed, as the database has them now."""
        async with self.ctx.db.session() as s:
            ids = (await s.exec(select(Alert.id).where(col(Alert.state).in_(OPEN)))).all()
            offers = (await s.exec(select(Offer).where(Offer.state == OfferState.OFFERED))).all()
        self.take_up(ids, offers)

    def take_up(self, alert_ids: Iterable[str], offers: Iterable[Offer]) -> None:
        """These open alerts all waiting (retries drop the covered ones), these open
        offers armed (one committed by a failed call, or a peer's, has no timer yet)."""
        self.waiting.update(alert_ids)
        for offer in offers:
            if offer.id not in self._timers:
                self.arm(offer.id, offer.deadline)

    # -- alerts waiting, from the events (this process's and its peers') ----------------

    def observe(self, event: StoredEvent) -> None:
        if event.kind == KIND_ALERT:
            view = event.view()
            if is_open_alert(AlertState(view["state"])):
                attached = sum(c["status"] in ACTIVE_ASSIGNMENT for c in view["crews"])
                self._lacking[event.entity_id] = view["crews_needed"] - attached
            else:
                self._lacking.pop(event.entity_id, None)
                self._offers_open.pop(event.entity_id, None)
                self._dirty.discard(event.entity_id)
                return
            alert_id = event.entity_id
        elif event.kind == KIND_OFFER:
            view = event.view()
            alert_id = view["alert_id"]
            offers = self._offers_open.setdefault(alert_id, set())
            if view["state"] == OfferState.OFFERED:
                offers.add(event.entity_id)
            else:
                offers.discard(event.entity_id)
        else:
            return
        if not self._dirty:
            asyncio.get_running_loop().call_soon(self._weigh)  # after the whole commit
        self._dirty.add(alert_id)

    def _weigh(self) -> None:
        dirty, self._dirty = self._dirty, set()
        for alert_id in dirty:
            lacking = self._lacking.get(alert_id)
            if lacking is not None and lacking - len(self._offers_open.get(alert_id, ())) > 0:
                self.waiting.add(alert_id)

    # -- deadlines ------------------------------------------------------------------

    def arm(self, offer_id: str, deadline: datetime) -> None:
        delay = max(0.0, (deadline - self.ctx.clock()).total_seconds())
        old = self._timers.pop(offer_id, None)
        if old is not None:
            old.cancel()
        self._timers[offer_id] = asyncio.get_running_loop().call_later(
            delay, lambda: self.ctx.spawn(self.expire(offer_id))
        )

    def seconds_left(self, offer_id: str) -> float | None:
        """How long before this process expires the offer; None if it has no timer
        for it here (answered, or not heard of yet)."""
        handle = self._timers.get(offer_id)
        if handle is None:
            return None
        return handle.when() - asyncio.get_running_loop().time()

    def disarm(self, offer_id: str) -> None:
        handle = self._timers.pop(offer_id, None)
        if handle is not None:
            handle.cancel()

    async def expire(self, offer_id: str) -> None:
        self._timers.pop(offer_id, None)

        def lapse(tx: Tx) -> None:
            offer = tx.get(Offer, offer_id, for_update=True)
            if offer is None or offer.state != OfferState.OFFERED:
                return  # answered, withdrawn, or swept by another process first
            if offer.deadline > tx.now:
                deadline = offer.deadline
                tx.after_commit.append(lambda: self.arm(offer_id, deadline))
                return
            self.close_offer(tx, offer, OfferState.EXPIRED, "no answer before the deadline")

        await self.ctx.transact(lapse)

    async def sweep(self) -> None:
        """Backstop for the timers: expire offers past their deadline; retry waiting alerts."""
        now = self.ctx.clock()
        due = await self.ctx.store.read(
            lambda s: list(
                s.exec(
                    select(Offer.id).where(
                        Offer.state == OfferState.OFFERED, col(Offer.deadline) <= now
                    )
                ).all()
            )
        )
        for offer_id in due:
            try:
                await self.expire(offer_id)
            except Exception:
                log.exception("could not expire offer %s", offer_id, extra={"offer_id": offer_id})
        if self.waiting:
            await self.retry_waiting()

    # -- retries ---------------------------------------------------------------------

    def kick(self) -> None:
        """A crew became free: offer it the waiting alerts (once, soon)."""
        if self.waiting and not self._retry_scheduled:
            self._retry_scheduled = True
            self.ctx.spawn(self.retry_waiting())

    async def retry_waiting(self) -> None:
        self._retry_scheduled = False
        if not self.waiting:
            return
        waiting = list(self.waiting)

        def retry(tx: Tx) -> None:
            rows = tx.session.exec(
                select(Alert)
                .where(col(Alert.id).in_(waiting))
                .order_by(col(Alert.urgent).desc(), col(Alert.raised_at))
                .with_for_update()  # another process may retry the same alerts now
            ).all()
            found = {a.id for a in rows}
            gone = [a for a in waiting if a not in found]
            tx.after_commit.append(lambda: self.waiting.difference_update(gone))
            for alert in rows:
                if is_open_alert(AlertState(alert.state)):
                    self.step(tx, alert)
                else:
                    tx.after_commit.append(partial(self.waiting.discard, alert.id))

        await self.ctx.transact(retry)

    async def dispatch(self, alert_id: str) -> None:
        """Offer one alert again (a resend of one that has no crew yet)."""

        def again(tx: Tx) -> None:
            alert = tx.get(Alert, alert_id, for_update=True)
            if alert is not None and is_open_alert(AlertState(alert.state)):
                self.step(tx, alert)

        async with self.ctx.locks.hold(alert_id):
            await self.ctx.transact(again)

    # -- the steps (inside a transaction) ----------------------------------------------

    def step(self, tx: Tx, alert: Alert, *, emit: bool = False) -> None:
        """Offer the alert to as many of the best crews as it still needs, then settle its
        state. `emit` sends the alert's event even when its state stays."""
        pairs = tx.attached(alert.id)
        attached = [o for o, _ in pairs if is_active_assignment(o)]
        open_offers = tx.open_offers(alert.id)
        want = alert.crews_needed - len(attached) - len(open_offers)
        made = 0
        if want > 0:
            made = self._make_offers(
                tx, alert, want, self._tried(tx, alert, attached + open_offers)
            )
        on_scene = sum(o.assignment_status == AssignmentStatus.ON_SCENE for o in attached)
        target = settle_alert(
            AlertState(alert.state),
            crews_attached=len(attached),
            crews_on_scene=on_scene,
            open_offers=len(open_offers) + made,
        )
        # The alert is tracked (no add); its attached crews are as read (an offer made
        # here is not an attachment).
        self._settle(tx, alert, target, missing=want - made, emit=emit, attached=pairs)

    def first_step(self, tx: Tx, alert: Alert) -> bool:
        """Store a new alert (Core, not in the session) with its first offers: claim the
        crews, insert the alert in the state that follows, insert the offers. Nothing is
        attached, offered or tried yet, so nothing is read. False, with nothing done,
        when the id is already stored (the caller rolls back the claims)."""
        # A crew's call for help goes to the other crews, never back to it.
        spared = {alert.help_crew_id} if alert.help_crew_id else set()
        claims = self._claim(tx, alert, alert.crews_needed, spared)
        target = settle_alert(
            AlertState(alert.state), crews_attached=0, crews_on_scene=0, open_offers=len(claims)
        )
        if not insert_new_alert(tx.conn, {**alert_values(alert), "state": target.value}):
            return False
        self._offer(tx, alert, claims)
        missing = alert.crews_needed - len(claims)
        self._settle(tx, alert, target, missing=missing, emit=True, attached=[])
        return True

    def at_once_possible(self) -> bool:
        """Whether this store can take a raise in one statement (PostgreSQL)."""
        return isinstance(self.ctx.store, PostgresStore)

    async def first_step_at_once(
        self, changes: Changes, alert: Alert, audit: Callable[[Changes], None]
    ) -> bool:
        """`first_step` in one statement (PostgreSQL; `raise_statement`), decided from
        memory: the best `crews_needed` ready crews, named as this process knows them.
        True once it has committed (its effects and events then follow, as after a
        transaction); False, with nothing changed, when memory cannot decide it (too
        few ready crews, no position, a crew not known by name) or the database no
        longer agrees (the id is stored, a crew was taken or renamed): the caller takes
        the statement-by-statement path. `audit` adds the raise's audit row."""
        store = self.ctx.store
        if not isinstance(store, PostgresStore) or alert.position_source == POSITION_UNKNOWN:
            return False
        spared = {alert.help_crew_id} if alert.help_crew_id else set()
        claims = self._claims_from_memory(alert, changes.now, spared | self._claiming)
        if claims is None:
            return False
        target = settle_alert(
            AlertState(alert.state), crews_attached=0, crews_on_scene=0, open_offers=len(claims)
        )
        offers = self._offers(changes, alert, claims)
        self._settle(changes, alert, target, missing=0, emit=True, attached=[])
        audit(changes)
        crews = [c.candidate.crew_id for c in claims]
        values = raise_statement.params(
            now=changes.now,
            alert=alert_values(alert),
            offers=[offer_values(o) for o in offers],
            names=[(c.crew.callsign, c.crew.mode) for c in claims],
            audit=changes.audits[0],
            pending=changes.pending,
        )
        self._claiming.update(crews)  # not ranked for another raise meanwhile
        try:
            row = await store.at_once(raise_statement.statement(len(claims)), values)
        except NoTurn:
            self.at_once["handed_on"] += 1
            return False  # nothing was sent
        except StatementRefused:
            # PostgreSQL refused it (its own check, a deadlock, a key): nothing was kept,
            # and the statement-by-statement path answers whatever it was.
            self.at_once["handed_on"] += 1
            return False
        finally:
            self._claiming.difference_update(crews)
        self.at_once["stored"] += 1
        changes.events = numbered(changes.pending, int(row[0]))
        return True

    def _claims_from_memory(
        self, alert: Alert, now: datetime, passed: set[str]
    ) -> list[Claim] | None:
        want = alert.crews_needed
        candidates = self.ctx.index.rank(
            alert.lat,
            alert.lon,
            now=now.timestamp(),
            rules=self.ctx.rules,
            limit=want,
            exclude=passed,
        )
        if len(candidates) < want:
            return None
        claims = []
        for cand in candidates:
            name = self.ctx.crews.names.get(cand.crew_id)
            if name is None:
                return None
            offer_id = uuid.uuid4().hex
            view = CrewView(
                id=cand.crew_id,
                callsign=name[0],
                mode=name[1],
                state=CrewState.OFFERED,
                alert_id=None,
                offer_id=offer_id,
            )
            claims.append(Claim(cand, offer_id, view))
        return claims

    def _settle(
        self,
        tx: Changes,
        alert: Alert,
        target: AlertState,
        *,
        missing: int,
        emit: bool,
        attached: list[tuple[Offer, Crew]],
    ) -> None:
        # Only once the offers are stored does the alert stop waiting for crews.
        tx.after_commit.append(
            partial(self.waiting.add if missing > 0 else self.waiting.discard, alert.id)
        )
        current = AlertState(alert.state)
        if target == current and not emit:
            return
        if isinstance(tx, Tx) and inspect(alert).persistent:
            tx.write(alert, state=target, updated_at=tx.now)
        else:  # a new alert, stored by the caller in this state
            alert.state, alert.updated_at = target, tx.now
        tx.emit_alert_with(alert, attached)
        if target == AlertState.UNASSIGNED and target != current:
            assert isinstance(tx, Tx)  # never at once: that needs every crew claimed
            tx.session.add(
                AlertNote(
                    alert_id=alert.id,
                    at=tx.now,
                    action="unassigned",
                    text="No crew free: escalated to supervisors.",
                )
            )
            log.warning(
                "alert %s unassigned: no crew free; supervisors told",
                alert.id,
                extra={"alert_id": alert.id},
            )

    def _tried(self, tx: Tx, alert: Alert, busy: list[Offer]) -> set[str]:
        """Crews not to offer this alert to: those that declined or let it lapse lately,
        those a supervisor withdrew or released (never again), those already on it."""
        recent = tx.now - timedelta(seconds=self.ctx.settings.dispatch.reoffer_after_s)
        rows = reads.closed_offers(tx.flushed_conn(), alert.id)
        tried = {o.crew_id for o in busy}
        if alert.help_crew_id is not None:
            tried.add(alert.help_crew_id)  # a crew's call for help: never back to it
        for crew_id, state, closed_at, withdrawn_by in rows:
            lapsed = state in (OfferState.DECLINED, OfferState.EXPIRED)
            if withdrawn_by is not None or (
                lapsed and closed_at is not None and closed_at >= recent
            ):
                tried.add(crew_id)
        return tried

    def _make_offers(self, tx: Tx, alert: Alert, want: int, tried: set[str]) -> int:
        claims = self._claim(tx, alert, want, tried)
        self._offer(tx, alert, claims)
        return len(claims)

    def _claim(self, tx: Tx, alert: Alert, want: int, tried: set[str]) -> list[Claim]:
        """Claim the best `want` crews not tried yet, conditionally: one another process
        took meanwhile is passed over. An alert with no position at all (raised with no
        fix and no live deployment) is offered to none: it waits for her first fix."""
        claims: list[Claim] = []
        if alert.position_source == POSITION_UNKNOWN:
            return claims
        while len(claims) < want:
            candidates = self.ctx.index.rank(
                alert.lat,
                alert.lon,
                now=tx.now.timestamp(),
                rules=self.ctx.rules,
                limit=want - len(claims),
                exclude=tried,
            )
            if not candidates:
                break
            for cand in candidates:
                tried.add(cand.crew_id)
                offer_id = uuid.uuid4().hex
                params = {"b_crew": cand.crew_id, "b_offer": offer_id, "b_now": tx.now}
                crew = driver_sql.execute(tx.conn, CLAIM_CREW, params).first()
                if crew is None:
                    continue  # taken meanwhile (another process): try the next one
                view = CrewView(
                    id=crew.id,
                    callsign=crew.callsign,
                    mode=CrewMode(crew.mode),
                    state=CrewState(crew.state),
                    alert_id=crew.alert_id,
                    offer_id=offer_id,
                )
                claims.append(Claim(cand, offer_id, view))
        return claims

    def _offer(self, tx: Tx, alert: Alert, claims: list[Claim]) -> None:
        """Store the offers of claimed crews, with their deadlines."""
        for offer in self._offers(tx, alert, claims):
            driver_sql.execute(tx.conn, INSERT_OFFER, offer_values(offer))

    def _offers(self, tx: Changes, alert: Alert, claims: list[Claim]) -> list[Offer]:
        """The offers of claimed crews, with their deadlines: their events and timers."""
        deadline = tx.now + timedelta(seconds=self.ctx.settings.dispatch.offer_timeout_s)
        offers = []
        for claim in claims:
            offer = build(
                Offer,
                id=claim.offer_id,
                alert_id=alert.id,
                crew_id=claim.candidate.crew_id,
                state=OfferState.OFFERED,
                created_at=tx.now,
                deadline=deadline,
                distance_m=claim.candidate.distance_m,
                eta_s=claim.candidate.eta_s,
            )
            tx.emit_offer(offer, alert)
            tx.emit_crew_view(claim.crew)
            tx.after_commit.append(partial(self.arm, claim.offer_id, deadline))
            # Not ranked again before its event arrives (it may wait behind another's).
            tx.after_commit.append(partial(self.ctx.taken, claim.crew))
            offers.append(offer)
        return offers

    def close_offer(self, tx: Tx, offer: Offer, state: OfferState, reason: str) -> None:
        """Decline, expiry or withdrawal: free the crew and move the alert on."""
        tx.write(
            offer, state=move_offer(OfferState(offer.state), state), closed_at=tx.now, reason=reason
        )
        tx.after_commit.append(partial(self.disarm, offer.id))
        crew = tx.get(Crew, offer.crew_id)
        # Locked: two offers of one alert closing at once (PostgreSQL) would each count
        # the other as still open, and neither would move the alert on.
        alert = tx.get(Alert, offer.alert_id, for_update=True)
        assert crew is not None and alert is not None
        if crew.offer_id == offer.id:
            tx.write(
                crew,
                state=move_crew(CrewState(crew.state), CrewState.AVAILABLE),
                offer_id=None,
                updated_at=tx.now,
            )
            tx.emit_crew(crew)
        tx.emit_offer(offer, alert)
        if is_open_alert(AlertState(alert.state)):
            self.step(tx, alert)

    def close_alert(self, tx: Tx, alert: Alert, target: AlertState, *, reason: str) -> None:
        """Resolve or cancel: withdraw open offers, clear attached crews, free them."""
        tx.write(
            alert,
            state=move_alert(AlertState(alert.state), target),
            closed_at=tx.now,
            updated_at=tx.now,
            close_reason=reason,
        )
        tx.after_commit.append(partial(self.waiting.discard, alert.id))
        for offer in tx.open_offers_in_session(alert.id):
            self.close_offer(tx, offer, OfferState.WITHDRAWN, f"alert {target.value}")
        attached = tx.attached_in_session(alert.id)
        for offer, crew in attached:
            if not is_active_assignment(offer):
                continue
            cleared = move_assignment(assignment_of(offer), AssignmentStatus.CLEARED)
            tx.write(offer, assignment_status=cleared)
            if crew.alert_id == alert.id:
                available = move_crew(CrewState(crew.state), CrewState.AVAILABLE)
                tx.write(crew, state=available, alert_id=None, updated_at=tx.now)
                tx.emit_crew(crew)
        tx.emit_alert(alert, attached=attached)

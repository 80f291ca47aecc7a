"""The officer's alert: raise it (stored and first offered in one transaction), add
detail, make it urgent, cancel it (with her PIN; her duress PIN escalates instead), and
the crews' status updates on it."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from dispatch.audit import Action, by
from dispatch.auth.pins import PinMatch, match_pin
from dispatch.auth.sessions import Viewer
from dispatch.core.lifecycle import is_open_alert, move_assignment
from dispatch.core.press_time import press_time
from dispatch.realtime.events import KIND_COVER, KIND_DEPLOYMENT, PendingEvent, StoredEvent
from dispatch.realtime.visibility import officer_alert
from dispatch.storage.models import Alert, AlertNote, Crew, Offer, User
from dispatch.storage.transient import build
from dispatch.usecases.context import Context, Refusal, UseCaseError
from dispatch.usecases.offering import Offering
from dispatch.usecases.positions import Fix, Positions
from dispatch.usecases.views import POSITION_BY_PLACE, POSITION_UNKNOWN, alert_view
from dispatch.usecases.work import Changes, Tx, assignment_of, is_active_assignment
from schemas.client import AlertCancel, AlertDetail, AlertRaise, AssignmentUpdate, CrewHelp
from schemas.common import Position, Role
from schemas.errors import ErrorCode
from schemas.views import (
    OPEN_ALERT_STATES,
    AlertState,
    AlertView,
    AssignmentStatus,
    DeploymentState,
    OfferState,
    OfficerStatus,
)

log = logging.getLogger("dispatch")

NO_SUCH_ALERT = "No such alert."


class AlreadyRaised(Refusal):
    """The alert's id is stored already: this raise changes nothing."""


class NotRaised(Refusal):
    """A raise for her that no longer applies (her escort timer was stopped)."""


# The crew's accepted offer on the alert (its assignment), built once.
ACCEPTED_BY = select(Offer).where(
    Offer.alert_id == bindparam("b_alert"),
    Offer.crew_id == bindparam("b_crew"),
    Offer.state == OfferState.ACCEPTED,
)

DURESS_NOTE = "DURESS: cancelled under duress (duress PIN): treat as urgent. "


def own_open_alert(tx: Tx, viewer: Viewer, alert_id: str) -> Alert:
    """The alert, locked for update, if this viewer may act on it and it is open."""
    alert = tx.get(Alert, alert_id, for_update=True)
    if alert is None or (viewer.role == Role.OFFICER and alert.officer_id != viewer.user_id):
        raise UseCaseError(ErrorCode.NOT_FOUND, NO_SUCH_ALERT)
    if not is_open_alert(AlertState(alert.state)):
        raise UseCaseError(ErrorCode.ILLEGAL_TRANSITION, f"This alert is already {alert.state}.")
    if viewer.role == Role.OFFICER and (alert.note or "").startswith(DURESS_NOTE):
        # To her it was cancelled: answer as a cancelled alert would.
        raise UseCaseError(ErrorCode.ILLEGAL_TRANSITION, "This alert is already cancelled.")
    return alert


class Alerts:
    def __init__(self, ctx: Context, offering: Offering, positions: Positions) -> None:
        self.ctx, self.offering, self.positions = ctx, offering, positions
        # officer id -> (the live deployment she is on, its start): an alert she raises
        # belongs to it. Followed from the deployment events, so a raise reads nothing.
        self.live_of: dict[str, tuple[str, str]] = {}
        # live deployment id -> its place's point: where a raise with no fix is offered.
        self.place_of: dict[str, tuple[float, float]] = {}
        # live deployments of exercise operations: her alerts there are exercises, and so
        # are the calls for help of their crews (crew id -> the deployment).
        self.exercise_deployments: set[str] = set()
        self.exercise_crews: dict[str, str] = {}
        ctx.observers.append(self.observe)
        positions.on_first_fix = self.locate

    def forget_deployments(self) -> None:
        """Drop what the deployment events said (events were lost): `observe` is told
        again from the database."""
        self.live_of.clear()
        self.place_of.clear()
        self.exercise_deployments.clear()
        self.exercise_crews.clear()

    def observe(self, event: StoredEvent) -> None:
        if event.kind != KIND_DEPLOYMENT:
            return
        brief = event.view()
        for officer in [o for o, (dep, _) in self.live_of.items() if dep == event.entity_id]:
            del self.live_of[officer]
        self.place_of.pop(event.entity_id, None)
        self.exercise_deployments.discard(event.entity_id)
        for crew in [c for c, dep in self.exercise_crews.items() if dep == event.entity_id]:
            del self.exercise_crews[crew]
        if brief["state"] == DeploymentState.LIVE:
            self.place_of[event.entity_id] = (brief["place"]["lat"], brief["place"]["lon"])
            if brief.get("exercise"):
                self.exercise_deployments.add(event.entity_id)
                self.exercise_crews.update(dict.fromkeys(brief["crew_ids"], event.entity_id))
            for officer in brief["officer_ids"]:
                known = self.live_of.get(officer)
                if known is None or known[1] <= brief["starts_at"]:
                    self.live_of[officer] = (event.entity_id, brief["starts_at"])

    # -- raise ------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _raising(self, alert_id: str) -> AsyncIterator[None]:
        """Around every raise: one at a time per alert id, and routine work waits."""
        with self.ctx.priority.urgent():
            async with self.ctx.locks.hold(alert_id):
                yield

    async def raise_alert(self, viewer: Viewer, msg: AlertRaise) -> tuple[AlertView, bool]:
        """Store the alert and make its first offers in one transaction (the caller acks
        once this returns). A resend of one that has no crew yet is offered again."""
        started = time.perf_counter()
        async with self._raising(msg.alert_id):
            try:
                stored = await self._store_at_once(viewer, msg)
                if stored is None:
                    stored = await self.ctx.transact(lambda tx: self._store(tx, viewer, msg))
                view, created = stored
                self.ctx.alert_stored(time.perf_counter() - started)
            except (AlreadyRaised, IntegrityError):
                # A resend, or the same id raised at the same moment through another
                # process: it is stored, and this raise is answered with it.
                view, created = await self.ctx.transact(
                    lambda tx: self._known(tx, viewer, msg.alert_id, urgent=msg.urgent)
                )
        if created:
            if msg.position is not None:
                await self.positions.officer_position(viewer, msg.position)  # where she is
        elif view.state in (AlertState.RAISED, AlertState.UNASSIGNED):
            self.ctx.spawn(self.offering.dispatch(view.id))
        return view, created

    async def _store_at_once(
        self, viewer: Viewer, msg: AlertRaise
    ) -> tuple[AlertView, bool] | None:
        """The raise in one statement where it can be (PostgreSQL, a crew for every one
        it needs, decided from memory); None, with nothing changed, where it cannot."""
        if not self.offering.at_once_possible():
            return None  # SQLite: not even the alert is built twice
        changes = Changes(self.ctx.clock())
        alert = self._new_alert(viewer, msg, changes.now)
        audit = partial(self._audit_raise, viewer=viewer, alert=alert, system=None)
        try:
            if not await self.offering.first_step_at_once(changes, alert, audit):
                return None
        except BaseException:
            await self.ctx.resync_after_failure()  # as after a failed transaction
            raise
        await self.ctx.committed(changes)
        return alert_view(alert, []), True

    def _store(
        self, tx: Tx, viewer: Viewer, msg: AlertRaise, *, system: str | None = None
    ) -> tuple[AlertView, bool]:
        """A handful of Core statements: insert unless known, claim, offer, settle.
        `system`: raised by the system on her behalf, with that origin."""
        alert = self._new_alert(viewer, msg, tx.now, system=system)
        if not self.offering.first_step(tx, alert):
            raise AlreadyRaised  # rolls back the claims: answered from the stored alert
        self._audit_raise(tx, viewer=viewer, alert=alert, system=system)
        return alert_view(alert, []), True

    @staticmethod
    def _audit_raise(tx: Changes, *, viewer: Viewer, alert: Alert, system: str | None) -> None:
        tx.audit(
            at=tx.now,
            action=Action.COLLECTION,
            object_type="alert",
            object_id=alert.id,
            detail="alert raised; her positions are kept while it is open",
            **by(None if system else viewer),
        )

    def _new_alert(
        self, viewer: Viewer, msg: AlertRaise, now: datetime, *, system: str | None = None
    ) -> Alert:
        urgent_crews = self.ctx.settings.dispatch.urgent_crews
        live = self.live_of.get(viewer.user_id)
        lat, lon, accuracy, source = self._where(viewer.user_id, msg.position, live, now)
        press = None
        if msg.pressed_at is not None:
            max_age_s = self.ctx.settings.pages.max_press_age_s
            press = press_time(msg.pressed_at, msg.clock_offset_ms, now, max_age_s=max_age_s)
        return build(
            Alert,
            id=msg.alert_id,
            officer_id=viewer.user_id,
            state=AlertState.RAISED,
            urgent=msg.urgent,
            crews_needed=urgent_crews if msg.urgent else 1,
            category=msg.category,
            note=msg.note,
            lat=lat,
            lon=lon,
            accuracy=accuracy,
            raised_at=now,
            updated_at=now,
            deployment_id=live[0] if live else None,
            pressed_at=press.at if press else None,
            phone_pressed_at=msg.pressed_at,
            clock_offset_ms=msg.clock_offset_ms,
            press_clamped=press.clamped if press else None,
            position_source=source,
            exercise=live is not None and live[0] in self.exercise_deployments,
            origin=system or msg.origin,
        )

    def _where(
        self,
        officer_id: str,
        position: Position | None,
        live: tuple[str, str] | None,
        now: datetime,
    ) -> tuple[float, float, float | None, str | None]:
        """Where a new alert is offered from, and `Alert.position_source`: her fix; with
        none, one she sent within `position_fresh_s`; else her live deployment's place;
        else nowhere (the supervisors have it until her first fix)."""
        if position is not None:
            return position.lat, position.lon, position.accuracy, None
        last = self.positions.officer_last.get(officer_id)
        if last is not None and last[3] >= now - timedelta(seconds=self.ctx.rules.fresh_s):
            return last[0], last[1], last[2], None
        place = self.place_of.get(live[0]) if live else None
        if place is not None:
            return place[0], place[1], None, POSITION_BY_PLACE
        return 0.0, 0.0, None, POSITION_UNKNOWN

    def _known(
        self, tx: Tx, viewer: Viewer, alert_id: str, *, urgent: bool = False
    ) -> tuple[AlertView, bool]:
        """A resend of her stored alert. One that says urgent when the stored one is not
        makes it urgent: she pressed again after the first press's ack was lost, and her
        phone, answered, sends no escalation of its own."""
        known = tx.get(Alert, alert_id, for_update=urgent)
        assert known is not None
        if known.officer_id != viewer.user_id:
            raise UseCaseError(ErrorCode.CONFLICT, "That alert id is already in use.")
        if urgent and not known.urgent and is_open_alert(AlertState(known.state)):
            self.make_urgent(tx, known)
        return alert_view(known, tx.attached(known.id)), False

    # -- raised for her by the system: a missed check-in, her escort timer ---------------

    async def raise_for_officer(
        self,
        officer_id: str,
        alert_id: str,
        *,
        origin: str,
        why: str | Callable[[Tx], str | None],
        position: Position | None,
    ) -> tuple[AlertView, bool] | None:
        """An alert raised on her behalf (`Alert.origin` "checkin" or "escort"), as if she
        had pressed, from her last known position (else as a raise with no fix), audited
        as the system's. Idempotent on `alert_id`: her phone may raise the same id.

        `why`: what happened ("missed check-in (due 20:40 UTC)"), for the alert's note;
        or a function that says it inside the raise's own transaction (None: raise
        nothing, answered with None; e.g. her escort timer was stopped since the sweep
        read it).

        While she has another open alert (any: one she "cancelled" with her duress PIN
        is open too), nothing is raised: what happened is noted on that alert for the
        supervisors (an `AlertNote`, no event, nothing to her phone), and that alert is
        answered, not created. A system-raised alert reaching her phone after a duress
        cancel would tell whoever holds it that help is coming."""
        viewer = Viewer(officer_id, "", Role.OFFICER, None, self.ctx.clock(), "")

        def store(tx: Tx) -> tuple[AlertView, bool]:
            if tx.get(Alert, alert_id) is not None:
                raise AlreadyRaised  # her phone raised it, or another process did
            what = why(tx) if callable(why) else why
            if what is None:
                raise NotRaised
            note = f"Raised by the system: {what}."[:500]
            msg = AlertRaise(id="system", alert_id=alert_id, position=position, note=note)
            open_one = tx.session.exec(
                select(Alert)
                .where(
                    Alert.officer_id == officer_id,
                    col(Alert.state).in_(list(OPEN_ALERT_STATES)),
                    col(Alert.help_crew_id).is_(None),
                )
                .order_by(col(Alert.raised_at).desc())
            ).first()
            if open_one is None:
                return self._store(tx, viewer, msg, system=origin)
            tx.session.add(
                AlertNote(
                    alert_id=open_one.id,
                    at=tx.now,
                    user_id=None,
                    action=origin,
                    text=f"Also: {what}, while this alert was open (no second alert)."[:500],
                )
            )
            return alert_view(open_one, tx.attached(open_one.id)), False

        async with self._raising(alert_id):
            try:
                view, created = await self.ctx.transact(store)
            except NotRaised:
                return None
            except (AlreadyRaised, IntegrityError):
                view, created = await self.ctx.transact(
                    lambda tx: self._known(tx, viewer, alert_id)
                )
        if view.id == alert_id and not created:
            if view.state in (AlertState.RAISED, AlertState.UNASSIGNED):
                self.ctx.spawn(self.offering.dispatch(view.id))
        return view, created

    # -- a crew's call for help ------------------------------------------------------------

    async def crew_help(self, viewer: Viewer, msg: CrewHelp) -> tuple[AlertView, bool]:
        """ "Crew needs help": an urgent alert at the crew's position (this one, else its
        last fix), offered to the nearest other crews; its officer_id is the member who
        pressed, so no officer ever sees it. Idempotent on the id, like `raise_alert`."""
        async with self._raising(msg.alert_id):
            try:
                return await self.ctx.transact(lambda tx: self._store_help(tx, viewer, msg))
            except (AlreadyRaised, IntegrityError):
                return await self.ctx.transact(
                    lambda tx: self._known_help(tx, viewer, msg.alert_id)
                )

    def _store_help(self, tx: Tx, viewer: Viewer, msg: CrewHelp) -> tuple[AlertView, bool]:
        crew = tx.get(Crew, viewer.crew_id) if viewer.crew_id else None
        if crew is None:
            raise UseCaseError(ErrorCode.NOT_FOUND, "Your crew is not known.")
        if tx.get(Alert, msg.alert_id) is not None:
            raise AlreadyRaised
        if msg.position is not None:
            lat, lon, accuracy = msg.position.lat, msg.position.lon, msg.position.accuracy
        elif (last := self.positions.crew_last.get(crew.id)) is not None:
            lat, lon, accuracy = last[0], last[1], last[2]
        elif crew.last_lat is not None and crew.last_lon is not None:
            lat, lon, accuracy = crew.last_lat, crew.last_lon, crew.last_accuracy
        else:
            raise UseCaseError(
                ErrorCode.INVALID, "position: no position of your crew is known yet; send one."
            )
        words = f"Crew {crew.callsign} needs help" + (f": {msg.note}" if msg.note else ".")
        alert = build(
            Alert,
            id=msg.alert_id,
            officer_id=viewer.user_id,
            state=AlertState.RAISED,
            urgent=True,
            crews_needed=self.ctx.settings.dispatch.urgent_crews,
            note=words[:500],
            lat=lat,
            lon=lon,
            accuracy=accuracy,
            raised_at=tx.now,
            updated_at=tx.now,
            origin="crew_help",
            help_crew_id=crew.id,
            exercise=crew.id in self.exercise_crews,  # on a drill's live deployment
        )
        if not self.offering.first_step(tx, alert):
            raise AlreadyRaised
        tx.session.add(
            AlertNote(
                alert_id=alert.id,
                at=tx.now,
                user_id=viewer.user_id,
                action="crew_help",
                crew_id=crew.id,
                text=words[:500],
            )
        )
        return alert_view(alert, []), True

    def _known_help(self, tx: Tx, viewer: Viewer, alert_id: str) -> tuple[AlertView, bool]:
        known = tx.get(Alert, alert_id)
        assert known is not None
        if known.help_crew_id is None or known.help_crew_id != viewer.crew_id:
            raise UseCaseError(ErrorCode.CONFLICT, "That alert id is already in use.")
        return alert_view(known, tx.attached(known.id)), False

    # -- her first fix, on alerts raised without one -------------------------------------

    async def locate(self, officer_id: str, alert_ids: list[str], fix: Fix) -> None:
        """Her first fix places her open alerts raised with none, and offers them again,
        ranked by it (open offers stand; an unassigned one is offered now)."""
        for alert_id in alert_ids:
            place = partial(self._locate, who=officer_id, at=alert_id, fix=fix)
            try:
                async with self.ctx.locks.hold(alert_id):
                    await self.ctx.transact(place)
            except Exception:
                log.exception("could not place alert %s", alert_id, extra={"alert_id": alert_id})
                self.positions.unplaced.setdefault(officer_id, set()).add(alert_id)  # next fix

    def _locate(self, tx: Tx, *, who: str, at: str, fix: Fix) -> None:
        alert = tx.get(Alert, at, for_update=True)
        if (
            alert is None
            or alert.officer_id != who
            or alert.position_source is None
            or not is_open_alert(AlertState(alert.state))
        ):
            return  # placed already (a fix a moment earlier), or closed
        alert.lat, alert.lon, alert.accuracy = fix[0], fix[1], fix[2]
        alert.position_source, alert.updated_at = None, tx.now
        tx.session.add(alert)
        tx.session.add(
            AlertNote(
                alert_id=alert.id,
                at=tx.now,
                user_id=who,
                action="located",
                text="Her first position came: crews are ranked by it.",
            )
        )
        self.offering.step(tx, alert, emit=True)

    # -- the officer's further steps ---------------------------------------------------

    async def alert_detail(self, viewer: Viewer, msg: AlertDetail) -> AlertView:
        def detail(tx: Tx) -> AlertView:
            alert = own_open_alert(tx, viewer, msg.alert_id)
            if msg.category is not None:
                alert.category = msg.category
            if msg.note is not None:
                alert.note = msg.note
            alert.updated_at = tx.now
            tx.session.add(alert)
            tx.emit_alert(alert)
            self._reissue_offers(tx, alert)
            return alert_view(alert, tx.attached(alert.id))

        async with self.ctx.locks.hold(msg.alert_id):
            return await self.ctx.transact(detail)

    async def escalate_alert(self, viewer: Viewer, alert_id: str) -> AlertView:
        def escalate(tx: Tx) -> AlertView:
            alert = own_open_alert(tx, viewer, alert_id)
            if not alert.urgent:
                self.make_urgent(tx, alert)
            return alert_view(alert, tx.attached(alert.id))

        async with self.ctx.locks.hold(alert_id):
            return await self.ctx.transact(escalate)

    def _reissue_offers(self, tx: Tx, alert: Alert) -> None:
        for offer in tx.open_offers(alert.id):
            tx.emit_offer(offer, alert)

    def make_urgent(self, tx: Tx, alert: Alert, *, duress: bool = False) -> None:
        """The alert takes `urgent_crews` crews: open offers go out again as urgent."""
        tx.session.add(
            AlertNote(
                alert_id=alert.id,
                at=tx.now,
                user_id=alert.officer_id,
                action="duress" if duress else "urgent",
                text="Cancelled with the duress PIN."
                if duress
                else "The officer needs urgent help.",
            )
        )
        alert.urgent = True
        alert.crews_needed = max(alert.crews_needed, self.ctx.settings.dispatch.urgent_crews)
        alert.updated_at = tx.now
        tx.session.add(alert)
        tx.emit_alert(alert)
        self._reissue_offers(tx, alert)
        self.offering.step(tx, alert)

    # -- cancel ---------------------------------------------------------------------------

    async def cancel_alert(self, viewer: Viewer, msg: AlertCancel) -> AlertView:
        """An officer's cancel (with her PIN once she has PINs). Her duress PIN escalates
        the alert instead, and answers exactly as a cancel would."""
        async with self.ctx.locks.hold(msg.alert_id):
            await self.ctx.transact(lambda tx: own_open_alert(tx, viewer, msg.alert_id))
            match = await self._check_pin(viewer, msg.pin)

            def cancel(tx: Tx) -> AlertView:
                alert = own_open_alert(tx, viewer, msg.alert_id)
                if match is PinMatch.DURESS:
                    # What a real cancel would show her, taken before anything changes;
                    # from now on her phone gets this, and nothing more of the alert.
                    cover = AlertView.model_validate(
                        officer_alert(
                            alert_view(alert, tx.attached(alert.id)).model_dump(mode="json")
                            | {"state": AlertState.CANCELLED, "status": OfficerStatus.CANCELLED}
                        )
                        | {"updated_at": tx.now}
                    )
                    alert.note = (DURESS_NOTE + (alert.note or ""))[:500]
                    self.make_urgent(tx, alert, duress=True)
                    tx.pending.append(
                        PendingEvent(
                            KIND_COVER,
                            alert.id,
                            cover.model_dump_json(),
                            None,
                            (),
                            (alert.officer_id,),
                        )
                    )
                    return cover
                reason = msg.reason or f"cancelled by the {viewer.role.value}"
                self.offering.close_alert(tx, alert, AlertState.CANCELLED, reason=reason)
                return alert_view(alert, tx.attached(alert.id))

            return await self.ctx.transact(cancel)

    async def _check_pin(self, viewer: Viewer, pin: str | None) -> PinMatch:
        """Which of her PINs this is; refuses a missing or wrong one, and counts wrong ones."""
        if viewer.role != Role.OFFICER:
            return PinMatch.NONE
        async with self.ctx.db.session() as s:
            user = await s.get(User, viewer.user_id)
        if user is None or user.cancel_pin_hash is None:
            return PinMatch.NONE  # no PINs set: a cancel needs none
        if pin is None:
            raise UseCaseError(ErrorCode.INVALID, "pin: your PIN is needed to cancel.")
        match = await match_pin(user.cancel_pin_hash, user.duress_pin_hash, pin)
        auth, now = self.ctx.settings.auth, self.ctx.clock()
        locked = user.pin_locked_until is not None and user.pin_locked_until > now
        if match is PinMatch.DURESS:  # never locked out: it only ever adds help
            return match
        if locked:
            raise UseCaseError(
                ErrorCode.FORBIDDEN, "Too many wrong PINs: cancelling is locked for now."
            )
        async with self.ctx.db.session() as s:
            user = await s.get(User, viewer.user_id)
            assert user is not None
            if match is PinMatch.NONE:
                user.pin_failures = (user.pin_failures or 0) + 1
                if user.pin_failures >= auth.max_failed_logins:
                    user.pin_failures = 0
                    user.pin_locked_until = now + timedelta(seconds=auth.lockout_s)
            else:
                user.pin_failures, user.pin_locked_until = 0, None
            s.add(user)
            await s.commit()
        if match is PinMatch.NONE:
            raise UseCaseError(ErrorCode.FORBIDDEN, "That PIN is not right; nothing was cancelled.")
        return match

    # -- the crew's status on its assignment ----------------------------------------------

    async def assignment_status(self, viewer: Viewer, msg: AssignmentUpdate) -> AlertView:
        def update(tx: Tx) -> AlertView:
            alert = tx.get(Alert, msg.alert_id, for_update=True)
            offer = None
            if alert is not None and viewer.crew_id is not None:
                accepted = {"b_alert": alert.id, "b_crew": viewer.crew_id}
                offer = tx.session.exec(ACCEPTED_BY, params=accepted).first()
            if alert is None or offer is None or not is_active_assignment(offer):
                raise UseCaseError(ErrorCode.NOT_FOUND, "You are not assigned to this alert.")
            current = assignment_of(offer)
            if msg.status == "resolved":
                if msg.outcome is None:
                    raise UseCaseError(ErrorCode.INVALID, "Resolving needs an outcome.")
                tx.write(alert, outcome=msg.outcome, outcome_note=msg.note)
                self.offering.close_alert(tx, alert, AlertState.RESOLVED, reason="resolved by crew")
            elif msg.status != current:
                status = move_assignment(current, AssignmentStatus(msg.status))
                if status == AssignmentStatus.ON_SCENE:
                    tx.write(offer, assignment_status=status, on_scene_at=tx.now)
                else:
                    tx.write(offer, assignment_status=status)
                self.offering.step(tx, alert, emit=True)
            return alert_view(alert, tx.attached(alert.id))

        await self.ctx.priority.routine()
        async with self.ctx.locks.hold(msg.alert_id):
            return await self.ctx.transact(update)

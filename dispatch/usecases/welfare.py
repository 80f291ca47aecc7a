"""Officer welfare: her check-ins and escort timer, and the sweep that turns missed
check-ins, silent phones and run-out escort timers into board warnings and alerts.

Everything a decision needs is stored (check-ins, timers, who was heard when, the
warnings on the board), so a restart, or another process, carries on from the database.
The sweep (every `welfare.sweep_s`, by the server's clock): write when the watched
phones connected here were heard, read the watch in one pass, let the core decide
(`dispatch.core.welfare.review`), then act. A warning's id is its table's key: two
processes never put the same warning up twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from dispatch.audit import Action, record_by
from dispatch.auth.sessions import Viewer
from dispatch.core import welfare as rules
from dispatch.realtime.events import KIND_WARNING, KIND_WARNING_CLEAR, PendingEvent
from dispatch.storage.models import (
    Alert,
    CheckIn,
    Crew,
    Deployment,
    DeploymentMember,
    EscortTimer,
    Heard,
    Offer,
    Operation,
    User,
    WelfareWarning,
)
from dispatch.usecases.alerts import Alerts
from dispatch.usecases.context import Context, UseCaseError
from dispatch.usecases.positions import Fix, Positions
from dispatch.usecases.work import Tx
from schemas.client import EscortStart
from schemas.common import Position, Role
from schemas.errors import ErrorCode
from schemas.views import OPEN_ALERT_STATES, AssignmentStatus, DeploymentState, OfferState
from schemas.welfare import CheckInState, EscortState, WarningView, WelfareView

log = logging.getLogger("dispatch")

Here = Callable[[str, str], bool]  # (role, subject id) -> connected to this process


@dataclass
class Watch:
    """One sweep's reading of the database."""

    officers: list[rules.OfficerWatch] = field(default_factory=list)
    crews: list[rules.CrewWatch] = field(default_factory=list)
    escorts: list[rules.Escort] = field(default_factory=list)
    heard: dict[str, Heard] = field(default_factory=dict)
    warnings: dict[str, WarningView] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # officer id or crew id -> name
    crew_fixes: dict[str, Fix] = field(default_factory=dict)  # from the crew table


def subject(role: str, subject_id: str) -> str:
    return f"{role}:{subject_id}"


class Welfare:
    def __init__(self, ctx: Context, alerts: Alerts, positions: Positions) -> None:
        self.ctx, self.alerts, self.positions = ctx, alerts, positions
        w = ctx.settings.welfare
        self.rules = rules.Rules(
            checkin_grace_s=w.checkin_grace_s,
            checkin_alert_after_s=w.checkin_alert_after_s,
            silent_after_s=w.silent_after_s,
            startup_grace_s=w.startup_grace_s,
        )
        self.here: Here = lambda role, subject_id: False  # the registry's, set by services
        self._seen: dict[str, datetime] = {}  # subject -> last sweep it was connected here
        self._written: dict[str, datetime] = {}  # subject -> heard_at this process wrote
        self._watched_before: set[str] | None = None  # None: not swept yet
        self.started_at: datetime | None = None  # this process's first sweep

    # -- her page ------------------------------------------------------------------------

    async def state(self, viewer: Viewer) -> WelfareView:
        return await self.ctx.store.read(lambda s: self._state(s, viewer.user_id, self.ctx.clock()))

    def _state(self, s: Session, officer_id: str, now: datetime) -> WelfareView:
        checkin = None
        live = self.alerts.live_of.get(officer_id)
        dep = s.get(Deployment, live[0]) if live else None
        op = s.get(Operation, dep.operation_id) if dep else None
        if dep is not None and op is not None and op.checkin_interval_min:
            row = s.get(CheckIn, (dep.id, officer_id))
            last = row.last_at if row else None
            due = rules.checkin_due(
                live_from=dep.started_at or dep.starts_at,
                last_at=last,
                interval_min=op.checkin_interval_min,
                set_at=op.checkin_set_at,
            )
            checkin = CheckInState(
                interval_s=op.checkin_interval_min * 60, due_at=due, last_at=last
            )
        timer = s.get(EscortTimer, officer_id)
        escort = None
        if timer is not None:
            escort = EscortState(
                alert_id=timer.alert_id,
                started_at=timer.started_at,
                due_at=timer.due_at,
                label=timer.label,
            )
        return WelfareView(checkin=checkin, escort=escort)

    async def checkin(self, viewer: Viewer) -> WelfareView:
        """Her check-in: the next is due an interval from now; a missed-check-in warning
        of hers clears."""
        officer_id = viewer.user_id
        live = self.alerts.live_of.get(officer_id)
        if live is None:
            raise UseCaseError(
                ErrorCode.ILLEGAL_TRANSITION, "You have no live deployment to check in on."
            )

        def check_in(tx: Tx) -> WelfareView:
            dep = tx.session.get(Deployment, live[0])
            op = tx.session.get(Operation, dep.operation_id) if dep else None
            if op is None or not op.checkin_interval_min:
                raise UseCaseError(
                    ErrorCode.ILLEGAL_TRANSITION, "Your deployment does not ask for check-ins."
                )
            row = tx.session.get(CheckIn, (live[0], officer_id))
            if row is None:
                row = CheckIn(deployment_id=live[0], officer_id=officer_id)
            row.last_at, row.alerted_due = tx.now, None
            tx.session.add(row)
            self._clear(tx, rules.checkin_warning_id(officer_id), "checkin")
            tx.session.flush()
            return self._state(tx.session, officer_id, tx.now)

        return await self.ctx.transact(check_in)

    async def escort_start(self, viewer: Viewer, msg: EscortStart) -> WelfareView:
        officer_id = viewer.user_id

        def start(tx: Tx) -> WelfareView:
            if tx.session.get(Alert, msg.alert_id) is not None:
                raise UseCaseError(ErrorCode.CONFLICT, "That alert id is already in use.")
            other = tx.session.exec(
                select(EscortTimer).where(EscortTimer.alert_id == msg.alert_id)
            ).first()
            if other is not None and other.officer_id != officer_id:
                raise UseCaseError(ErrorCode.CONFLICT, "That alert id is already in use.")
            timer = tx.session.get(EscortTimer, officer_id)
            if timer is not None and timer.alert_id != msg.alert_id:
                tx.session.delete(timer)  # a new start replaces a running timer
                tx.session.flush()
                timer = None
            if timer is None:
                timer = EscortTimer(
                    officer_id=officer_id,
                    alert_id=msg.alert_id,
                    started_at=tx.now,
                    due_at=tx.now,
                )
            # The phone resends a start it got no answer to with the time it has left:
            # a resend (same id) keeps its start and never runs out later than before.
            due = tx.now + timedelta(seconds=msg.duration_s)
            timer.label = msg.label or None  # a blank label is none
            timer.due_at = due if timer.due_at == timer.started_at else min(timer.due_at, due)
            tx.session.add(timer)
            tx.session.flush()
            return self._state(tx.session, officer_id, tx.now)

        return await self.ctx.transact(start)

    async def escort_stop(self, viewer: Viewer, alert_id: str) -> WelfareView:
        """Stop her timer. Idempotent: stopping one already stopped changes nothing; one
        that ran out (its alert raised) is refused: the alert is cancelled as any other."""
        officer_id = viewer.user_id

        def stop(tx: Tx) -> WelfareView:
            timer = tx.session.get(EscortTimer, officer_id)
            if timer is not None and timer.alert_id == alert_id:
                tx.session.delete(timer)
                tx.session.flush()
            elif tx.session.get(Alert, alert_id) is not None:
                raise UseCaseError(
                    ErrorCode.ILLEGAL_TRANSITION,
                    "The timer ran out: its alert was raised (cancel the alert instead).",
                )
            return self._state(tx.session, officer_id, tx.now)

        return await self.ctx.transact(stop)

    # -- the operation's setting --------------------------------------------------------

    async def set_checkin_interval(
        self, key: str, minutes: int | None, actor: Viewer | None = None
    ) -> str:
        """A draft's or a published operation's check-in interval (by id or name); its
        live deployments follow from the next sweep. Returns the operation's id."""
        async with self.ctx.work() as w:
            op = await w.session.get(Operation, key)
            if op is None:
                query = select(Operation).where(Operation.name == key)
                op = (await w.session.exec(query)).first()
            if op is None:
                raise UseCaseError(ErrorCode.NOT_FOUND, f"No operation {key!r}.")
            if op.state not in ("draft", "published"):
                raise UseCaseError(
                    ErrorCode.ILLEGAL_TRANSITION, f"The operation is {op.state}: nothing to check."
                )
            if op.checkin_interval_min != minutes:
                op.checkin_interval_min = minutes
                # Her next check-in counts from now at the earliest: turned on, or
                # changed, on a live deployment, it never finds her already late.
                op.checkin_set_at = w.now
                op.updated_at = w.now
                w.session.add(op)
                every = f"every {minutes} min" if minutes else "none"
                await record_by(
                    w.session, actor, w.now, Action.ALTERATION, "operation", op.id,
                    f"check-ins: {every}",
                )  # fmt: skip
            return op.id

    # -- the sweep ------------------------------------------------------------------------

    async def sweep(self) -> None:
        now = self.ctx.clock()
        if self.started_at is None:
            self.started_at = now  # the start-up grace counts from here
        watch = await self.ctx.store.read(lambda s: self._read(s))
        await self._write_heard(watch, now)
        plan = rules.review(
            now,
            officers=[self._heard_officer(o, watch, now) for o in watch.officers],
            crews=[self._heard_crew(c, watch, now) for c in watch.crews],
            escorts=watch.escorts,
            active=watch.warnings,
            rules=self.rules,
            started_at=self.started_at,
        )
        for warning in plan.warn:
            await self._guard(self._warn(warning, watch, now))
        for warning_id, cleared_by in plan.clear:
            await self._guard(self._clear_now(warning_id, cleared_by))
        for missed in plan.raise_checkin:
            await self._guard(self._raise_checkin(missed, watch))
        for escort in plan.fire_escorts:
            await self._guard(self._fire_escort(escort, watch))
        await self._guard(self._forget(watch))

    async def _forget(self, watch: Watch) -> None:
        """Her last position is kept only while she is watched: when a deployment or an
        assignment ends, its phones' heard rows (and this process's memory) go."""
        watched = {subject(Role.OFFICER, o.officer_id) for o in watch.officers}
        watched |= {subject(Role.CREW, c.crew_id) for c in watch.crews}
        if watched == self._watched_before:
            return
        for key in [k for k in self._seen if k not in watched]:
            del self._seen[key]
        for key in [k for k in self._written if k not in watched]:
            del self._written[key]
        keep = sorted(watched)

        def forget(s: Session) -> None:
            s.connection().execute(delete(Heard).where(col(Heard.subject).not_in(keep)))

        await self.ctx.store.run(forget)
        self._watched_before = watched

    @staticmethod
    async def _guard(step: Awaitable[None]) -> None:
        try:
            await step
        except IntegrityError:
            pass  # another process did the same a moment earlier
        except Exception:
            log.exception("welfare step failed")

    def _read(self, s: Session) -> Watch:
        watch = Watch()
        lives = s.exec(
            select(Deployment, Operation)
            .join(Operation, col(Operation.id) == col(Deployment.operation_id))
            .where(Deployment.state == DeploymentState.LIVE)
        ).all()
        dep_ids = [d.id for d, _ in lives]
        members = s.exec(
            select(DeploymentMember).where(
                col(DeploymentMember.deployment_id).in_(dep_ids),
                col(DeploymentMember.user_id).is_not(None),
            )
        ).all()
        checkins = {
            (c.deployment_id, c.officer_id): c
            for c in s.exec(select(CheckIn).where(col(CheckIn.deployment_id).in_(dep_ids))).all()
        }
        by_dep = {d.id: (d, op) for d, op in lives}
        latest: dict[str, tuple[Deployment, Operation]] = {}
        for m in members:
            assert m.user_id is not None
            dep, op = by_dep[m.deployment_id]
            known = latest.get(m.user_id)
            if known is None or known[0].starts_at <= dep.starts_at:
                latest[m.user_id] = (dep, op)
        for officer_id, (dep, op) in sorted(latest.items()):
            row = checkins.get((dep.id, officer_id))
            watch.officers.append(
                rules.OfficerWatch(
                    officer_id=officer_id,
                    deployment_id=dep.id,
                    live_from=dep.started_at or dep.starts_at,
                    interval_min=op.checkin_interval_min or None,
                    last_checkin=row.last_at if row else None,
                    alerted_due=row.alerted_due if row else None,
                    heard_at=None,
                    checkin_set_at=op.checkin_set_at,
                )
            )
        assigned = s.exec(
            select(Offer, Crew)
            .join(Crew, col(Crew.id) == col(Offer.crew_id))
            .join(Alert, col(Alert.id) == col(Offer.alert_id))
            .where(
                Offer.state == OfferState.ACCEPTED,
                col(Offer.withdrawn_by).is_(None),
                col(Offer.assignment_status).in_(
                    [AssignmentStatus.EN_ROUTE, AssignmentStatus.ON_SCENE]
                ),
                col(Alert.state).in_(list(OPEN_ALERT_STATES)),
            )
        ).all()
        for offer, crew in assigned:
            watch.crews.append(
                rules.CrewWatch(
                    crew_id=crew.id,
                    alert_id=offer.alert_id,
                    since=offer.accepted_at or offer.created_at,
                    heard_at=None,
                )
            )
            watch.names[crew.id] = crew.callsign
            if crew.last_lat is not None and crew.last_lon is not None and crew.last_fix_at:
                fix = (crew.last_lat, crew.last_lon, crew.last_accuracy, crew.last_fix_at)
                watch.crew_fixes[crew.id] = fix
        watch.escorts = [
            rules.Escort(t.officer_id, t.alert_id, t.due_at)
            for t in s.exec(select(EscortTimer)).all()
        ]
        subjects = [subject(Role.OFFICER, o.officer_id) for o in watch.officers]
        subjects += [subject(Role.CREW, c.crew_id) for c in watch.crews]
        if subjects:
            heard = s.exec(select(Heard).where(col(Heard.subject).in_(subjects))).all()
            watch.heard = {h.subject: h for h in heard}
        watch.warnings = {
            w.id: WarningView.model_validate_json(w.payload)
            for w in s.exec(select(WelfareWarning)).all()
        }
        officer_ids = {o.officer_id for o in watch.officers} | {e.officer_id for e in watch.escorts}
        officer_ids |= {w.subject_id for w in watch.warnings.values() if w.role == Role.OFFICER}
        if officer_ids:
            for user in s.exec(select(User).where(col(User.id).in_(sorted(officer_ids)))).all():
                watch.names[user.id] = user.display_name or user.username
        return watch

    # -- who was heard ------------------------------------------------------------------

    def _local_heard(self, key: str, role: str, subject_id: str, now: datetime) -> datetime | None:
        """When this process last heard the subject: now while connected here, else the
        last sweep it was, and its latest fix here."""
        if self.here(role, subject_id):
            self._seen[key] = now
        seen = self._seen.get(key)
        last = self._fix(role, subject_id)
        fix_at = last[3] if last is not None else None
        return max((t for t in (seen, fix_at) if t is not None), default=None)

    def _fix(self, role: str, subject_id: str) -> Fix | None:
        if role == Role.OFFICER:
            return self.positions.officer_last.get(subject_id)
        return self.positions.crew_last.get(subject_id)

    def _heard(self, role: str, subject_id: str, watch: Watch, now: datetime) -> datetime | None:
        key = subject(role, subject_id)
        stored = watch.heard.get(key)
        local = self._local_heard(key, role, subject_id, now)
        times = [t for t in (stored.heard_at if stored else None, local) if t is not None]
        return max(times, default=None)

    def _heard_officer(
        self, o: rules.OfficerWatch, watch: Watch, now: datetime
    ) -> rules.OfficerWatch:
        heard = self._heard(Role.OFFICER, o.officer_id, watch, now)
        return rules.OfficerWatch(**{**o.__dict__, "heard_at": heard})

    def _heard_crew(self, c: rules.CrewWatch, watch: Watch, now: datetime) -> rules.CrewWatch:
        heard = self._heard(Role.CREW, c.crew_id, watch, now)
        return rules.CrewWatch(**{**c.__dict__, "heard_at": heard})

    async def _write_heard(self, watch: Watch, now: datetime) -> None:
        """Write, every `welfare.heard_every_s`, when the watched phones connected here
        were last heard, with their last position, for the other processes and a restart.
        A phone that left this process is written once more, with when it was last seen."""
        every = self.ctx.settings.welfare.heard_every_s
        subjects = [(Role.OFFICER.value, o.officer_id) for o in watch.officers]
        subjects += [(Role.CREW.value, c.crew_id) for c in watch.crews]
        rows: list[dict[str, object]] = []
        for role, subject_id in subjects:
            key = subject(role, subject_id)
            heard = self._local_heard(key, role, subject_id, now)
            if heard is None:
                continue
            written = self._written.get(key)
            if written is not None and heard <= written:
                continue
            if written is not None and self.here(role, subject_id):
                if (heard - written).total_seconds() < every:
                    continue
            fix = self._fix(role, subject_id)
            rows.append({"subject": key, "heard_at": heard, "fix": fix})
        if not rows:
            return

        def write(s: Session) -> None:
            for row in rows:
                heard_at = row["heard_at"]
                fix = row["fix"]
                assert isinstance(heard_at, datetime)
                stored = s.get(Heard, row["subject"])
                if stored is None:
                    stored = Heard(subject=str(row["subject"]), heard_at=heard_at)
                elif stored.heard_at > heard_at:
                    continue  # another process heard it later
                stored.heard_at = heard_at
                if isinstance(fix, tuple):
                    stored.lat, stored.lon, stored.accuracy, stored.fix_at = fix
                s.add(stored)

        try:
            await self.ctx.store.run(write)
        except IntegrityError:
            return  # two processes wrote a new subject at once: the next sweep writes
        for row in rows:
            heard_at = row["heard_at"]
            assert isinstance(heard_at, datetime)
            self._written[str(row["subject"])] = heard_at

    def _position(self, role: str, subject_id: str, watch: Watch) -> Fix | None:
        """Her or its last known position: this process's, else the stored one."""
        fix = self._fix(role, subject_id)
        stored = watch.heard.get(subject(role, subject_id))
        if stored is not None and stored.lat is not None and stored.lon is not None:
            stored_fix = (stored.lat, stored.lon, stored.accuracy, stored.fix_at or stored.heard_at)
            if fix is None or stored_fix[3] > fix[3]:
                fix = stored_fix
        if fix is None and role == Role.CREW:
            fix = watch.crew_fixes.get(subject_id)
        return fix

    # -- warnings ------------------------------------------------------------------------

    async def _warn(self, w: rules.NewWarning, watch: Watch, now: datetime) -> None:
        fix = self._position(w.role, w.subject_id, watch)
        view = WarningView(
            id=w.id,
            kind=w.kind,
            role=Role(w.role),
            subject_id=w.subject_id,
            name=watch.names.get(w.subject_id, w.subject_id),
            since=w.since,
            raised_at=now,
            lat=fix[0] if fix else None,
            lon=fix[1] if fix else None,
            position_at=fix[3] if fix else None,
            deployment_id=w.deployment_id,
            alert_id=w.alert_id,
        )

        def put(tx: Tx) -> None:
            if tx.session.get(WelfareWarning, w.id) is not None:
                return  # another process put it up
            tx.session.add(
                WelfareWarning(id=w.id, kind=w.kind, payload=view.model_dump_json(), raised_at=now)
            )
            tx.session.flush()
            self._emit(tx, KIND_WARNING, view)

        await self.ctx.transact(put)

    def _emit(self, tx: Tx, kind: str, view: WarningView) -> None:
        """Supervisors only: no officer, no crew in its audience."""
        tx.pending.append(PendingEvent(kind, view.id, view.model_dump_json(), None, ()))

    def _clear(self, tx: Tx, warning_id: str, cleared_by: str) -> None:
        row = tx.session.get(WelfareWarning, warning_id)
        if row is None:
            return
        view = WarningView.model_validate_json(row.payload)
        view = view.model_copy(update={"cleared_at": tx.now, "cleared_by": cleared_by})
        tx.session.delete(row)
        tx.session.flush()
        self._emit(tx, KIND_WARNING_CLEAR, view)

    async def _clear_now(self, warning_id: str, cleared_by: str) -> None:
        await self.ctx.transact(lambda tx: self._clear(tx, warning_id, cleared_by))

    # -- alerts raised for her --------------------------------------------------------------

    def _last_position(self, officer_id: str, watch: Watch) -> Position | None:
        fix = self._position(Role.OFFICER, officer_id, watch)
        if fix is None:
            return None
        return Position(lat=fix[0], lon=fix[1], accuracy=fix[2], at=fix[3])

    async def _raise_checkin(self, missed: rules.CheckInAlert, watch: Watch) -> None:
        """Her alert for a missed check-in; while she has an open alert (a duress one
        too), a note on that one instead (`Alerts.raise_for_officer`). Either way the
        board's warning names the alert, and this due is not escalated again."""
        due = missed.due.strftime("%H:%M UTC")
        raised = await self.alerts.raise_for_officer(
            missed.officer_id,
            missed.alert_id,
            origin="checkin",
            why=f"missed check-in (due {due})",
            position=self._last_position(missed.officer_id, watch),
        )
        assert raised is not None
        view, _ = raised

        def mark(tx: Tx) -> None:
            row = tx.session.get(CheckIn, (missed.deployment_id, missed.officer_id))
            if row is None:
                row = CheckIn(deployment_id=missed.deployment_id, officer_id=missed.officer_id)
            row.alerted_due = missed.due
            tx.session.add(row)
            warning = tx.session.get(WelfareWarning, rules.checkin_warning_id(missed.officer_id))
            if warning is not None:
                current = WarningView.model_validate_json(warning.payload)
                if current.alert_id != view.id:
                    current = current.model_copy(update={"alert_id": view.id})
                    warning.payload = current.model_dump_json()
                    tx.session.add(warning)
                    tx.session.flush()
                    self._emit(tx, KIND_WARNING, current)

        await self.ctx.transact(mark)

    async def _fire_escort(self, escort: rules.Escort, watch: Watch) -> None:
        """Her alert for a run-out escort timer, raised only if the timer is still there
        in the raise's own transaction (a stop a moment earlier wins), which ends it."""

        def why(tx: Tx) -> str | None:
            timer = tx.session.get(EscortTimer, escort.officer_id)
            if timer is None or timer.alert_id != escort.alert_id:
                return None  # stopped or replaced since the sweep read it
            tx.session.delete(timer)
            return "her escort timer ran out" + (f" ({timer.label})" if timer.label else "")

        await self.alerts.raise_for_officer(
            escort.officer_id,
            escort.alert_id,
            origin="escort",
            why=why,
            position=self._last_position(escort.officer_id, watch),
        )

        def done(tx: Tx) -> None:  # her phone raised the same id first: the timer ends
            timer = tx.session.get(EscortTimer, escort.officer_id)
            if timer is not None and timer.alert_id == escort.alert_id:
                tx.session.delete(timer)

        await self.ctx.transact(done)

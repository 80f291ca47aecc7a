"""A stateful property test of the real dispatch core (no mocks, no sockets).

Officers raise, resend, escalate and cancel alerts; crews go on and off duty, move,
accept, decline, go on scene, resolve, connect and disconnect; a supervisor told by
radio closes an alert in whatever open state it is; time passes and offers lapse; the
server restarts. After every step, read straight from the database:

1. no alert lost: every acknowledged alert is stored, and an open one is in an open state;
2. no crew with two alerts: at most one open offer or one active assignment per crew,
   and `Crew.state` / `offer_id` / `alert_id` agree with the offer rows;
3. no alert with more crews than it needs: active assignments + open offers <= crews_needed.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import tempfile
import uuid
from collections import Counter
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlmodel import col, select

from dispatch.auth.sessions import Viewer
from dispatch.core.lifecycle import IllegalTransition
from dispatch.people import add_crew, new_user
from dispatch.realtime.hub import make_hub
from dispatch.storage.db import Database
from dispatch.storage.models import Alert, Crew, Offer
from dispatch.usecases.context import UseCaseError
from dispatch.usecases.dispatcher import Dispatcher
from dispatch.usecases.work import is_active_assignment
from schemas.client import AlertCancel, AlertClose, AlertRaise, AssignmentUpdate
from schemas.common import CrewMode, Outcome, Position, Role
from schemas.views import OPEN_ALERT_STATES, AlertState, CrewState, OfferState
from tests.support import CENTRE, IN_CI, PG_ADMIN, ManualClock, north_of, settings_for

T = TypeVar("T")

CREWS = 4
OFFICERS = 2
OFFER_TIMEOUT_S = 20
MODES = [CrewMode.FOOT, CrewMode.BIKE, CrewMode.CAR, CrewMode.FOOT]
OVERRIDES: dict[str, Any] = {
    "dispatch.offer_timeout_s": OFFER_TIMEOUT_S,
    "dispatch.disconnect_grace_s": 0,
    "dispatch.reoffer_after_s": 30,
    "dispatch.urgent_crews": 2,
    "dispatch.position_fresh_s": 86_400,  # positions stay rankable however far time moves
}
REFUSED = (UseCaseError, IllegalTransition)
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)

crew_ix = st.integers(0, CREWS - 1)
officer_ix = st.integers(0, OFFICERS - 1)
pick = st.integers(0, 1_000)  # an index into whatever rows the rule finds, modulo their count
metres = st.sampled_from([50, 300, 900, 2_500])


class _Errors(logging.Handler):
    """Errors the core only logs (a failed background task, a failed expiry)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class DispatchMachine(RuleBasedStateMachine):
    postgres = False  # a fresh PostgreSQL database per example instead of a SQLite file

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.tmp = tempfile.mkdtemp(prefix="dispatch-machine-")
        self.pg_name = f"dispatch_machine_{uuid.uuid4().hex[:12]}" if self.postgres else ""
        url = f"sqlite+aiosqlite:///{self.tmp}/dispatch.db"
        if self.pg_name:
            self.loop.run_until_complete(self._admin(f'CREATE DATABASE "{self.pg_name}"'))
            url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{self.pg_name}"
        self.settings = settings_for(url, **OVERRIDES)
        self.clock = ManualClock()
        self.db = Database(url)
        self.hub = make_hub("memory://")
        self.d: Dispatcher | None = None
        self.errors = _Errors()
        logging.getLogger("dispatch").addHandler(self.errors)
        self.crew_ids: list[str] = []
        self.crews: list[Viewer] = []
        self.officers: list[Viewer] = []
        self.supervisor: Viewer | None = None
        self.connections = [0] * CREWS  # members connected, as this test's phones see it
        self.raised: dict[str, int] = {}  # acknowledged alert id -> officer index
        self.closed: set[str] = set()  # alerts this test closed (cancel, resolve)
        self.count = 0
        self.steps = 0
        self.at_once: Counter[str] = Counter()  # raises stored in one statement, or not

    # -- plumbing ---------------------------------------------------------------------

    @staticmethod
    async def _admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        result = self.loop.run_until_complete(coro)
        self.settle()
        return result

    def attempt(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """A step the core may refuse: a refusal changes nothing and is fine."""
        name = coro.__qualname__
        try:
            result = self.run(coro)
        except REFUSED as exc:
            event(f"{name}: refused ({type(exc).__name__})")
            self.settle()
            return None
        event(f"{name}: done")
        return result

    def settle(self) -> None:
        """Let post-commit work (withdrawals, retries, resends) run to its end."""

        async def drain() -> None:
            for _ in range(100):
                for _ in range(5):
                    await asyncio.sleep(0)
                tasks = [t for t in self.dispatcher.ctx._tasks if not t.done()]
                if not tasks:
                    return
                await asyncio.gather(*tasks, return_exceptions=True)
            raise AssertionError("background dispatch tasks never settled")

        self.loop.run_until_complete(drain())

    @property
    def dispatcher(self) -> Dispatcher:
        assert self.d is not None
        return self.d

    def viewer(self, user_id: str, role: Role, crew_id: str | None) -> Viewer:
        return Viewer(user_id, f"{role.value}-{user_id[:6]}", role, crew_id, FAR_FUTURE, "h")

    def fresh(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    async def _boot(self) -> None:
        if self.d is not None:  # a restart: keep the old process's counts
            self.at_once.update(self.d.offering.at_once)
        self.d = Dispatcher.build(
            db=self.db, hub=self.hub, settings=self.settings, clock=self.clock
        )
        await self.d.start()

    async def _populate(self) -> None:
        await self.db.create_tables()
        await self.hub.connect()
        for i in range(CREWS):
            crew = await add_crew(self.db, callsign=f"C{i}", mode=MODES[i], now=self.clock())
            self.crew_ids.append(crew.id)
            self.crews.append(self.viewer(uuid.uuid4().hex, Role.CREW, crew.id))
        async with self.db.session() as s:
            for i in range(OFFICERS):
                user = new_user(
                    username=f"officer{i}",
                    display_name=None,
                    role=Role.OFFICER,
                    password_hash="not used: no sign-in here",
                    crew_id=None,
                    now=self.clock(),
                    pin_hashes=None,
                )
                s.add(user)
                self.officers.append(self.viewer(user.id, Role.OFFICER, None))
            boss = new_user(
                username="supervisor",
                display_name=None,
                role=Role.SUPERVISOR,
                password_hash="not used: no sign-in here",
                crew_id=None,
                now=self.clock(),
                pin_hashes=None,
            )
            s.add(boss)
            self.supervisor = self.viewer(boss.id, Role.SUPERVISOR, None)
            await s.commit()
        await self._boot()

    async def _connect(self, i: int) -> None:
        """A phone connects: the crew is known connected and sends where it is."""
        await self.dispatcher.crews.connected(self.crew_ids[i])
        await self.dispatcher.positions.crew_position(
            self.crews[i], Position(lat=north_of(CENTRE, 200 * (i + 1))[0], lon=CENTRE[1])
        )

    async def _disconnect(self, i: int) -> None:
        """The crew's phone goes away (from the loop, as the socket's handler would)."""
        self.dispatcher.crews.disconnected(self.crew_ids[i])

    async def rows(self) -> tuple[list[Alert], list[Offer], list[Crew]]:
        async with self.db.session() as s:
            alerts = list((await s.exec(select(Alert))).all())
            offers = list((await s.exec(select(Offer).order_by(col(Offer.created_at)))).all())
            crews = list((await s.exec(select(Crew))).all())
        return alerts, offers, crews

    def open_offers(self) -> list[Offer]:
        _, offers, _ = self.loop.run_until_complete(self.rows())
        return sorted(
            (o for o in offers if o.state == OfferState.OFFERED), key=lambda o: (o.created_at, o.id)
        )

    def assignments(self) -> list[Offer]:
        _, offers, _ = self.loop.run_until_complete(self.rows())
        return sorted(
            (o for o in offers if o.state == OfferState.ACCEPTED and is_active_assignment(o)),
            key=lambda o: (o.created_at, o.id),
        )

    def crew_index(self, crew_id: str) -> int:
        return self.crew_ids.index(crew_id)

    # -- set up and tear down -----------------------------------------------------------

    @initialize(
        on_duty=st.lists(st.booleans(), min_size=CREWS, max_size=CREWS),
        first=st.lists(st.tuples(officer_ix, st.booleans(), metres), min_size=1, max_size=2),
    )
    def start(self, on_duty: list[bool], first: list[tuple[int, bool, int]]) -> None:
        """Crews connected (some on duty), and an alert or two already raised: the rules
        (some of which a run may leave out) start from something to work on."""
        self.run(self._populate())
        for i, on in enumerate(on_duty):
            self.connections[i] = 1
            self.run(self._connect(i))
            if on:
                self.run(self.dispatcher.crews.set_duty(self.crews[i], True))
        for who, urgent, away in first:
            self.raise_alert(who, urgent, away)

    def teardown(self) -> None:
        try:
            if self.d is not None:
                _, offers, _ = self.loop.run_until_complete(self.rows())
                for state in OfferState:
                    n = sum(o.state == state for o in offers)
                    event(f"offers {state.value}: {min(n, 3)}{'+' if n >= 3 else ''}")
                event(f"alerts raised: {min(len(self.raised), 3)}")
                event(f"steps: {self.steps // 10 * 10}+")
                self.at_once.update(self.d.offering.at_once)
                for outcome, n in self.at_once.items():  # PostgreSQL's raises
                    event(f"raises at once {outcome}: {min(n, 3)}{'+' if n >= 3 else ''}")
                self.loop.run_until_complete(self.d.stop())
            self.loop.run_until_complete(self.hub.disconnect())
            self.loop.run_until_complete(self.db.close())
            if self.pg_name:
                drop = f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)'
                self.loop.run_until_complete(self._admin(drop))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()
            logging.getLogger("dispatch").removeHandler(self.errors)
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- officers ---------------------------------------------------------------------

    @rule(who=officer_ix, urgent=st.booleans(), away=metres)
    def raise_alert(self, who: int, urgent: bool, away: int) -> None:
        alert_id = self.fresh("alert-")
        lat, lon = north_of(CENTRE, -away)
        msg = AlertRaise(
            id=self.fresh("m"),
            alert_id=alert_id,
            position=Position(lat=lat, lon=lon),
            urgent=urgent,
        )
        self.run(self.dispatcher.alerts.raise_alert(self.officers[who], msg))
        self.raised[alert_id] = who  # acknowledged: from here it must never be lost

    @rule(which=pick, same_officer=st.booleans())
    def resend_alert(self, which: int, same_officer: bool) -> None:
        """The phone sends the raise again (no ack seen): idempotent on the alert id."""
        if not self.raised:
            return
        alert_id = sorted(self.raised)[which % len(self.raised)]
        who = self.raised[alert_id] if same_officer else 1 - self.raised[alert_id]
        msg = AlertRaise(
            id=self.fresh("m"), alert_id=alert_id, position=Position(lat=CENTRE[0], lon=CENTRE[1])
        )
        self.attempt(self.dispatcher.alerts.raise_alert(self.officers[who], msg))

    @rule(which=pick)
    def escalate(self, which: int) -> None:
        if not self.raised:
            return
        alert_id = sorted(self.raised)[which % len(self.raised)]
        officer = self.officers[self.raised[alert_id]]
        self.attempt(self.dispatcher.alerts.escalate_alert(officer, alert_id))

    @rule(which=pick)
    def cancel(self, which: int) -> None:
        if not self.raised:
            return
        alert_id = sorted(self.raised)[which % len(self.raised)]
        officer = self.officers[self.raised[alert_id]]
        msg = AlertCancel(id=self.fresh("m"), alert_id=alert_id)
        if self.attempt(self.dispatcher.alerts.cancel_alert(officer, msg)) is not None:
            self.closed.add(alert_id)

    # -- supervisors ------------------------------------------------------------------

    @rule(which=pick, outcome=st.sampled_from(Outcome))
    def supervisor_closes(self, which: int, outcome: Outcome) -> None:
        """Told by radio: an open alert closes with an outcome whatever its state (raised,
        dispatching, unassigned, assigned, on scene); never refused. Its open offers are
        withdrawn and its crews freed (the invariants check that)."""
        alerts, _, _ = self.loop.run_until_complete(self.rows())
        open_ids = sorted(a.id for a in alerts if AlertState(a.state) in OPEN_ALERT_STATES)
        if not open_ids:
            return
        alert_id = open_ids[which % len(open_ids)]
        state = next(a.state for a in alerts if a.id == alert_id)
        assert self.supervisor is not None
        msg = AlertClose(id=self.fresh("m"), alert_id=alert_id, outcome=outcome, reason="radio")
        view = self.run(self.dispatcher.supervision.close_by_supervisor(self.supervisor, msg))
        event(f"supervisor closes from {state}")
        assert view.state == AlertState.RESOLVED
        self.closed.add(alert_id)

    # -- crews ------------------------------------------------------------------------

    @rule(i=crew_ix, on=st.booleans())
    def duty(self, i: int, on: bool) -> None:
        self.attempt(self.dispatcher.crews.set_duty(self.crews[i], on))

    @rule(i=crew_ix, away=metres)
    def move(self, i: int, away: int) -> None:
        lat, lon = north_of(CENTRE, away)
        self.run(self.dispatcher.positions.crew_position(self.crews[i], Position(lat=lat, lon=lon)))

    @rule(which=pick)
    def accept(self, which: int) -> None:
        offers = self.open_offers()
        if offers:
            offer = offers[which % len(offers)]
            crew = self.crews[self.crew_index(offer.crew_id)]
            self.attempt(self.dispatcher.crews.accept_offer(crew, offer.id))

    @rule(which=pick)
    def decline(self, which: int) -> None:
        offers = self.open_offers()
        if offers:
            offer = offers[which % len(offers)]
            crew = self.crews[self.crew_index(offer.crew_id)]
            self.attempt(self.dispatcher.crews.decline_offer(crew, offer.id, None))

    @rule(which=pick, accept=st.booleans())
    def answer_late(self, which: int, accept: bool) -> None:
        """A crew answers an offer that is no longer open (a slow phone): refused."""
        offers = [o for o in self.any_offers() if o.state != OfferState.OFFERED]
        if offers:
            offer = offers[which % len(offers)]
            crew = self.crews[self.crew_index(offer.crew_id)]
            crews = self.dispatcher.crews
            answer = (
                crews.accept_offer(crew, offer.id)
                if accept
                else crews.decline_offer(crew, offer.id, None)
            )
            self.attempt(answer)

    def any_offers(self) -> list[Offer]:
        _, offers, _ = self.loop.run_until_complete(self.rows())
        return offers

    @rule(which=pick, resolve=st.booleans())
    def assignment(self, which: int, resolve: bool) -> None:
        """An assigned crew reports on scene, or resolves its alert."""
        rows = self.assignments()
        if not rows:
            return
        offer = rows[which % len(rows)]
        crew = self.crews[self.crew_index(offer.crew_id)]
        msg = AssignmentUpdate(
            id=self.fresh("m"),
            alert_id=offer.alert_id,
            status="resolved" if resolve else "on_scene",
            outcome=Outcome.WORDS_OF_ADVICE if resolve else None,
        )
        if self.attempt(self.dispatcher.alerts.assignment_status(crew, msg)) and resolve:
            self.closed.add(offer.alert_id)

    @rule(i=crew_ix)
    def connect(self, i: int) -> None:
        if self.connections[i] < 2:
            self.connections[i] += 1
            self.run(self._connect(i))

    @rule(i=crew_ix)
    def disconnect(self, i: int) -> None:
        if self.connections[i] > 0:
            self.connections[i] -= 1
            self.run(self._disconnect(i))

    # -- time and the server ---------------------------------------------------------------

    @rule(seconds=st.sampled_from([1, 10, OFFER_TIMEOUT_S + 1]), sweep=st.booleans())
    def tick(self, seconds: int, sweep: bool) -> None:
        """Time passes (offers lapse); the sweep, the timers' backstop, may run."""
        self.clock.advance(timedelta(seconds=seconds))
        if sweep:
            self.run(self.dispatcher.offering.sweep())

    @rule()
    def restart(self) -> None:
        """Stop and start again over the same database; the phones reconnect."""
        d = self.dispatcher
        self.run(d.stop())
        self.loop.run_until_complete(d.positions.flush())
        self.d = None
        self.loop.run_until_complete(self._boot())
        self.settle()
        for i, n in enumerate(self.connections):
            for _ in range(n):
                self.run(self._connect(i))

    # -- the invariants -------------------------------------------------------------------

    @invariant()
    def nothing_lost_and_no_double_booking(self) -> None:
        self.steps += 1
        if self.d is None:
            return
        assert not self.errors.records, [r.getMessage() for r in self.errors.records]
        alerts, offers, crews = self.loop.run_until_complete(self.rows())
        by_id = {a.id: a for a in alerts}
        # 1. No alert lost.
        for alert_id in self.raised:
            assert alert_id in by_id, f"acknowledged alert {alert_id} is not stored"
            state = AlertState(by_id[alert_id].state)
            if alert_id in self.closed:
                assert state in (AlertState.CANCELLED, AlertState.RESOLVED), (alert_id, state)
            else:
                assert state in OPEN_ALERT_STATES, f"alert {alert_id} is {state}, not closed here"
        open_offers = [o for o in offers if o.state == OfferState.OFFERED]
        active = [o for o in offers if o.state == OfferState.ACCEPTED and is_active_assignment(o)]
        # 2. No crew with two alerts, and the crew row agrees with the offers.
        for crew in crews:
            mine_open = [o for o in open_offers if o.crew_id == crew.id]
            mine_active = [o for o in active if o.crew_id == crew.id]
            held = (crew.id, crew.state, [o.id for o in mine_open], [o.id for o in mine_active])
            assert len(mine_open) + len(mine_active) <= 1, f"crew holds two: {held}"
            if mine_open:
                assert crew.state == CrewState.OFFERED, held
                assert crew.offer_id == mine_open[0].id, (held, crew.offer_id)
                assert crew.alert_id is None, (held, crew.alert_id)
            elif mine_active:
                assert crew.state == CrewState.ASSIGNED, held
                assert crew.alert_id == mine_active[0].alert_id, (held, crew.alert_id)
                assert crew.offer_id is None, (held, crew.offer_id)
            else:
                assert crew.state in (CrewState.AVAILABLE, CrewState.OFF_DUTY), held
                assert crew.offer_id is None and crew.alert_id is None, (
                    held,
                    crew.offer_id,
                    crew.alert_id,
                )
        # 3. No alert with more crews than it needs; closed alerts hold none.
        for alert in alerts:
            offered = [o.crew_id for o in open_offers if o.alert_id == alert.id]
            working = [o.crew_id for o in active if o.alert_id == alert.id]
            if AlertState(alert.state) in OPEN_ALERT_STATES:
                assert len(offered) + len(working) <= alert.crews_needed, (
                    alert.id,
                    alert.crews_needed,
                    offered,
                    working,
                )
            else:
                assert not offered and not working, (alert.id, alert.state, offered, working)


DispatchMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestDispatchMachine = DispatchMachine.TestCase


def _postgres_listening() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=2).close()
    except OSError:
        return False
    return True


class PostgresDispatchMachine(DispatchMachine):
    """The same rules on PostgreSQL, where a new alert with a crew for it is stored in
    one statement decided from memory (`raise_statement`), and the rest statement by
    statement, with the row locks of concurrent transactions."""

    postgres = True


PostgresDispatchMachine.TestCase.settings = settings(
    max_examples=15,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPostgresDispatchMachine = pytest.mark.skipif(
    not IN_CI and not _postgres_listening(),
    reason="PostgreSQL is not reachable on 127.0.0.1:5432",
)(PostgresDispatchMachine.TestCase)

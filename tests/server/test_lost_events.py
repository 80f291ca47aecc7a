"""Events pruned before this process read them (it heard nothing from its peers for
longer than the table keeps events): its memory is read back from the database, so that
no crew goes on seeing an officer on an alert that closed, and every client resyncs
from a snapshot. Real server; the peer is a second dispatcher on the same database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, delete, select

from dispatch.auth.sessions import Viewer
from dispatch.realtime.events import StoredEvent
from dispatch.realtime.hub import make_hub
from dispatch.storage.db import Database
from dispatch.storage.models import Crew, Event, User
from dispatch.usecases.dispatcher import Dispatcher
from schemas.client import AlertClose
from schemas.common import CrewMode, Outcome, Role
from schemas.views import CrewState
from tests.support import CENTRE, Client, RunningServer, eventually, north_of

WAIT = 30  # seconds: a bound for a loaded machine, never a measured time
TRY_AGAIN = 1013


@pytest.fixture
def server_settings() -> dict[str, Any]:
    return {"dispatch.offer_timeout_s": 600, "realtime.position_flush_s": 0.2}


@pytest.fixture
async def peer(server: RunningServer) -> AsyncIterator[Dispatcher]:
    """Another process's dispatcher: same database, a hub of its own (nothing it commits
    reaches the server but through the event table)."""
    db = Database(server.settings.database.url)
    other = Dispatcher.build(db=db, hub=make_hub("memory://"), settings=server.settings)
    await other.start()
    try:
        yield other
    finally:
        await other.stop()
        await db.close()


async def viewer(server: RunningServer, username: str) -> Viewer:
    """Who `username` is, for a call on the peer's dispatcher."""
    user = next(u for u in await server.rows(User) if u.username == username)
    later = datetime.now(UTC) + timedelta(hours=1)
    return Viewer(user.id, username, Role(user.role), user.crew_id, later, "peer-session")


async def accepted(phone: Client) -> None:
    offer = await phone.offer(timeout=WAIT)
    ack = await phone.request("offer.accept", offer_id=offer["id"], timeout=WAIT)
    assert ack["type"] == "ack", ack


async def test_a_hole_in_the_events_reads_memory_back_and_every_client_resyncs(
    server: RunningServer, peer: Dispatcher
) -> None:
    here = server.services.dispatcher
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    beside = await server.crew(CrewMode.FOOT, north_of(CENTRE, 300))
    officer = await server.officer()
    closing = (await officer.raise_alert(CENTRE, urgent=True))["result"]["alert_id"]
    for phone in (crew, beside):  # two crews on her: each may see her, and the other
        await accepted(phone)
    far = north_of(CENTRE, 5000)
    staying = await server.crew(CrewMode.FOOT, far)
    other = await server.officer()
    open_across = (await other.raise_alert(far))["result"]["alert_id"]
    await accepted(staying)
    ids = {c.callsign: c.id for c in await server.rows(Crew)}
    pair = sorted([ids[crew.callsign], ids[beside.callsign]])
    officer_id, other_id = officer.session["user_id"], other.session["user_id"]
    await eventually(lambda: other_id in here.positions.officer_alerts, WAIT)
    assert here.positions.crews_beside(pair[0]) == {closing: pair}

    # The peer closes the first alert, then a crew goes off duty there; the server
    # hears of that last event only, the others having been pruned before it read them.
    head = here.ctx.sequencer.head
    supervisor = await viewer(server, await server.add_user(Role.SUPERVISOR))
    msg = AlertClose(id="1", alert_id=closing, outcome=Outcome.FALSE_ALARM, reason="By radio")
    await peer.supervision.close_by_supervisor(supervisor, msg)
    await peer.crews.set_duty(await viewer(server, beside.session["username"]), False)
    async with peer.ctx.db.session() as s:
        rows = list((await s.exec(select(Event).where(col(Event.seq) > head))).all())
        rows.sort(key=lambda r: r.seq)
        assert rows[-1].kind == "crew" and "alert" in [r.kind for r in rows], rows
        await s.exec(delete(Event).where(col(Event.seq) < rows[-1].seq))
        await s.commit()
    here.ctx.sequencer.offer(StoredEvent.from_row(rows[-1]))

    for phone in (crew, beside, officer, staying, other):
        await eventually(lambda phone=phone: phone.ws.close_code is not None, WAIT)
        assert phone.ws.close_code == TRY_AGAIN
    # Memory as the database has it: the closed alert gone, the open one's crew back.
    staying_sees = {open_across: frozenset({ids[staying.callsign]})}
    await eventually(lambda: here.positions.officer_alerts.get(other_id) == staying_sees, WAIT)
    assert officer_id not in here.positions.officer_alerts
    assert here.positions.crews_beside(pair[0]) == {}
    assert here.ctx.sequencer.head == rows[-1].seq and here.ctx.sequencer.holes == 1
    states = {row.callsign: CrewState(row.state) for row in await server.rows(Crew)}
    assert states == {
        crew.callsign: CrewState.AVAILABLE,
        beside.callsign: CrewState.OFF_DUTY,
        staying.callsign: CrewState.ASSIGNED,
    }
    assert {callsign: here.ctx.crews.states[ids[callsign]] for callsign in ids} == states

    # Back with its last number: no replay can cross the hole, so a snapshot.
    back = await server.connect(crew.session["username"], last_seq=crew.state.seq)
    assert [f["type"] for f in back.frames if f["type"] in ("snapshot", "alert")] == ["snapshot"]
    assert closing not in back.state.alerts  # a crew's snapshot lists open alerts only
    await back.close()

"""PostgreSQL stores a new alert with its first offers in one statement, decided from
memory; where the database no longer agrees with memory (a crew taken or renamed
behind its back, an id already stored), nothing of that statement is kept and the
statement-by-statement path answers. Real server, real PostgreSQL, real websockets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from dispatch.audit.job import verify
from dispatch.audit.models import AuditRow
from dispatch.storage.db import Database
from dispatch.storage.models import Alert, Crew, Event, Offer
from dispatch.storage.store import PostgresStore
from schemas.common import CrewMode
from tests.support import (
    CENTRE,
    Client,
    RunningServer,
    eventually,
    fresh_database,
    north_of,
    wait_until_blocked,
)


@pytest.fixture
async def db_url(tmp_path: Path) -> AsyncIterator[str]:
    """PostgreSQL only: SQLite's store has no statement of the kind."""
    async with fresh_database("postgres", tmp_path) as url:
        yield url


def at_once(server: RunningServer) -> dict[str, int]:
    return dict(server.services.dispatcher.offering.at_once)


async def raw(server: RunningServer) -> asyncpg.Connection:
    return await asyncpg.connect(server.settings.database.url.replace("+asyncpg", ""))


async def crew_rows(server: RunningServer) -> dict[str, Crew]:
    return {c.callsign: c for c in await server.rows(Crew)}


async def audit_is_whole(server: RunningServer) -> None:
    db = Database(server.settings.database.url)
    try:
        verdict = await verify(db)
    finally:
        await db.close()
    assert verdict.ok, verdict


async def test_a_raise_with_a_free_crew_is_one_statement_with_its_offer_events_and_audit(
    server: RunningServer,
) -> None:
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 200))
    supervisor = await server.supervisor()
    officer = await server.officer()
    before = len(await server.rows(Event))

    ack = await officer.raise_alert(CENTRE)
    alert_id = ack["result"]["alert_id"]

    offer = await crew.offer()
    assert offer["alert_id"] == alert_id
    assert at_once(server) == {"stored": 1, "handed_on": 0}
    frame = await supervisor.wait_for(
        lambda f: f["type"] == "alert" and f["alert"]["id"] == alert_id
    )
    assert frame["alert"]["state"] == "dispatching"

    alert = next(a for a in await server.rows(Alert) if a.id == alert_id)
    assert alert.state == "dispatching"
    assert alert.raised_at.tzinfo is not None
    (stored,) = [o for o in await server.rows(Offer) if o.alert_id == alert_id]
    assert stored.id == offer["id"] and stored.state == "offered"
    row = (await crew_rows(server))[crew.callsign]
    assert (row.state, row.offer_id) == ("offered", offer["id"])
    # The offer, the crew's change and the alert, numbered one after another.
    events = sorted(await server.rows(Event), key=lambda e: e.seq)[before:]
    assert [e.kind for e in events] == ["offer", "crew", "alert"]
    assert [e.seq for e in events] == list(range(events[0].seq, events[0].seq + 3))
    audits = [r for r in await server.rows(AuditRow) if r.object_id == alert_id]
    assert [r.action for r in audits] == ["collection"]
    await audit_is_whole(server)


async def test_an_urgent_raise_claims_both_crews_in_the_one_statement(
    server: RunningServer,
) -> None:
    crews = [await server.crew(CrewMode.FOOT, north_of(CENTRE, metres)) for metres in (150, 300)]
    officer = await server.officer()

    ack = await officer.raise_alert(CENTRE, urgent=True)

    for crew in crews:
        assert (await crew.offer())["alert_id"] == ack["result"]["alert_id"]
    assert at_once(server) == {"stored": 1, "handed_on": 0}
    await audit_is_whole(server)


@pytest.mark.parametrize(
    "behind_its_back",
    [
        "UPDATE crew SET state = 'off_duty' WHERE callsign = $1",
        "UPDATE crew SET callsign = callsign || '-R' WHERE callsign = $1",
    ],
    ids=["taken-off-duty", "renamed"],
)
async def test_a_crew_changed_behind_memorys_back_hands_the_raise_on_with_nothing_kept(
    server: RunningServer, behind_its_back: str
) -> None:
    near = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    far = await server.crew(CrewMode.FOOT, north_of(CENTRE, 600))
    officer = await server.officer()
    conn = await raw(server)
    try:
        await conn.execute(behind_its_back, near.callsign)  # no event: memory still agrees
    finally:
        await conn.close()
    events_before = len(await server.rows(Event))

    ack = await officer.raise_alert(CENTRE)
    alert_id = ack["result"]["alert_id"]

    renamed = "SET callsign" in behind_its_back
    if renamed:  # still free: the statement-by-statement path claims it, by its new name
        offer = await near.offer()
    else:
        offer = await far.offer()
    assert offer["alert_id"] == alert_id
    assert at_once(server) == {"stored": 0, "handed_on": 1}
    offers = [o for o in await server.rows(Offer) if o.alert_id == alert_id]
    assert [o.id for o in offers] == [offer["id"]]
    rows = await crew_rows(server)
    if renamed:
        assert rows[f"{near.callsign}-R"].offer_id == offer["id"]
        crew_events = [e for e in await server.rows(Event) if e.kind == "crew"]
        assert f'"{near.callsign}-R"' in crew_events[-1].payload
    else:
        assert rows[near.callsign].state == "off_duty"
        assert rows[far.callsign].offer_id == offer["id"]
    # One alert event, one offer, one crew change: nothing of the first try.
    assert len(await server.rows(Event)) == events_before + 3
    audits = [r for r in await server.rows(AuditRow) if r.object_id == alert_id]
    assert len(audits) == 1
    await audit_is_whole(server)


async def test_a_claim_that_waits_for_another_transactions_lock_sees_what_it_decided(
    server: RunningServer,
) -> None:
    """Another process holds the nearest crew's row (its own claim, not yet committed):
    the statement waits for it, then finds the crew taken and hands the raise on."""
    near = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    far = await server.crew(CrewMode.FOOT, north_of(CENTRE, 600))
    officer = await server.officer()
    conn = await raw(server)
    try:
        tx = conn.transaction()
        await tx.start()
        await conn.execute(
            "UPDATE crew SET state = 'offered', offer_id = 'elsewhere' WHERE callsign = $1",
            near.callsign,
        )
        raising = asyncio.create_task(officer.raise_alert(CENTRE, timeout=30))
        await wait_until_blocked(conn)
        assert not raising.done()  # waiting for the row, not refused
        await tx.commit()
        ack = await raising
    finally:
        await conn.close()

    offer = await far.offer()
    assert offer["alert_id"] == ack["result"]["alert_id"]
    assert at_once(server) == {"stored": 0, "handed_on": 1}
    assert (await crew_rows(server))[near.callsign].offer_id == "elsewhere"
    assert near.offers_received() == []


@contextlib.asynccontextmanager
async def a_raise_held(
    server: RunningServer, crew: Client, officer: Client, at: tuple[float, float]
) -> AsyncIterator[asyncio.Task[dict[str, Any]]]:
    """`officer` raises at `at`; its statement waits for `crew`'s row, which another
    transaction holds until the block ends (then the raise goes on)."""
    conn = await raw(server)
    try:
        tx = conn.transaction()
        await tx.start()
        await conn.execute("SELECT 1 FROM crew WHERE callsign = $1 FOR UPDATE", crew.callsign)
        raising = asyncio.create_task(officer.raise_alert(at, timeout=60))
        await wait_until_blocked(conn)
        yield raising
        await tx.rollback()
    finally:
        await conn.close()


async def test_a_resend_of_a_stored_id_is_answered_as_stored_and_changes_nothing(
    server: RunningServer,
) -> None:
    first = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    await server.crew(CrewMode.FOOT, north_of(CENTRE, 600))
    officer = await server.officer()
    ack = await officer.raise_alert(CENTRE)
    alert_id = ack["result"]["alert_id"]
    await first.offer()
    events_before = len(await server.rows(Event))

    again = await officer.raise_alert(CENTRE, alert_id=alert_id)

    assert again["result"]["alert_id"] == alert_id
    assert at_once(server) == {"stored": 1, "handed_on": 1}
    assert len([o for o in await server.rows(Offer) if o.alert_id == alert_id]) == 1
    assert len(await server.rows(Event)) == events_before
    assert sum(c.state == "offered" for c in (await crew_rows(server)).values()) == 1


class TestStatementsInFlight:
    """`database.raises_at_once`: how many one-statement raises a process sends at a time.
    A raise whose claim waits for another transaction's lock on its crew holds its turn;
    one that gets no turn within `database.raise_turn_wait_s` goes statement by
    statement."""

    @staticmethod
    async def two_raises_one_held(server: RunningServer) -> tuple[str, str]:
        """The first raise's crew row is locked by another transaction; the second raise,
        elsewhere, has its own crew. Returns the alert ids in the order they committed."""
        store = server.services.dispatcher.ctx.store
        assert isinstance(store, PostgresStore)
        held = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
        await server.crew(CrewMode.FOOT, north_of(CENTRE, 1600))
        first, second = await server.officer(), await server.officer()
        async with a_raise_held(server, held, first, CENTRE) as one:
            two = asyncio.create_task(second.raise_alert(north_of(CENTRE, 1500), timeout=30))
            if server.settings.database.raises_at_once > 1:
                await two  # goes by the one that waits
            else:
                await eventually(lambda: store.queued == 1)  # waits for its turn
        acks = [await one, await two]
        ids = [ack["result"]["alert_id"] for ack in acks]
        assert at_once(server) == {"stored": 2, "handed_on": 0}
        seq = {e.entity_id: e.seq for e in await server.rows(Event) if e.kind == "alert"}
        return (ids[0], ids[1]) if seq[ids[0]] < seq[ids[1]] else (ids[1], ids[0])

    @pytest.mark.parametrize(
        "server_settings",
        [{"database.raises_at_once": 1, "database.raise_turn_wait_s": 30}],
    )
    async def test_one_at_a_time_a_raise_waits_its_turn(self, server: RunningServer) -> None:
        first_raised, _ = await self.two_raises_one_held(server)
        alerts = {a.id: a for a in await server.rows(Alert)}
        assert alerts[first_raised].lat == pytest.approx(CENTRE[0])  # the held one first

    @pytest.mark.parametrize("server_settings", [{"database.raises_at_once": 2}])
    async def test_two_at_a_time_a_raise_goes_by_one_that_waits(
        self, server: RunningServer
    ) -> None:
        first_raised, _ = await self.two_raises_one_held(server)
        alerts = {a.id: a for a in await server.rows(Alert)}
        assert alerts[first_raised].lat == pytest.approx(north_of(CENTRE, 1500)[0])

    @pytest.mark.parametrize(
        "server_settings",
        [{"database.raises_at_once": 1, "database.raise_turn_wait_s": 0.2}],
    )
    async def test_a_raise_with_no_turn_in_time_is_stored_statement_by_statement(
        self, server: RunningServer
    ) -> None:
        held = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
        other = await server.crew(CrewMode.FOOT, north_of(CENTRE, 1600))
        first, second = await server.officer(), await server.officer()
        async with a_raise_held(server, held, first, CENTRE) as one:
            # The only turn is taken by a statement that waits for the held row.
            ack = await second.raise_alert(north_of(CENTRE, 1500), timeout=30)
            assert at_once(server) == {"stored": 0, "handed_on": 1}
            assert (await other.offer())["alert_id"] == ack["result"]["alert_id"]
        await one
        assert at_once(server) == {"stored": 1, "handed_on": 1}
        await held.offer()
        await audit_is_whole(server)


async def test_a_crews_update_waits_for_a_raise_in_flight_and_metrics_count_it(
    server: RunningServer,
) -> None:
    """New alerts first: a crew's assignment update that arrives while a raise is in
    flight (here held on another crew's row) starts once the raise is done."""
    busy = await server.crew(CrewMode.FOOT, north_of(CENTRE, 5000))
    officer = await server.officer()
    alert_id = (await officer.raise_alert(north_of(CENTRE, 5000)))["result"]["alert_id"]
    offer = await busy.offer()
    assert (await busy.request("offer.accept", offer_id=offer["id"]))["type"] == "ack"
    held = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    second = await server.officer()
    priority = server.services.dispatcher.ctx.priority
    async with a_raise_held(server, held, second, CENTRE) as raising:
        update = asyncio.create_task(
            busy.request("assignment.status", alert_id=alert_id, status="on_scene", timeout=30)
        )
        await eventually(lambda: priority.waited == 1)
        assert not update.done()
    await raising
    assert (await update)["type"] == "ack"
    async with httpx.AsyncClient(base_url=server.base) as http:
        metrics = (await http.get("/metrics")).text
    assert "dispatch_routine_waited 1.0" in metrics


@pytest.mark.parametrize(
    "server_settings", [{"dispatch.routine_wait_max_s": 10, "dispatch.offer_timeout_s": 11.5}]
)
async def test_an_accept_with_less_time_left_than_the_wait_never_waits_for_a_raise(
    server: RunningServer,
) -> None:
    """Its offer would expire during the wait: the accept goes by the raise in flight."""
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 5000))
    held = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    officer, second = await server.officer(), await server.officer()
    await officer.raise_alert(north_of(CENTRE, 5000))
    offer = await crew.offer()
    priority = server.services.dispatcher.ctx.priority
    async with a_raise_held(server, held, second, CENTRE) as raising:
        ack = await crew.request("offer.accept", offer_id=offer["id"], timeout=9)  # < the wait
        assert ack["type"] == "ack" and priority.waited == 0
        assert not raising.done()
    await raising

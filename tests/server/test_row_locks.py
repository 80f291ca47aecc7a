"""PostgreSQL: a change that committed after a use case read a row, and before it
wrote it, is seen, not overwritten. The other transaction is a connection of the test's
own, holding the row's lock while the server's transaction waits for it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from asyncpg.transaction import Transaction

from dispatch.storage.models import Crew
from schemas.common import CrewMode
from tests.support import (
    CENTRE,
    WAIT_S,
    ManualClock,
    RunningServer,
    fresh_database,
    north_of,
    settings_for,
    start_server,
    wait_until_blocked,
)


async def hold_row(conn: asyncpg.Connection, table: str, row_id: str) -> Transaction:
    """`conn` (the test's, as another process's) opens a transaction and locks one row
    of `table`; the caller commits it."""
    holding = conn.transaction()
    await holding.start()
    await conn.execute(f"SELECT 1 FROM {table} WHERE id = $1 FOR UPDATE", row_id)
    return holding


@pytest.fixture
async def db_url(tmp_path: Path) -> AsyncIterator[str]:
    """Row locks are PostgreSQL's: SQLite's one writer holds the whole database."""
    async with fresh_database("postgres", tmp_path) as url:
        yield url


@pytest.fixture
def server_settings() -> dict[str, Any]:
    return {"dispatch.offer_timeout_s": 600}


async def test_going_off_duty_sees_an_assignment_that_committed_since_it_read_the_crew(
    server: RunningServer,
) -> None:
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    crew_id = next(c.id for c in await server.rows(Crew) if c.callsign == crew.callsign)
    other = await asyncpg.connect(server.settings.database.url.replace("+asyncpg", ""))
    try:
        holding = await hold_row(other, "crew", crew_id)
        going = asyncio.create_task(crew.request("duty", on=False, timeout=WAIT_S))
        # It has read the crew, and now locks its row (a position flush may wait too).
        await wait_until_blocked(other, "SELECT%FROM crew%FOR UPDATE%")
        # Meanwhile a supervisor assigned the crew by hand, and that commits first.
        await other.execute("UPDATE crew SET state = 'assigned' WHERE id = $1", crew_id)
        await holding.commit()
        answer = await going
        state = await other.fetchval("SELECT state FROM crew WHERE id = $1", crew_id)
    finally:
        await other.close()
    assert answer["type"] == "error" and answer["code"] == "illegal_transition", answer
    assert state == "assigned"


async def test_an_offer_expiring_sees_the_alerts_other_offer_closed_since_it_began(
    db_url: str,
) -> None:
    """Both offers of an urgent alert lapse at once: this process expires one while
    another process (the test's own transaction) expires the other. Whichever commits
    last must see no offer left and escalate the alert, not leave it dispatching to
    nobody. The clock is the test's: the sweep finds both past their deadline."""
    clock = ManualClock()
    settings = settings_for(
        db_url, **{"dispatch.offer_timeout_s": 600, "dispatch.sweep_interval_s": 0.1}
    )
    server = await start_server(settings, clock)
    try:
        crews = [await server.crew(CrewMode.FOOT, north_of(CENTRE, d)) for d in (100, 200)]
        officer = await server.officer()
        alert_id = (await officer.raise_alert(CENTRE, urgent=True))["result"]["alert_id"]
        first, second = [await crew.offer() for crew in crews]
        other = await asyncpg.connect(server.settings.database.url.replace("+asyncpg", ""))
        try:
            holding = await hold_row(other, "alert", alert_id)
            clock.advance(timedelta(seconds=601))
            # The sweep has closed one offer, and now locks the alert to move it on.
            await wait_until_blocked(other, "SELECT%FROM alert%FOR UPDATE%")
            still_open = await other.fetchval(
                "SELECT id FROM offer WHERE alert_id = $1 AND state = 'offered'"
                " AND id = ANY($2::text[]) FOR UPDATE SKIP LOCKED",
                alert_id,
                [first["id"], second["id"]],
            )
            # Meanwhile the other process expires the other one, and commits first.
            await other.execute(
                "UPDATE offer SET state = 'expired', closed_at = now(), reason = 'lapsed'"
                " WHERE id = $1",
                still_open,
            )
            await other.execute(
                "UPDATE crew SET state = 'available', offer_id = NULL WHERE offer_id = $1",
                still_open,
            )
            await holding.commit()
            give_up = asyncio.get_running_loop().time() + WAIT_S
            while True:
                states = await other.fetch("SELECT state FROM offer WHERE alert_id = $1", alert_id)
                alert_state = await other.fetchval(
                    "SELECT state FROM alert WHERE id = $1", alert_id
                )
                if all(r["state"] != "offered" for r in states) and alert_state != "dispatching":
                    break
                if asyncio.get_running_loop().time() > give_up:
                    break
                await asyncio.sleep(0.05)
        finally:
            await other.close()
    finally:
        await server.stop()
    assert sorted(r["state"] for r in states) == ["expired", "expired"]
    assert alert_state == "unassigned"  # escalated to the supervisors


async def test_resuming_at_start_sees_an_offer_a_peer_made_meanwhile(db_url: str) -> None:
    """A starting process steps the open alerts it finds, locked. Here one was left
    raised (stored, never stepped); a peer offering it at that moment commits first,
    and the start sees its offer: it does not write the alert back to unassigned."""
    first = await start_server(settings_for(db_url))
    try:
        officer = await first.officer()
        ack = await officer.raise_alert(CENTRE)  # no crew on duty: escalated
        alert_id = ack["result"]["alert_id"]
        await first.crew(CrewMode.FOOT, north_of(CENTRE, 100), on_duty=False)
        crew_id = (await first.rows(Crew))[0].id
    finally:
        await first.stop()
    other = await asyncpg.connect(db_url.replace("+asyncpg", ""))
    try:
        await other.execute("UPDATE alert SET state = 'raised' WHERE id = $1", alert_id)
        holding = await hold_row(other, "alert", alert_id)
        starting = asyncio.create_task(start_server(settings_for(db_url)))
        # The new process has armed the open offers, and now waits for the alert.
        await wait_until_blocked(other, "%alert%")
        # Meanwhile a peer offers the alert to a crew, and commits first.
        offer_id = uuid.uuid4().hex
        await other.execute(
            "INSERT INTO offer (id, alert_id, crew_id, state, created_at, deadline,"
            " distance_m, eta_s) VALUES ($1, $2, $3, 'offered', now(),"
            " now() + interval '10 minutes', 100, 80)",
            offer_id,
            alert_id,
            crew_id,
        )
        await other.execute(
            "UPDATE crew SET state = 'offered', offer_id = $1 WHERE id = $2", offer_id, crew_id
        )
        await other.execute("UPDATE alert SET state = 'dispatching' WHERE id = $1", alert_id)
        await holding.commit()
        second = await starting
        try:
            alert_state = await other.fetchval("SELECT state FROM alert WHERE id = $1", alert_id)
            offers = await other.fetch("SELECT id, state FROM offer WHERE alert_id = $1", alert_id)
        finally:
            await second.stop()
    finally:
        await other.close()
    assert [(r["id"], r["state"]) for r in offers] == [(offer_id, "offered")]
    assert alert_state == "dispatching"

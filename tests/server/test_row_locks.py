"""PostgreSQL: a change that committed after a use case read a row, and before it
wrote it, is seen, not overwritten. The other transaction is a connection of the test's
own, holding the row's lock while the server's transaction waits for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from dispatch.storage.models import Crew
from schemas.common import CrewMode
from tests.support import CENTRE, RunningServer, fresh_database, north_of

WAIT = 30  # seconds: a bound for a loaded machine, never a measured time


@pytest.fixture
async def db_url(tmp_path: Path) -> AsyncIterator[str]:
    """Row locks are PostgreSQL's: SQLite's one writer holds the whole database."""
    async with fresh_database("postgres", tmp_path) as url:
        yield url


@pytest.fixture
def server_settings() -> dict[str, Any]:
    return {"dispatch.offer_timeout_s": 600}


async def until_the_server_waits_for(dsn: str, statement: str) -> None:
    """Until a server statement like `statement` (a LIKE pattern) waits for a lock. Asked
    on a connection of its own: inside a transaction, pg_stat_activity does not change."""
    watch = await asyncpg.connect(dsn)
    try:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + WAIT
        while not await watch.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query LIKE $1",
            statement,
        ):
            assert loop.time() < give_up, f"no statement like {statement!r} waited in {WAIT} s"
            await asyncio.sleep(0.01)
    finally:
        await watch.close()


async def test_going_off_duty_sees_an_assignment_that_committed_since_it_read_the_crew(
    server: RunningServer,
) -> None:
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    crew_id = next(c.id for c in await server.rows(Crew) if c.callsign == crew.callsign)
    dsn = server.settings.database.url.replace("+asyncpg", "")
    other = await asyncpg.connect(dsn)
    try:
        holding = other.transaction()
        await holding.start()
        await other.execute("SELECT 1 FROM crew WHERE id = $1 FOR UPDATE", crew_id)
        going = asyncio.create_task(crew.request("duty", on=False, timeout=WAIT))
        # It has read the crew, and now locks its row (a position flush may wait too).
        await until_the_server_waits_for(dsn, "SELECT%FROM crew%FOR UPDATE%")
        # Meanwhile a supervisor assigned the crew by hand, and that commits first.
        await other.execute("UPDATE crew SET state = 'assigned' WHERE id = $1", crew_id)
        await holding.commit()
        answer = await going
        state = await other.fetchval("SELECT state FROM crew WHERE id = $1", crew_id)
    finally:
        await other.close()
    assert answer["type"] == "error" and answer["code"] == "illegal_transition", answer
    assert state == "assigned"

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
from tests.support import CENTRE, RunningServer, fresh_database, north_of, wait_until_blocked

WAIT = 30  # seconds: a bound for a loaded machine, never a measured time


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
        holding = other.transaction()
        await holding.start()
        await other.execute("SELECT 1 FROM crew WHERE id = $1 FOR UPDATE", crew_id)
        going = asyncio.create_task(crew.request("duty", on=False, timeout=WAIT))
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

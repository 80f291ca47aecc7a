"""PostgreSQL connections are pinged at checkout only after they sat idle: one whose
server process went away while it sat in the pool is replaced, and the transaction
runs; under load (a connection back in the pool moments ago) no ping is spent."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from dispatch.storage import db as db_module
from dispatch.storage.db import Database


@pytest.fixture
def database(pg_database: Database) -> Database:
    return pg_database


async def _backend_pid(db: Database) -> int:
    async with db.engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _kill(db: Database, pid: int) -> None:
    other = Database(db.url)
    try:
        async with other.engine.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await other.close()


async def test_an_idle_connection_that_died_is_replaced(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "IDLE_PING_S", 0.0)  # every checkout counts as idle
    pid = await _backend_pid(database)
    await _kill(database, pid)
    assert await _backend_pid(database) != pid  # pinged, found dead, replaced


async def test_a_connection_just_used_is_not_pinged(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side of the rule: without the ping, the dead connection is used as it
    is and its statement fails (so the test above passes because of the ping)."""
    monkeypatch.setattr(db_module, "IDLE_PING_S", 3600.0)
    pid = await _backend_pid(database)
    await _kill(database, pid)
    with pytest.raises(DBAPIError):
        await _backend_pid(database)
    assert await _backend_pid(database) != pid  # the pool dropped it: the next one works

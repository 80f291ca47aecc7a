"""One-statement transactions straight over asyncpg (`dispatch.storage.direct`), on a
real PostgreSQL: parameters by name in SQLAlchemy's types, PostgreSQL's own refusal
told apart from a statement never sent, dead connections replaced."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import Boolean, String, bindparam, text

from dispatch.storage.db import Database
from dispatch.storage.direct import DirectConnections, NotSent, StatementRefused
from dispatch.storage.driver_sql import compiled_for
from dispatch.storage.models import UtcDateTime
from tests.support import fresh_database

ECHO = text("SELECT :at AS at, :flag AS flag, :name AS name, :name || '!' AS again").bindparams(
    bindparam("at", type_=UtcDateTime()),
    bindparam("flag", type_=Boolean()),
    bindparam("name", type_=String()),
)
PID = text("SELECT pg_backend_pid()")
REFUSED = text("SELECT 1 / (:n)::int").bindparams(bindparam("n", type_=String()))


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    async with fresh_database("postgres", tmp_path) as url:
        db = Database(url)
        try:
            yield db
        finally:
            await db.close()


@pytest.fixture
async def direct(database: Database) -> AsyncIterator[DirectConnections]:
    conns = DirectConnections(database.engine.url, database.engine.dialect)
    try:
        yield conns
    finally:
        await conns.close()


async def _kill(database: Database, pid: int) -> None:
    conn = await asyncpg.connect(
        database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        await conn.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()


async def test_named_parameters_go_in_order_through_their_types(
    database: Database, direct: DirectConnections
) -> None:
    at = datetime(2026, 11, 29, 1, 2, 3, tzinfo=UTC)
    row = await direct.fetchrow(ECHO, {"name": "Oscar 1", "flag": True, "at": at})
    assert (row["at"], row["flag"], row["name"], row["again"]) == (at, True, "Oscar 1", "Oscar 1!")
    assert row["at"].utcoffset() is not None
    compiled = compiled_for(ECHO, database.engine.dialect, ("name", "flag", "at"))
    assert compiled is not None and "$1" in compiled.sql  # positional, for asyncpg


async def test_an_error_postgresql_raised_is_refused_with_its_sqlstate(
    direct: DirectConnections,
) -> None:
    with pytest.raises(StatementRefused) as refused:
        await direct.fetchrow(REFUSED, {"n": "0"})
    assert refused.value.sqlstate == "22012"  # division_by_zero
    row = await direct.fetchrow(REFUSED, {"n": "2"})  # the connection is still good
    assert row[0] == 0


async def test_a_connection_that_died_while_idle_is_pinged_and_replaced(
    database: Database,
) -> None:
    direct = DirectConnections(database.engine.url, database.engine.dialect, idle_ping_s=0.0)
    try:
        pid = (await direct.fetchrow(PID, {}))[0]
        await _kill(database, pid)
        again = (await direct.fetchrow(PID, {}))[0]
        assert again != pid
    finally:
        await direct.close()


async def test_a_connection_whose_server_went_away_is_not_used_even_without_a_ping(
    database: Database,
) -> None:
    """The server's goodbye reaches the idle connection: it is passed over for a new
    one without a ping."""
    direct = DirectConnections(database.engine.url, database.engine.dialect, idle_ping_s=3600.0)
    try:
        pid = (await direct.fetchrow(PID, {}))[0]
        await _kill(database, pid)
        assert (await direct.fetchrow(PID, {}))[0] != pid
    finally:
        await direct.close()


async def test_no_database_to_connect_to_is_not_sent(database: Database) -> None:
    url = database.engine.url.set(port=1)  # nothing listens there
    direct = DirectConnections(url, database.engine.dialect)
    try:
        with pytest.raises(NotSent):
            await direct.fetchrow(ECHO, {"name": "x", "flag": False, "at": None})
    finally:
        await direct.close()

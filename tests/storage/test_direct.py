"""One-statement transactions straight over asyncpg (`dispatch.storage.direct`), on a
real PostgreSQL: parameters by name in SQLAlchemy's types, PostgreSQL's own refusal
told apart from a statement never sent or lost, dead connections replaced."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import TypeVar

import asyncpg
import pytest
from sqlalchemy import Boolean, String, bindparam, text
from sqlalchemy.ext.asyncio import create_async_engine

from dispatch.storage.db import Database
from dispatch.storage.direct import DirectConnections, NotSent, StatementRefused, connect_args
from dispatch.storage.driver_sql import compiled_for
from dispatch.storage.models import UtcDateTime
from tests.support import eventually

ECHO = text("SELECT :at AS at, :flag AS flag, :name AS name, :name || '!' AS again").bindparams(
    bindparam("at", type_=UtcDateTime()),
    bindparam("flag", type_=Boolean()),
    bindparam("name", type_=String()),
)
PID = text("SELECT pg_backend_pid()")
SLEEP = text("SELECT pg_sleep(60)")
T = TypeVar("T")
REFUSED = text("SELECT 1 / (:n)::int").bindparams(bindparam("n", type_=String()))


@pytest.fixture
def database(pg_database: Database) -> Database:
    return pg_database


@pytest.fixture
async def direct(database: Database) -> AsyncIterator[DirectConnections]:
    conns = DirectConnections(database.engine)
    try:
        yield conns
    finally:
        await conns.close()


async def _kill(database: Database, pid: int) -> None:
    """End a backend, and wait until it has gone (not only been signalled)."""
    conn = await asyncpg.connect(**connect_args(database.engine))
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1, 30000)", pid)
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
    pid = (await direct.fetchrow(PID, {}))[0]
    assert (await direct.fetchrow(REFUSED, {"n": "2"}))[0] == 0
    assert (await direct.fetchrow(PID, {}))[0] == pid  # the same connection, still good


class CuttableLink:
    """A TCP relay to PostgreSQL whose links can be cut as a network cut does: the
    database's side is closed, the client's stays open and hears nothing more."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.links: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []
        self.cut_off = False
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        pair = (writer, up_writer)
        self.links.append(pair)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while data := await src.read(65536):
                if pair not in self.links:
                    return  # cut: swallowed
                dst.write(data)
                await dst.drain()

        await asyncio.gather(
            pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True
        )

    def cut(self) -> None:
        links, self.links = self.links, []
        for _client, upstream in links:
            upstream.close()

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()


async def test_a_connection_cut_off_unnoticed_is_pinged_and_replaced(
    database: Database,
) -> None:
    """A connection idle past the ping interval is pinged first. Here the network cut
    it off without a word: the ping gets no answer, and a new connection runs the
    statement."""
    url = database.engine.url
    link = CuttableLink(url.host or "127.0.0.1", url.port or 5432)
    engine = create_async_engine(url.set(host="127.0.0.1", port=await link.start()))
    direct = DirectConnections(engine, idle_ping_s=0.0, ping_timeout_s=0.5)
    try:
        pid = (await direct.fetchrow(PID, {}))[0]
        [conn] = direct.idle()
        link.cut()
        assert not conn.is_closed()  # nothing told it
        async with asyncio.timeout(60):  # without the ping it would wait for ever
            assert (await direct.fetchrow(PID, {}))[0] != pid
        assert conn.is_closed()  # pinged, no answer, dropped
    finally:
        await direct.close()
        await engine.dispose()
        await link.close()


async def test_a_connection_whose_server_went_away_is_not_used_even_without_a_ping(
    database: Database,
) -> None:
    """The server's goodbye reaches the idle connection: it is passed over for a new
    one without a ping."""
    direct = DirectConnections(database.engine, idle_ping_s=3600.0)
    try:
        pid = (await direct.fetchrow(PID, {}))[0]
        [conn] = direct.idle()
        await _kill(database, pid)
        await eventually(conn.is_closed)
        assert (await direct.fetchrow(PID, {}))[0] != pid
    finally:
        await direct.close()


async def test_a_statement_cut_off_leaves_its_outcome_unknown_and_drops_the_idle(
    database: Database, direct: DirectConnections
) -> None:
    """Its backend ended while the statement ran: not a refusal (the caller cannot
    know what was kept), and no idle connection as old is used again."""
    await asyncio.gather(direct.fetchrow(PID, {}), direct.fetchrow(PID, {}))
    assert len(direct.idle()) == 2
    sleeping = asyncio.create_task(direct.fetchrow(SLEEP, {}))
    [idle] = await _until(lambda: direct.idle() if len(direct.idle()) == 1 else None)
    spare = await asyncpg.connect(**connect_args(database.engine))
    try:
        victim = None
        while victim is None:
            victim = await spare.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'"
                " AND pid <> pg_backend_pid()"
            )
            await asyncio.sleep(0.01)
        await spare.fetchval("SELECT pg_terminate_backend($1, 30000)", victim)
    finally:
        await spare.close()
    with pytest.raises(Exception) as lost:
        await sleeping
    assert not isinstance(lost.value, StatementRefused)
    assert direct.idle() == [] and idle.is_closed()
    assert (await direct.fetchrow(PID, {}))[0] != victim  # a new connection


async def _until(value: Callable[[], T | None]) -> T:
    found: list[T] = []

    def check() -> bool:
        got = value()
        if got is not None:
            found.append(got)
        return got is not None

    await eventually(check)
    return found[0]


async def test_the_connection_is_made_as_the_engines_dialect_reads_the_url() -> None:
    """TLS, several hosts and SQLAlchemy-only options, as for the pool's connections."""
    engine = create_async_engine(
        "postgresql+asyncpg://u:pw@/db?host=h1:5432&host=h2:5433"
        "&ssl=require&prepared_statement_cache_size=50"
    )
    try:
        args = connect_args(engine)
    finally:
        await engine.dispose()
    assert args["host"] == ["h1", "h2"] and args["port"] == [5432, 5433]
    assert args["ssl"] == "require" and args["password"] == "pw"
    assert "prepared_statement_cache_size" not in args  # the adapter's, not asyncpg's


async def test_no_database_to_connect_to_is_not_sent(database: Database) -> None:
    engine = create_async_engine(database.engine.url.set(port=1))  # nothing listens there
    direct = DirectConnections(engine)
    try:
        with pytest.raises(NotSent):
            await direct.fetchrow(ECHO, {"name": "x", "flag": False, "at": None})
    finally:
        await direct.close()
        await engine.dispose()


async def test_warming_opens_a_connection_for_each_statement_in_flight(
    direct: DirectConnections,
) -> None:
    await direct.warm(3)
    idle = direct.idle()
    assert len(idle) == 3 and len({c.get_server_pid() for c in idle}) == 3
    await asyncio.gather(*(direct.fetchrow(PID, {}) for _ in range(3)))
    assert {c.get_server_pid() for c in direct.idle()} == {c.get_server_pid() for c in idle}

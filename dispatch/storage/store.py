"""The dispatch core's transactions: a synchronous function over a `Unit` (the
transaction's connection, and a session if it asks), run as one transaction, with no
thread hand-off per statement.

- SQLite: on the event loop's own thread, over one pysqlite connection, kept open, that
  takes the write lock at BEGIN (`BEGIN IMMEDIATE`) and never waits for it
  (`busy_timeout=0`): a busy database is retried after a short sleep, so the loop is
  never blocked behind another connection. A step gets the connection for Core
  statements and an ORM session only if it asks for one (`ConnectionUnit`): a raise
  needs none. A transaction is a few hundred microseconds of the loop's time, and at
  most one runs per turn of the loop.
  The WAL is checkpointed in a worker thread, never inside a commit on the loop.
- PostgreSQL: in a greenlet over asyncpg (`AsyncSession.run_sync`): each statement is
  awaited, so the loop serves others meanwhile. A step that fits one statement (a new
  alert with its offers) runs `at_once`: one round trip, no BEGIN or COMMIT.

The function may run more than once (a busy SQLite database): it must not change
anything outside the transaction; what it returns is kept from the attempt that committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import Connection, Executable, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import StaticPool
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from dispatch.storage.db import sqlite_pragmas
from dispatch.storage.direct import DirectConnections, NotSent

log = logging.getLogger("dispatch.store")

T = TypeVar("T")

BUSY_RETRY_S = 0.002  # first wait when SQLite is busy; doubles up to BUSY_RETRY_MAX_S
BUSY_RETRY_MAX_S = 0.05
BUSY_GIVE_UP_S = 10.0
SYNCHRONOUS = {"normal": "NORMAL", "full": "FULL"}
RETRYABLE = {"40P01", "40001"}  # deadlock detected, serialization failure
PG_RETRIES = 3


# Set around a raise (`usecases.priority.Priority.urgent`): its SQLite transaction takes
# the next turn of the loop before routine ones that wait for theirs. The tasks it sets
# going do not inherit it (`Context.spawn`), so urgent work cannot breed more of itself.
first_in_line: ContextVar[bool] = ContextVar("first_in_line", default=False)


class Unit(Protocol):
    """A transaction as the core's steps see it: its connection for Core statements, and
    a session for the ORM."""

    @property
    def conn(self) -> Connection: ...

    @property
    def session(self) -> Session: ...

    def flush(self) -> None:
        """Write what the session holds (if it has one), so Core statements see it."""


class SessionUnit:
    """A transaction that is a session's (PostgreSQL's greenlet, the slower paths')."""

    __slots__ = ("session",)

    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def conn(self) -> Connection:
        return self.session.connection()

    def flush(self) -> None:
        self.session.flush()


class ConnectionUnit:
    """A transaction begun on a connection (SQLite's): the session is made on first use,
    joined to it; `flush` before the commit writes what the session holds."""

    __slots__ = ("_session", "conn")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            # "rollback_only": the session never commits or ends the connection's
            # transaction; the store does.
            self._session = Session(
                bind=self.conn, join_transaction_mode="rollback_only", expire_on_commit=False
            )
        return self._session

    def flush(self) -> None:
        if self._session is not None:
            self._session.flush()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def sqlite_path_url(url: str) -> str:
    """The same SQLite database for the synchronous driver."""
    return url.replace("sqlite+aiosqlite:", "sqlite+pysqlite:", 1)


def _is_busy(exc: OperationalError) -> bool:
    orig = exc.orig
    return isinstance(orig, sqlite3.OperationalError) and (
        "locked" in str(orig) or "busy" in str(orig)
    )


class SqliteStore:
    def __init__(self, url: str, *, synchronous: str = "normal") -> None:
        self.engine: Engine = create_engine(
            sqlite_path_url(url),
            poolclass=StaticPool,
            connect_args={"check_same_thread": False, "isolation_level": None},
            hide_parameters=True,
        )
        level = SYNCHRONOUS[synchronous]

        def on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Never wait for the lock on the loop; checkpoints run off the loop.
            sqlite_pragmas(dbapi_conn, level, "busy_timeout=0", "wal_autocheckpoint=0")

        def on_begin(conn: Connection) -> None:
            # On the driver's connection: through SQLAlchemy's execute this statement
            # alone cost more than the rest of an empty transaction (30 us of 45).
            driver = conn.connection.driver_connection
            assert driver is not None
            try:
                driver.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:  # as SQLAlchemy's: "database is locked" is retried
                raise DBAPIError.instance("BEGIN IMMEDIATE", None, exc, sqlite3.Error) from exc

        event.listen(self.engine, "connect", on_connect)
        event.listen(self.engine, "begin", on_begin)
        self.busy = 0  # transactions that found the database busy (a metric)
        self._turn_taken = False  # a transaction ran in this turn of the event loop
        self._waiting: deque[asyncio.Future[None]] = deque()  # for a turn, in order
        self._first: deque[asyncio.Future[None]] = deque()  # raises: served before them
        self._turn_loop: asyncio.AbstractEventLoop | None = None
        self._conn: Connection | None = None

    def _drop(self, conn: Connection) -> None:
        """After any failure (a busy BEGIN, a step's error, a failed COMMIT): the
        connection goes back to the pool, whose reset rolls back whatever SQLite still
        holds open (after a failed COMMIT SQLAlchemy sends no ROLLBACK, and the kept
        connection would hold the write lock), and the next transaction takes a clean
        one. Costs a checkout, on failures only."""
        if self._conn is conn:
            self._conn = None
        try:
            conn.close()
        except Exception:  # the pool could not reset it: a new one next time
            log.exception("SQLite connection could not be reset; it is replaced")
            with contextlib.suppress(Exception):
                conn.invalidate()

    def _connection(self) -> Connection:
        """The store's one connection, kept open between transactions (a checkout from
        the pool and its reset on return cost more than a raise's statements)."""
        conn = self._conn
        if conn is None or conn.closed or conn.invalidated:
            if conn is not None:
                conn.close()  # invalidated (a disk error): its pool slot back, then anew
            conn = self._conn = self.engine.connect()
        return conn

    async def run(self, fn: Callable[[Session], T]) -> T:
        return await self.run_unit(lambda unit: fn(unit.session))

    async def run_unit(self, fn: Callable[[Unit], T]) -> T:
        """One transaction on the store's own connection; a session only if `fn` asks
        for one (a raise's Core statements need none)."""
        loop = asyncio.get_running_loop()
        wait, give_up = BUSY_RETRY_S, loop.time() + BUSY_GIVE_UP_S
        while True:
            await self._own_turn(loop)
            try:
                conn = self._connection()
                try:
                    with conn.begin():
                        unit = ConnectionUnit(conn)
                        try:
                            result = fn(unit)
                            unit.flush()
                        finally:
                            unit.close()
                        return result
                except BaseException:
                    self._drop(conn)
                    raise
            except OperationalError as exc:
                if not _is_busy(exc) or loop.time() > give_up:
                    raise
            self.busy += 1
            await asyncio.sleep(wait)
            wait = min(wait * 2, BUSY_RETRY_MAX_S)

    async def _own_turn(self, loop: asyncio.AbstractEventLoop) -> None:
        """At most one transaction per turn of the event loop. A transaction holds the
        loop while it runs: fifty alerts raised at once would otherwise be fifty
        transactions in one turn (75 ms here with 5,000 phones connected), every socket
        waiting; now they take fifty short turns, the sockets served between them, in
        the order they came: raises (`first_in_line`) before routine transactions."""
        if self._turn_loop is not loop:  # a new loop (a test's): nothing of the old one
            self._turn_loop, self._turn_taken = loop, False
            self._waiting.clear()
            self._first.clear()
        if self._turn_taken:
            waiter = loop.create_future()
            (self._first if first_in_line.get() else self._waiting).append(waiter)
            try:
                await waiter  # handed the turn by `_next_turn`
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    loop.call_soon(self._next_turn)  # it had the turn: pass it on
                raise
        else:
            self._turn_taken = True
        loop.call_soon(self._next_turn)

    def _next_turn(self) -> None:
        for line in (self._first, self._waiting):
            while line:
                waiter = line.popleft()
                if not waiter.done():  # not cancelled meanwhile
                    waiter.set_result(None)  # the turn goes to it, still taken
                    return
        self._turn_taken = False

    async def read(self, fn: Callable[[Session], T]) -> T:
        """A consistent read (one transaction: SQLite is one writer at a time anyway)."""
        return await self.run(fn)

    async def start(self) -> None:
        return None

    async def checkpoint(self) -> None:
        """Copy the WAL back into the database, in a worker thread (it may fsync)."""
        await asyncio.to_thread(self._checkpoint)

    def _checkpoint(self) -> None:
        path = self.engine.url.database or ""
        conn = sqlite3.connect(path, timeout=1.0)
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.engine.dispose()


class NoTurn(Exception):
    """No turn to send a one-statement raise came in time, or no connection to send it
    on; nothing was sent."""


class PostgresStore:
    def __init__(
        self, engine: AsyncEngine, *, max_raises: int = 3, turn_wait_s: float = 1.0
    ) -> None:
        self.engine = engine
        self.direct = DirectConnections(engine)
        # `max_raises` statements in flight at a time (`database.raises_at_once`): they
        # queue on the same rows (audit chain, counter) in PostgreSQL anyway.
        self._turns = asyncio.Semaphore(max_raises)
        self.max_raises = max_raises
        self.turn_wait_s = turn_wait_s
        self.queued = 0  # statements waiting for a turn
        self.busy = 0  # transactions run again after a deadlock (a metric)

    async def run(self, fn: Callable[[Session], T]) -> T:
        """One transaction; one that PostgreSQL broke off to end a deadlock (two claims
        on the same crews in opposite orders) is run again."""
        for attempt in range(1, PG_RETRIES + 1):
            try:
                async with AsyncSession(self.engine, expire_on_commit=False) as session:
                    async with session.begin():
                        result: T = await session.run_sync(lambda s: fn(cast(Session, s)))
                    return result
            except DBAPIError as exc:
                code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
                if code not in RETRYABLE or attempt == PG_RETRIES:
                    raise
                self.busy += 1
                log.warning("transaction broken off by PostgreSQL (%s): running it again", code)
        raise AssertionError("unreachable")

    async def run_unit(self, fn: Callable[[Unit], T]) -> T:
        return await self.run(lambda session: fn(SessionUnit(session)))

    async def at_once(self, statement: Executable, params: dict[str, Any]) -> Any:
        """One statement as its own transaction (autocommit), straight over asyncpg
        (`direct`): one round trip, its row locks held only while PostgreSQL runs it.
        Returns its first row once committed. `StatementRefused`: PostgreSQL raised an
        error (the statement's own check, a deadlock) and nothing changed; a connection
        lost while it ran leaves the outcome unknown, as a lost COMMIT would (the caller
        resyncs memory from the database).

        Waits its turn behind the statements already in flight beyond `max_raises`;
        `NoTurn`, with nothing sent, if none comes within `turn_wait_s` (statements
        stuck on other transactions' row locks: the caller takes another path)."""
        self.queued += 1
        try:
            async with asyncio.timeout(self.turn_wait_s):
                await self._turns.acquire()
        except TimeoutError:
            raise NoTurn from None
        finally:
            self.queued -= 1
        try:
            return await self.direct.fetchrow(statement, params)
        except NotSent:
            raise NoTurn from None
        finally:
            self._turns.release()

    async def read(self, fn: Callable[[Session], T]) -> T:
        """A consistent read: every statement sees the same committed state."""
        async with self.engine.connect() as conn:
            await conn.execution_options(isolation_level="REPEATABLE READ")
            async with AsyncSession(bind=conn, expire_on_commit=False) as session:
                result: T = await session.run_sync(lambda s: fn(cast(Session, s)))
                await session.commit()
                return result

    async def start(self) -> None:
        await self.direct.warm(self.max_raises)  # no raise waits for a connection

    async def checkpoint(self) -> None:
        return None

    async def close(self) -> None:
        await self.direct.close()  # the engine belongs to the Database


Store = SqliteStore | PostgresStore


def make_store(
    url: str,
    engine: AsyncEngine,
    *,
    synchronous: str = "normal",
    raises_at_once: int = 3,
    raise_turn_wait_s: float = 1.0,
) -> Store:
    if url.startswith("sqlite"):
        return SqliteStore(url, synchronous=synchronous)
    return PostgresStore(engine, max_raises=raises_at_once, turn_wait_s=raise_turn_wait_s)

"""Hot one-statement transactions straight over asyncpg, on a few connections of their own.

A statement sent through SQLAlchemy's async engine costs, besides its round trip, a pool
checkout and check-in, a cache key, the parameters processed by name and the result
wrapped: under 5,000 phones about 1.5 ms of a loop that the round trip itself does not
need. Here a statement is compiled once by SQLAlchemy for the engine's dialect
(`driver_sql.compiled_for`: its SQL with `$n` placeholders, each parameter's position
and bind processor) and sent with asyncpg's own prepared-statement cache, over
connections that nothing else uses: one per statement in flight (warmed at start), so
none is ever waited for.

Connections are made from the engine's dialect's own connect arguments (TLS, several
hosts, the target session as for the pool's). One idle for over `IDLE_PING_S` is pinged
before use and replaced if it does not answer, as the engine's pool does; one that fails
while its statement runs is dropped with every idle one, and the error goes to the
caller: the outcome is then unknown. PostgreSQL's own error on a live connection is
`StatementRefused`: nothing was kept.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

import asyncpg
from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncEngine

from dispatch.storage.db import IDLE_PING_S
from dispatch.storage.driver_sql import compiled_for

log = logging.getLogger("dispatch.store")


class NotSent(Exception):
    """No connection could be had: the statement was not sent, nothing changed."""


class StatementRefused(Exception):
    """PostgreSQL ran the statement and raised an error: nothing it did was kept."""

    def __init__(self, sqlstate: str, message: str) -> None:
        super().__init__(f"{sqlstate}: {message}")
        self.sqlstate = sqlstate


# SQLAlchemy's own options for its asyncpg adapter, not asyncpg's.
ADAPTER_ONLY = ("prepared_statement_cache_size", "prepared_statement_name_func")
CONNECT_TIMEOUT_S = 10.0  # a turn is held meanwhile (the default is 60 s)
PING_TIMEOUT_S = 5.0  # a connection cut off without a goodbye never answers at all


def connect_args(engine: AsyncEngine) -> dict[str, Any]:
    """asyncpg's arguments for a connection like the engine's: its dialect reads the URL
    (TLS, several hosts, the target session) exactly as for the pool's connections."""
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    if args:
        raise ValueError("positional connect arguments are not expected from asyncpg's dialect")
    return {k: v for k, v in kwargs.items() if k not in ADAPTER_ONLY}


class DirectConnections:
    """Connections for one-statement transactions (autocommit), one per statement in
    flight: the caller bounds how many are in flight at once."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        idle_ping_s: float = IDLE_PING_S,
        ping_timeout_s: float = PING_TIMEOUT_S,
    ) -> None:
        self._connect_args = connect_args(engine)
        self._idle_ping_s = idle_ping_s
        self._ping_timeout_s = ping_timeout_s
        self._dialect = engine.dialect
        self._idle: list[tuple[asyncpg.Connection, float]] = []  # last used on top
        self._closed = False

    async def fetchrow(self, statement: Executable, params: Mapping[str, Any]) -> Any:
        """Run `statement` as its own transaction; its first row once committed."""
        compiled = compiled_for(statement, self._dialect, tuple(params))
        if compiled is None:
            raise ValueError("this statement cannot be sent directly (see driver_sql)")
        args = compiled.args(params)
        conn = await self._take()
        try:
            row = await conn.fetchrow(compiled.sql, *args)
        except asyncpg.PostgresError as exc:
            if conn.is_closed() or getattr(exc, "severity", None) in ("FATAL", "PANIC"):
                self._lost(conn)  # the connection ended with it: the outcome is unknown
                raise
            self._give_back(conn)
            raise StatementRefused(exc.sqlstate, str(exc)) from exc
        except BaseException:
            self._lost(conn)  # cancelled, or the connection failed: the outcome is unknown
            raise
        self._give_back(conn)
        return row

    def _lost(self, conn: asyncpg.Connection) -> None:
        """A connection failed in use: it and every idle one (as old, and as likely cut
        off with it) are never used again, as the engine's pool does."""
        conn.terminate()
        idle, self._idle = self._idle, []
        for other, _since in idle:
            other.terminate()

    async def _take(self) -> asyncpg.Connection:
        if self._closed:
            raise NotSent("closed")
        while self._idle:
            conn, since = self._idle.pop()
            if conn.is_closed():
                continue
            if time.monotonic() - since < self._idle_ping_s:
                return conn
            try:
                await conn.execute("SELECT 1", timeout=self._ping_timeout_s)
            except Exception:
                conn.terminate()  # dead: the next one, or a new one
                continue
            except BaseException:
                conn.terminate()  # cancelled mid-ping: its state is unknown
                raise
            return conn
        try:
            conn = await asyncpg.connect(**self._connect_args, timeout=CONNECT_TIMEOUT_S)
        except Exception as exc:
            raise NotSent(f"no connection to PostgreSQL: {exc}") from exc
        if self._closed:
            conn.terminate()
            raise NotSent("closed")
        return conn

    def idle(self) -> list[asyncpg.Connection]:
        """The connections waiting for a statement, the next one to go last."""
        return [conn for conn, _since in self._idle]

    async def warm(self, count: int) -> None:
        """Open `count` connections now, so that no raise pays for one."""
        taken = await asyncio.gather(*(self._take() for _ in range(count)), return_exceptions=True)
        for conn in taken:
            if isinstance(conn, asyncpg.Connection):
                self._give_back(conn)
            elif isinstance(conn, NotSent):
                log.warning("no direct connection to PostgreSQL yet: %s", conn)
            elif isinstance(conn, BaseException):
                raise conn

    def _give_back(self, conn: asyncpg.Connection) -> None:
        if self._closed:
            conn.terminate()
        else:
            self._idle.append((conn, time.monotonic()))

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn, _since in idle:
            try:
                await conn.close(timeout=2)
            except Exception:
                conn.terminate()

"""Hot one-statement transactions straight over asyncpg, on a few connections of their own.

A statement sent through SQLAlchemy's async engine costs, besides its round trip, a pool
checkout and check-in, a cache key, the parameters processed by name and the result
wrapped: under 5,000 phones about 1.5 ms of a loop that the round trip itself does not
need. Here a statement is compiled once by SQLAlchemy for the engine's dialect
(`driver_sql.compiled_for`: its SQL with `$n` placeholders, each parameter's position
and bind processor) and sent with
asyncpg's own prepared-statement cache, over connections that nothing else uses: one per
statement in flight, so none is ever waited for.

A connection idle for over `IDLE_PING_S` is pinged before use and replaced if it does
not answer (as the engine's pool does); one that fails while its statement runs is
dropped, and the error goes to the caller: the outcome is then unknown.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import asyncpg
from sqlalchemy import Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.url import URL

from dispatch.storage.db import IDLE_PING_S
from dispatch.storage.driver_sql import compiled_for


class NotSent(Exception):
    """No connection could be had: the statement was not sent, nothing changed."""


class StatementRefused(Exception):
    """PostgreSQL ran the statement and raised an error: nothing it did was kept."""

    def __init__(self, sqlstate: str, message: str) -> None:
        super().__init__(f"{sqlstate}: {message}")
        self.sqlstate = sqlstate


def driver_dsn(url: URL) -> str:
    """The engine's URL as asyncpg's own (no `+asyncpg`), password included."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class DirectConnections:
    """Connections for one-statement transactions (autocommit), one per statement in
    flight: the caller bounds how many are in flight at once."""

    def __init__(self, url: URL, dialect: Dialect, *, idle_ping_s: float = IDLE_PING_S) -> None:
        self._dsn = driver_dsn(url)
        self._idle_ping_s = idle_ping_s
        self._dialect = dialect
        self._idle: list[tuple[asyncpg.Connection, float]] = []  # last used on top
        self._closed = False

    async def fetchrow(self, statement: Executable, params: Mapping[str, Any]) -> Any:
        """Run `statement` as its own transaction; its first row once committed."""
        compiled = compiled_for(statement, self._dialect, tuple(params))
        if compiled is None:
            raise ValueError("a statement sent directly returns what asyncpg decodes itself")
        args = compiled.args(params)
        conn = await self._take()
        try:
            row = await conn.fetchrow(compiled.sql, *args)
        except asyncpg.PostgresError as exc:
            self._give_back(conn)
            raise StatementRefused(exc.sqlstate, str(exc)) from exc
        except BaseException:
            conn.terminate()  # its state is unknown: never used again
            raise
        self._give_back(conn)
        return row

    async def _take(self) -> asyncpg.Connection:
        while self._idle:
            conn, since = self._idle.pop()
            if conn.is_closed():
                continue
            if time.monotonic() - since < self._idle_ping_s:
                return conn
            try:
                await conn.execute("SELECT 1")
                return conn
            except Exception:
                conn.terminate()
        try:
            conn = await asyncpg.connect(self._dsn)
        except Exception as exc:
            raise NotSent(f"no connection to PostgreSQL: {exc}") from exc
        if self._closed:
            conn.terminate()
            raise NotSent("closed")
        return conn

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

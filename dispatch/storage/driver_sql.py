"""Hot Core statements on the database driver's own cursor, compiled once.

SQLAlchemy's `Connection.execute` costs, for a statement that takes microseconds in
SQLite, a cache-key lookup, an execution context, the parameters processed by name and
a result object: under 5,000 phones about 0.1-0.2 ms of the event loop per statement,
and a raise is a dozen statements. Here a statement built once is compiled once for the
dialect (its SQL, each parameter's position and bind processor: exactly what SQLAlchemy
would send) and run on the DBAPI connection inside the caller's transaction.

Only statements whose returned columns need no result processing run here (strings,
integers): `Compiled.of` refuses others, and those go through SQLAlchemy as before.
Only the core's SQLite connection (pysqlite, on the loop's thread: `store.SqliteStore`)
takes this path. aiosqlite's connections and PostgreSQL's greenlet over asyncpg go
through SQLAlchemy: there the round trips, not SQLAlchemy, are the cost (`direct` sends
PostgreSQL's one-statement raise).
"""

from __future__ import annotations

import logging
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError

log = logging.getLogger("dispatch.store")


class NeedsProcessing(Exception):
    """A returned column would need SQLAlchemy's result processing."""


@dataclass(frozen=True)
class Compiled:
    """A statement as the driver takes it: SQL, its parameters in order, processed."""

    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    fixed: dict[str, Any]  # parameters the statement carries itself (`x == "value"`)
    row: Callable[..., Any] | None  # a named tuple of the returned columns

    @classmethod
    def of(cls, statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> Compiled:
        """Compiled for parameters named `keys` (an INSERT's columns are those given)."""
        compiled = statement.compile(  # type: ignore[attr-defined]
            dialect=dialect, column_keys=list(keys)
        )
        if (
            not compiled.positional
            or compiled.post_compile_params
            or compiled.literal_execute_params
            or compiled.escaped_bind_names
        ):
            raise NeedsProcessing("parameters SQLAlchemy renders at execution")
        names = tuple(compiled.positiontup or ())
        fixed: dict[str, Any] = {}
        for name in names:
            if name in keys:
                continue
            bind = compiled.binds[name]
            if bind.callable is not None or bind.value is None:
                raise NeedsProcessing(name)  # a column default, or a value left out
            fixed[name] = bind.value
        processors = tuple(
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in names
        )
        columns = getattr(statement, "_returning", ()) or ()
        for column in columns:
            if column.type.dialect_impl(dialect).result_processor(dialect, None) is not None:
                raise NeedsProcessing(str(column))
        returned = [c.key for c in columns]
        row = namedtuple("Row", returned, rename=True) if returned else None
        return cls(compiled.string, names, processors, fixed, row)

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        fixed = self.fixed
        return [
            value if process is None else process(value)
            for name, process in zip(self.names, self.processors, strict=True)
            for value in (fixed[name] if name in fixed else params[name],)
        ]


# Per kind of dialect (its class, paramstyle and server version: engines of one kind
# compile alike), statement and parameter names. Not per dialect object: processors
# hold on to the dialect they were made for, and a test run makes hundreds of engines.
_Key = tuple[type, str, Any, int, tuple[str, ...]]
_compiled: dict[_Key, tuple[Executable, Compiled | None]] = {}
CACHE_LIMIT = 1_000  # statements are built once: more means one is built per call


def compiled_for(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> Compiled | None:
    """`statement` compiled for `dialect` and parameters named `keys`; None where the
    driver's own cursor cannot run it. Keyed by identity, the statement kept alive
    beside it: for statements built once (module constants, `functools.cache`)."""
    key = (type(dialect), dialect.paramstyle, dialect.server_version_info, id(statement), keys)
    known = _compiled.get(key)
    if known is None or known[0] is not statement:
        try:
            compiled: Compiled | None = Compiled.of(statement, dialect, keys)
        except NeedsProcessing:
            compiled = None
        if len(_compiled) >= CACHE_LIMIT:
            log.warning(
                "driver_sql: over %d statements compiled: one is built per call", CACHE_LIMIT
            )
            _compiled.clear()
        known = (statement, compiled)
        _compiled[key] = known
    return known[1]


@dataclass(frozen=True)
class Outcome:
    rows: list[Any]
    rowcount: int

    def first(self) -> Any:
        return self.rows[0] if self.rows else None

    def scalar_one(self) -> Any:
        if len(self.rows) != 1:
            raise ValueError(f"expected one row, got {len(self.rows)}")
        return self.rows[0][0]


def _plain_sqlite(conn: Connection) -> bool:
    """The core's own SQLite connection (pysqlite, synchronous; not aiosqlite's), in a
    transaction (the driver's cursor does not begin one as SQLAlchemy would)."""
    return (
        conn.dialect.name == "sqlite"
        and conn.dialect.driver == "pysqlite"
        and conn.in_transaction()
    )


def _wrapped(exc: sqlite3.Error, sql: str) -> StatementError:
    """The driver's error as SQLAlchemy would have raised it (IntegrityError, ...)."""
    return DBAPIError.instance(sql, None, exc, sqlite3.Error, hide_parameters=True)


def execute(conn: Connection, statement: Executable, params: Mapping[str, Any]) -> Outcome:
    """`conn.execute(statement, params)`, on SQLite straight on the driver's cursor."""
    compiled = None
    if _plain_sqlite(conn):
        compiled = compiled_for(statement, conn.dialect, tuple(params))
    if compiled is None:
        result = conn.execute(statement, dict(params))
        rows = list(result.all()) if result.returns_rows else []
        return Outcome(rows, result.rowcount)
    args = compiled.args(params)
    try:
        cursor = conn.connection.driver_connection.execute(  # type: ignore[union-attr]
            compiled.sql, args
        )
        raw = cursor.fetchall() if cursor.description else []
    except sqlite3.Error as exc:
        raise _wrapped(exc, compiled.sql) from exc
    row = compiled.row
    return Outcome([row(*r) for r in raw] if row else raw, cursor.rowcount)


def executemany(
    conn: Connection, statement: Executable, params: Sequence[Mapping[str, Any]]
) -> None:
    """`conn.execute(statement, [params, ...])` (no rows back), likewise."""
    if not params:
        return
    compiled = None
    if _plain_sqlite(conn):
        compiled = compiled_for(statement, conn.dialect, tuple(params[0]))
    if compiled is None:
        conn.execute(statement, [dict(p) for p in params])
        return
    rows = [compiled.args(p) for p in params]
    try:
        conn.connection.driver_connection.executemany(  # type: ignore[union-attr]
            compiled.sql, rows
        )
    except sqlite3.Error as exc:
        raise _wrapped(exc, compiled.sql) from exc

"""The async database handle: SQLite (WAL) or PostgreSQL (asyncpg), same code."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from dispatch.storage import migrate
from dispatch.storage.all_models import metadata

metadata()  # every module's tables (dispatch/storage/all_models.py), before any query


class Database:
    def __init__(self, url: str, *, sqlite_synchronous: str = "normal") -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"hide_parameters": True}  # no personal data in logs
        if not self.is_sqlite:
            # LIFO: the connection just given back goes out next, so a busy pool uses a
            # few hot connections (no idle ping) and the rest stay idle.
            kwargs.update(pool_size=10, max_overflow=10, pool_use_lifo=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if not self.is_sqlite:
            ping_when_idle(self.engine)
        if self.is_sqlite:
            level = "FULL" if sqlite_synchronous == "full" else "NORMAL"
            event.listen(
                self.engine.sync_engine,
                "connect",
                # A thread of aiosqlite's may wait for the write lock: it holds no loop up.
                lambda conn, _record: sqlite_pragmas(conn, level, "busy_timeout=5000"),
            )
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )

    async def create_tables(self) -> None:
        """Make a fresh (empty) database at the code's schema; check that any other is
        at it. Raises `migrate.SchemaError` for one that `dispatch db upgrade` must bring
        up first (the server refuses to start on it)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(migrate.prepare)

    async def schema_state(self) -> migrate.State:
        async with self.engine.connect() as conn:
            return await conn.run_sync(migrate.state)

    async def upgrade_schema(self) -> migrate.State:
        """Bring the schema to the code's head (`dispatch db upgrade`); returns where it
        stood before. SQLite checks foreign keys only once the upgrade is done: a
        revision that alters a table copies it, and dropping the old copy must not
        touch the rows that refer to it."""
        async with self.engine.connect() as conn:
            if self.is_sqlite:
                await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # not in a transaction
                await conn.commit()
            try:
                async with conn.begin():
                    before = await conn.run_sync(migrate.upgrade)
                    if self.is_sqlite:
                        broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                        if broken:
                            raise migrate.SchemaError(
                                f"The upgrade left {len(broken)} rows referring to missing "
                                f"ones (the first in table {broken[0][0]}): nothing was "
                                "kept; restore the backup if the database was changed."
                            )
            finally:
                if self.is_sqlite:
                    await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                    await conn.commit()
        return before

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    @asynccontextmanager
    async def snapshot_session(self) -> AsyncIterator[AsyncSession]:
        """A session whose reads all see one consistent state."""
        if self.is_sqlite:
            async with self._sessions() as session:
                yield session
            return
        async with self.engine.connect() as conn:
            await conn.execution_options(isolation_level="REPEATABLE READ")
            async with AsyncSession(bind=conn, expire_on_commit=False) as session:
                yield session

    async def close(self) -> None:
        await self.engine.dispose()


IDLE_PING_S = 1.0


def ping_when_idle(engine: AsyncEngine) -> None:
    """`pool_pre_ping`, for connections idle over `IDLE_PING_S` only. A ping is a round
    trip before every transaction, and on asyncpg a turn of the event loop: under load a
    connection goes back to the pool and out again within milliseconds and was just
    heard from. One idle through a database restart or a cut is pinged, and replaced if
    dead (the pool then tries another); one that dies in use fails its statement, and
    SQLAlchemy then drops every connection older than it."""

    @event.listens_for(engine.sync_engine, "connect")
    @event.listens_for(engine.sync_engine, "checkin")
    def heard_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is not None and time.monotonic() - since < IDLE_PING_S:
            return
        try:
            dbapi_conn.ping()
        except Exception as exc:
            raise DisconnectionError("the connection did not answer a ping") from exc


def sqlite_pragmas(dbapi_conn: Any, synchronous: str, *pragmas: str) -> None:
    """WAL, the durability asked for, foreign keys; then `pragmas` (each `name=value`)."""
    cursor = dbapi_conn.cursor()
    for pragma in ("journal_mode=WAL", f"synchronous={synchronous}", "foreign_keys=ON", *pragmas):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()

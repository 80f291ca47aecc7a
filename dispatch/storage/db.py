"""The async database handle: SQLite (WAL) or PostgreSQL (asyncpg), same code."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from dispatch.audit import models as audit_models  # noqa: F401  (its tables)
from dispatch.public_reports import models as public_report_models  # noqa: F401  (its tables)
from dispatch.storage import models


class Database:
    def __init__(self, url: str, *, sqlite_synchronous: str = "normal") -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"hide_parameters": True}  # no personal data in logs
        if not self.is_sqlite:
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
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
        """Create missing tables, and add columns that newer code added to existing
        tables (nullable or defaulted ones only: the only kind of change made so far)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)
            await conn.run_sync(_add_missing_columns)
        async with self.session() as s:  # the event counter every change numbers from
            if await s.get(models.Counter, models.EVENT_SEQ) is None:
                s.add(models.Counter(name=models.EVENT_SEQ, value=0))
                await s.commit()

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


def _add_missing_columns(conn: Connection) -> None:
    inspector = inspect(conn)
    for table in SQLModel.metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable and column.server_default is None:
                raise RuntimeError(
                    f"table {table.name} lacks the required column {column.name}: "
                    "this database was made by an older version; move it aside and start again"
                )
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}'))
        # Indexes newer code adds, on old columns as well as new ones.
        for index in table.indexes:
            index.create(conn, checkfirst=True)


def sqlite_pragmas(dbapi_conn: Any, synchronous: str, *pragmas: str) -> None:
    """WAL, the durability asked for, foreign keys; then `pragmas` (each `name=value`)."""
    cursor = dbapi_conn.cursor()
    for pragma in ("journal_mode=WAL", f"synchronous={synchronous}", "foreign_keys=ON", *pragmas):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()

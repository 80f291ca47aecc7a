"""Builders for the audit tests: a real database with its tables, rows written through
the real writer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import text
from sqlmodel import Session

from dispatch.audit import Action, record
from dispatch.audit.verify import Verdict, verify_in
from dispatch.storage.db import Database

T0 = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)


async def open_db(url: str) -> Database:
    db = Database(url)
    await db.create_tables()
    return db


async def write_rows(db: Database, n: int, *, start: datetime = T0) -> None:
    for i in range(n):
        async with db.session() as s:
            await record(
                s,
                at=start + timedelta(minutes=i),
                actor=f"user{i % 3}",
                role="supervisor",
                action=Action.CONSULTATION,
                object_type="alert",
                object_id=f"alert-{i}",
                reason=None if i % 2 else f"reason {i}",
            )
            await s.commit()


async def verdict(db: Database, expect: str | None = None) -> Verdict:
    async with db.session() as s:
        return await s.run_sync(lambda ss: verify_in(cast(Session, ss), expect))


async def sql(db: Database, statement: str, **params: object) -> None:
    async with db.session() as s:
        await s.run_sync(lambda ss: _exec(cast(Session, ss), statement, params))
        await s.commit()


def _exec(session: Session, statement: str, params: dict[str, object]) -> None:
    session.connection().execute(text(statement), params)

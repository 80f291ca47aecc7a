"""The core's SQLite store: one transaction at a time on its own connection, kept open;
Core statements and the ORM's changes commit together or not at all, and a database
another connection holds is waited for, never failed. A real SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import ForeignKey, String, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dispatch.storage.store import SqliteStore, Unit
from tests.support import eventually


class Base(DeclarativeBase):  # its own metadata: the product's tables are not touched
    pass


class Note(Base):
    __tablename__ = "note"
    id: Mapped[str] = mapped_column(String(8), primary_key=True)
    text: Mapped[str] = mapped_column(String(40))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    Base.metadata.create_all(s.engine)
    yield s
    await s.close()


def _note(note_id: str) -> Note:
    return Note(id=note_id, text="seen")


def _core(note_id: str) -> dict[str, object]:
    return {"id": note_id, "text": "seen"}


def _ids(unit: Unit) -> list[str]:
    return sorted(unit.conn.execute(select(Note.id)).scalars())


async def test_core_statements_and_session_changes_commit_together(store: SqliteStore) -> None:
    def both(unit: Unit) -> None:
        unit.conn.execute(insert(Note), _core("core"))
        unit.session.add(_note("orm"))  # flushed by the store before the commit

    await store.run_unit(both)
    assert await store.run_unit(_ids) == ["core", "orm"]
    assert await store.run(lambda s: s.get(Note, "orm")) is not None


async def test_a_step_that_fails_leaves_nothing_and_the_next_one_runs(
    store: SqliteStore,
) -> None:
    def fails(unit: Unit) -> None:
        unit.conn.execute(insert(Note), _core("core"))
        unit.session.add(_note("orm"))
        unit.session.flush()
        raise RuntimeError("the step's own error")

    with pytest.raises(RuntimeError):
        await store.run_unit(fails)
    assert await store.run_unit(_ids) == []
    await store.run_unit(lambda unit: unit.session.add(_note("later")))
    assert await store.run_unit(_ids) == ["later"]


async def test_a_flush_that_fails_at_the_end_leaves_nothing(store: SqliteStore) -> None:
    await store.run_unit(lambda unit: unit.session.add(_note("o1")))

    def duplicate(unit: Unit) -> None:
        unit.conn.execute(insert(Note), _core("core"))
        unit.session.add(_note("o1"))  # the same key: refused at the store's flush

    with pytest.raises(IntegrityError):
        await store.run_unit(duplicate)
    assert await store.run_unit(_ids) == ["o1"]
    count = await store.run_unit(
        lambda unit: unit.conn.execute(select(func.count()).select_from(Note)).scalar_one()
    )
    assert count == 1


async def test_a_database_another_connection_holds_is_waited_for(
    store: SqliteStore, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # holds the write lock
    try:
        task = asyncio.create_task(store.run_unit(lambda u: u.session.add(_note("o1"))))
        await eventually(lambda: store.busy > 0, within_s=60)  # tried, found it busy
        assert not task.done()  # found it busy, and waits
    finally:
        other.execute("COMMIT")
        other.close()
    await asyncio.wait_for(task, 60)
    assert await store.run_unit(_ids) == ["o1"]


class Child(Base):
    """Its parent is checked at COMMIT (a deferred foreign key): a way to fail a COMMIT."""

    __tablename__ = "child"
    id: Mapped[str] = mapped_column(String(8), primary_key=True)
    parent: Mapped[str] = mapped_column(
        String(8), ForeignKey("note.id", deferrable=True, initially="DEFERRED")
    )


async def test_a_commit_that_fails_leaves_nothing_and_the_next_transaction_runs(
    store: SqliteStore, tmp_path: Path
) -> None:
    def orphan(unit: Unit) -> None:
        unit.conn.execute(insert(Note), _core("n1"))
        unit.conn.execute(insert(Child), {"id": "k1", "parent": "nobody"})

    with pytest.raises(IntegrityError):  # at COMMIT
        await store.run_unit(orphan)
    # Nothing of it kept, and SQLite's transaction is over: another connection can write.
    other = sqlite3.connect(tmp_path / "store.db", isolation_level=None, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()
    await store.run_unit(lambda unit: unit.session.add(_note("n2")))
    assert await store.run_unit(_ids) == ["n2"]

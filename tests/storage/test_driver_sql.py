"""Hot statements on SQLite's own cursor (`dispatch.storage.driver_sql`) write and read
exactly what SQLAlchemy's `Connection.execute` does, and hand back to SQLAlchemy what
they cannot run themselves. Synchronous, on a real SQLite file: no event loop."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    insert,
    select,
    update,
)

from dispatch.storage import driver_sql
from dispatch.storage.models import UtcDateTime

META = MetaData()
THING = Table(
    "thing",
    META,
    Column("id", String, primary_key=True),
    Column("state", String, nullable=False),
    Column("at", UtcDateTime(), nullable=True),
    Column("n", Integer, nullable=False, default=7),  # a default SQLAlchemy fills in
)
ADD = insert(THING)
TAKE = (
    update(THING)
    .where(THING.c.id == bindparam("b_id"), THING.c.state == "free")
    .values(state="taken", at=bindparam("b_at"))
    .returning(THING.c.id, THING.c.state)
)
TAKE_WITH_TIME = (
    update(THING).where(THING.c.id == bindparam("b_id")).values(state="x").returning(THING.c.at)
)
AT = datetime(2026, 11, 29, 1, 2, 3, 456789, tzinfo=UTC)


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[Connection]:
    engine = create_engine(f"sqlite+pysqlite:///{tmp_path / 'd.db'}")
    META.create_all(engine)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def _rows(conn: Connection) -> list[tuple[object, ...]]:
    return [tuple(r) for r in conn.execute(select(THING).order_by(THING.c.id))]


def test_an_update_returns_named_rows_and_counts_them(conn: Connection) -> None:
    driver_sql.executemany(conn, ADD, [{"id": "a", "state": "free", "n": 1, "at": None}])
    taken = driver_sql.execute(conn, TAKE, {"b_id": "a", "b_at": AT})
    assert taken.rowcount == 1
    row = taken.first()
    assert (row.id, row.state) == ("a", "taken") and row[0] == "a"
    again = driver_sql.execute(conn, TAKE, {"b_id": "a", "b_at": AT})
    assert again.rowcount == 0 and again.first() is None  # the statement's own condition
    assert driver_sql.compiled_for(TAKE, conn.dialect, ("b_id", "b_at")) is not None


def test_it_stores_what_sqlalchemy_stores(conn: Connection, tmp_path: Path) -> None:
    driver_sql.execute(conn, ADD, {"id": "a", "state": "free", "at": AT, "n": 2})
    conn.execute(ADD, {"id": "b", "state": "free", "at": AT, "n": 2})
    stored = conn.exec_driver_sql("SELECT id, state, at, n FROM thing ORDER BY id").all()
    assert stored[0][1:] == stored[1][1:]  # the time as the same text, through its type
    assert _rows(conn)[0] == ("a", "free", AT, 2)


def test_what_it_cannot_run_goes_through_sqlalchemy(conn: Connection) -> None:
    # A column left to its default: SQLAlchemy fills it in.
    assert driver_sql.compiled_for(ADD, conn.dialect, ("id", "state")) is None
    driver_sql.execute(conn, ADD, {"id": "a", "state": "free"})
    assert _rows(conn) == [("a", "free", None, 7)]
    # A returned time needs SQLAlchemy's result processing (it comes back aware).
    driver_sql.execute(conn, ADD, {"id": "b", "state": "free", "at": AT, "n": 1})
    assert driver_sql.compiled_for(TAKE_WITH_TIME, conn.dialect, ("b_id",)) is None
    assert driver_sql.execute(conn, TAKE_WITH_TIME, {"b_id": "b"}).scalar_one() == AT


def test_a_naive_time_is_refused_as_sqlalchemy_refuses_it(conn: Connection) -> None:
    with pytest.raises(ValueError, match="naive"):
        driver_sql.execute(
            conn, ADD, {"id": "a", "state": "free", "at": AT.replace(tzinfo=None), "n": 1}
        )
    assert _rows(conn) == []

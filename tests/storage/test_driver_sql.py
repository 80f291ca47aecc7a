"""Hot statements on SQLite's own cursor (`dispatch.storage.driver_sql`) write and read
exactly what SQLAlchemy's `Connection.execute` does, and hand back to SQLAlchemy what
they cannot run themselves. Synchronous, on a real SQLite file: no event loop."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import (
    Column,
    Connection,
    Executable,
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
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from dispatch.audit.chain import ADD_ROW, HASHED, SET_HEAD, TAKE_HEAD
from dispatch.storage import driver_sql
from dispatch.storage.models import UtcDateTime
from dispatch.storage.store import SqliteStore
from dispatch.usecases.statements import ALERTS, CLAIM_CREW, INSERT_OFFER, NEW_ALERT, OFFERS
from dispatch.usecases.work import STORE_EVENTS, TAKE_NUMBERS

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
    keys = ("id", "state", "at", "n")
    assert driver_sql.compiled_for(ADD, conn.dialect, keys) is not None  # the driver's path
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


def test_many_rows_with_every_kind_of_value_go_in_together(conn: Connection) -> None:
    rows = [
        {"id": "a", "state": "free", "at": AT, "n": 1},
        {"id": "b", "state": "taken", "at": None, "n": 0},
    ]
    driver_sql.executemany(conn, ADD, rows)
    assert _rows(conn) == [("a", "free", AT, 1), ("b", "taken", None, 0)]


def test_its_errors_are_sqlalchemys(conn: Connection) -> None:
    """A duplicate key is an IntegrityError, as the callers expect."""
    row = {"id": "a", "state": "free", "at": None, "n": 1}
    driver_sql.execute(conn, ADD, row)
    with pytest.raises(IntegrityError):
        driver_sql.execute(conn, ADD, row)


def test_what_it_wrote_is_rolled_back_with_the_transaction(tmp_path: Path) -> None:
    """On the core's own SQLite store: the driver's writes are part of its transaction."""
    store = SqliteStore(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    META.create_all(store.engine)

    def write_then_fail(session: Session) -> None:
        driver_sql.execute(
            session.connection(), ADD, {"id": "a", "state": "free", "at": AT, "n": 1}
        )
        raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError):
        asyncio.run(store.run(write_then_fail))
    with store.engine.connect() as conn:
        assert _rows(conn) == []
    asyncio.run(
        store.run(
            lambda s: driver_sql.execute(
                s.connection(), ADD, {"id": "b", "state": "free", "at": AT, "n": 1}
            )
        )
    )
    with store.engine.connect() as conn:
        assert _rows(conn) == [("b", "free", AT, 1)]
    store.engine.dispose()


def test_outside_a_transaction_it_leaves_the_statement_to_sqlalchemy(tmp_path: Path) -> None:
    """The store's connection runs in the driver's autocommit mode: a statement sent on
    its cursor outside a transaction would be committed on its own."""
    store = SqliteStore(f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    META.create_all(store.engine)
    with store.engine.connect() as conn:
        assert not conn.in_transaction()
        driver_sql.execute(conn, ADD, {"id": "a", "state": "free", "at": AT, "n": 1})
        conn.rollback()  # SQLAlchemy began one: nothing was committed on its own
        assert _rows(conn) == []
    store.engine.dispose()


@pytest.mark.parametrize(
    ("statement", "keys"),
    [
        (CLAIM_CREW, ("b_crew", "b_offer", "b_now")),
        (INSERT_OFFER, tuple(c.name for c in OFFERS.columns)),
        (NEW_ALERT["sqlite"], tuple(c.name for c in ALERTS.columns)),
        (TAKE_HEAD, ()),
        (ADD_ROW, ("seq", "prev_hash", "hash", *HASHED)),
        (SET_HEAD, ("b_head",)),
        (TAKE_NUMBERS, ("b_n",)),
        (STORE_EVENTS, tuple(c.name for c in STORE_EVENTS.table.columns)),
    ],
)
def test_every_hot_statement_of_the_core_runs_on_the_driver(
    statement: Executable, keys: tuple[str, ...]
) -> None:
    """Otherwise it would quietly go back through SQLAlchemy (and cost what it did)."""
    dialect = create_engine("sqlite+pysqlite://").dialect
    assert driver_sql.compiled_for(statement, dialect, keys) is not None


def test_a_naive_time_is_refused_as_sqlalchemy_refuses_it(conn: Connection) -> None:
    with pytest.raises(ValueError, match="naive"):
        driver_sql.execute(
            conn, ADD, {"id": "a", "state": "free", "at": AT.replace(tzinfo=None), "n": 1}
        )
    assert _rows(conn) == []


def test_many_engines_in_one_process_share_their_compiled_statements() -> None:
    """A test run makes hundreds of engines of one kind: they compile alike."""
    keys = ("id", "state", "at", "n")
    for _ in range(300):
        engine = create_engine("sqlite+pysqlite://")
        for statement in (ADD, TAKE, CLAIM_CREW, TAKE_HEAD):
            driver_sql.compiled_for(statement, engine.dialect, keys if statement is ADD else ())
        engine.dispose()
        del engine
    gc.collect()
    assert len(driver_sql._compiled) < 50  # one entry per statement, not per engine

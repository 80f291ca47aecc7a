"""The core's hot rows inside a transaction (`Tx.get`, `Tx.write`, the Core reads of
attached crews and open offers), on a real SQLite file and a real PostgreSQL database:
one object per row in a transaction, writes stored at once and in order, reads that see
what the transaction changed and hand out copies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from sqlalchemy import delete, select

from dispatch.storage.db import Database
from dispatch.storage.models import Alert, Crew, Offer, User
from dispatch.storage.row_update import RowGone
from dispatch.storage.store import Store, Unit, make_store
from dispatch.storage.transient import build
from dispatch.usecases.statements import CREWS
from dispatch.usecases.work import Tx

T = TypeVar("T")
NOW = datetime(2026, 11, 29, 22, 0, tzinfo=UTC)


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    db = Database(db_url)
    await db.create_tables()
    s = make_store(db_url, db.engine)
    await s.start()
    her = {"username": "her", "display_name": "Her", "role": "officer", "password_hash": "x"}
    place = {"lat": 52.0, "lon": -2.7, "raised_at": NOW, "updated_at": NOW}
    terms = {"state": "offered", "created_at": NOW, "deadline": NOW + timedelta(seconds=30)}
    terms |= {"distance_m": 100.0, "eta_s": 60.0}
    async with db.session() as session:
        session.add(User(id="her", created_at=NOW, **her))
        await session.commit()  # no relationships: the session would not order them
        session.add(Alert(id="a1", officer_id="her", state="dispatching", **place))
        for crew_id in ("c1", "c2", "c3"):
            crew = {"callsign": crew_id.upper(), "mode": "foot", "updated_at": NOW}
            session.add(Crew(id=crew_id, state="offered", **crew))
        await session.commit()
        for crew_id in ("c1", "c2", "c3"):
            session.add(Offer(id=f"o-{crew_id}", alert_id="a1", crew_id=crew_id, **terms))
        await session.commit()
    yield s
    await s.close()
    await db.close()


async def in_tx(store: Store, fn: Callable[[Tx], T]) -> T:
    def unit(u: Unit) -> T:
        return fn(Tx(NOW, unit=u))

    return await store.run_unit(unit)


async def test_get_is_the_sessions_own_object_and_its_changes_are_stored(store: Store) -> None:
    def change(tx: Tx) -> None:
        crew = tx.get(Crew, "c1")
        assert crew is not None
        assert tx.get(Crew, "c1", for_update=True) is crew
        assert tx.session.get(Crew, "c1") is crew
        crew.callsign = "ALPHA"  # through the ORM: flushed at the commit

    await in_tx(store, change)
    callsign = select(CREWS.c.callsign).where(CREWS.c.id == "c1")
    assert await in_tx(store, lambda tx: tx.conn.execute(callsign).scalar()) == "ALPHA"


async def test_get_of_a_row_not_stored_is_none(store: Store) -> None:
    assert await in_tx(store, lambda tx: tx.get(Crew, "nobody")) is None


async def test_get_of_a_row_added_in_this_transaction_is_that_object(store: Store) -> None:
    def add_then_get(tx: Tx) -> None:
        new = Crew(id="c9", callsign="C9", mode="foot", state="off_duty", updated_at=NOW)
        tx.session.add(new)  # not flushed yet
        assert tx.get(Crew, "c9", for_update=True) is new

    await in_tx(store, add_then_get)


async def test_write_stores_at_once_and_leaves_nothing_to_flush(store: Store) -> None:
    def write(tx: Tx) -> tuple[str, str]:
        crew = tx.get(Crew, "c2", for_update=True)
        assert crew is not None
        tx.write(crew, state="available", offer_id=None, updated_at=NOW)
        assert crew.state == "available"
        assert crew not in tx.session.dirty
        seen = tx.conn.execute(select(CREWS.c.state).where(CREWS.c.id == "c2")).scalar()
        return crew.state, seen

    assert await in_tx(store, write) == ("available", "available")
    assert await in_tx(store, lambda tx: tx.get(Crew, "c2").state) == "available"  # type: ignore[union-attr]


async def test_write_after_an_orm_change_keeps_their_order(store: Store) -> None:
    def both(tx: Tx) -> None:
        crew = tx.get(Crew, "c3")
        assert crew is not None
        crew.callsign = "CHANGED FIRST"  # pending in the session
        tx.write(crew, state="available")  # flushes it first, then writes

    await in_tx(store, both)
    crew = await in_tx(store, lambda tx: tx.get(Crew, "c3"))
    assert crew is not None
    assert (crew.callsign, crew.state) == ("CHANGED FIRST", "available")


async def test_write_of_a_row_no_longer_stored_fails_and_changes_nothing(store: Store) -> None:
    def write(tx: Tx) -> None:
        crew = tx.get(Crew, "c1")
        assert crew is not None
        tx.write(crew, state="available")
        gone = Crew(id="c9", callsign="C9", mode="foot", state="off_duty", updated_at=NOW)
        tx.session.add(gone)
        tx.session.flush()
        tx.conn.execute(delete(CREWS).where(CREWS.c.id == "c9"))  # behind the session's back
        tx.write(gone, state="available")

    with pytest.raises(RowGone):
        await in_tx(store, write)
    crew = await in_tx(store, lambda tx: tx.get(Crew, "c1"))
    assert crew is not None and crew.state == "offered"  # rolled back with it


async def test_write_of_an_object_that_is_not_a_stored_row_is_refused(store: Store) -> None:
    new = build(Crew, id="c9", callsign="C9", mode="foot", state="available", updated_at=NOW)
    with pytest.raises(TypeError):
        await in_tx(store, lambda tx: tx.write(new, state="offered"))


async def test_reads_see_the_transactions_changes_and_hand_out_copies(store: Store) -> None:
    def accept(tx: Tx) -> None:
        offer = tx.get(Offer, "o-c1", for_update=True)
        assert offer is not None
        assert sorted(o.id for o in tx.open_offers("a1")) == ["o-c1", "o-c2", "o-c3"]
        assert tx.attached("a1") == []
        offer.state, offer.accepted_at = "accepted", NOW  # in the session, not flushed
        assert sorted(o.id for o in tx.open_offers("a1")) == ["o-c2", "o-c3"]
        [(copy, crew)] = tx.attached("a1")
        tx.write(tx.get(Offer, "o-c2"), state="declined")  # type: ignore[arg-type]
        assert [o.id for o in tx.open_offers("a1")] == ["o-c3"]
        assert (copy.id, copy.state, crew.id) == ("o-c1", "accepted", "c1")
        assert copy is not offer and crew is not tx.get(Crew, "c1")  # copies, to read
        [(offer_in_session, crew_in_session)] = tx.attached_in_session("a1")
        assert offer_in_session is offer and crew_in_session is tx.get(Crew, "c1")
        [open_in_session] = tx.open_offers_in_session("a1")
        assert open_in_session is tx.get(Offer, "o-c3")
        with pytest.raises(TypeError):
            tx.write(copy, state="declined")  # a copy is not the session's row

    await in_tx(store, accept)

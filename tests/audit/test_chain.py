"""The chain proves itself: whole, it verifies and gives its head; tampered with in any
way (a row edited, deleted, inserted or moved, the tail cut), verify names the first bad
row. On a real SQLite database, through the real writer."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from dispatch.audit.chain import canonical, digest
from dispatch.audit.models import AuditRow
from dispatch.storage.db import Database
from dispatch.usecases.numbering import spliced
from tests.audit.support import open_db, sql, verdict, write_rows


@pytest.fixture
async def db(sqlite_url: str) -> AsyncIterator[Database]:
    database = await open_db(sqlite_url)
    await write_rows(database, 6)
    try:
        yield database
    finally:
        await database.close()


async def test_a_whole_chain_verifies_and_gives_its_head(db: Database) -> None:
    result = await verdict(db)
    assert result.ok and result.rows == 6
    assert "head " + result.head in result.sentence()
    await write_rows(db, 1)
    longer = await verdict(db, expect=result.head)  # the earlier head is still in it
    assert longer.ok and longer.head != result.head


async def test_an_empty_trail_verifies(sqlite_url: str) -> None:
    database = await open_db(sqlite_url)
    try:
        assert (await verdict(database)).ok
    finally:
        await database.close()


async def test_an_edited_row_is_named(db: Database) -> None:
    await sql(db, "UPDATE audit_row SET actor = 'someone_else' WHERE seq = 3")
    result = await verdict(db)
    assert not result.ok and result.bad_seq == 3 and result.kind == "edited"
    assert "row 3" in result.sentence()


async def test_a_deleted_row_is_named(db: Database) -> None:
    await sql(db, "DELETE FROM audit_row WHERE seq = 4")
    result = await verdict(db)
    assert (result.ok, result.bad_seq, result.kind) == (False, 4, "deleted")


async def test_a_deleted_row_with_the_rest_renumbered_is_named(db: Database) -> None:
    await sql(db, "DELETE FROM audit_row WHERE seq = 2")
    for seq in (3, 4, 5, 6):
        await sql(db, "UPDATE audit_row SET seq = :new WHERE seq = :old", new=seq - 1, old=seq)
    result = await verdict(db)
    assert (result.ok, result.bad_seq, result.kind) == (False, 2, "inserted_or_moved")


async def test_an_inserted_row_is_named(db: Database) -> None:
    """A forged row with a hash that fits its own content and the row before it, the
    later rows renumbered to make room: the row after it no longer follows."""
    for seq in (6, 5, 4):
        await sql(db, "UPDATE audit_row SET seq = :new WHERE seq = :old", new=seq + 1, old=seq)
    at = await _row_at(db, 3)
    fields: dict[str, object] = {
        "at": at,
        "actor": "forger",
        "role": "supervisor",
        "action": "consultation",
        "object_type": "alert",
        "object_id": "x",
        "reason": None,
        "detail": None,
    }
    prev = await _hash_of(db, 3)
    await sql(
        db,
        "INSERT INTO audit_row (seq, at, actor, role, action, object_type, object_id, "
        "prev_hash, hash) VALUES (4, :at, 'forger', 'supervisor', 'consultation', 'alert', "
        "'x', :prev, :hash)",
        at=at.replace(tzinfo=None),
        prev=prev,
        hash=digest(fields, prev),
    )
    result = await verdict(db)
    assert (result.ok, result.bad_seq, result.kind) == (False, 5, "inserted_or_moved")


async def test_two_rows_swapped_are_named(db: Database) -> None:
    await sql(db, "UPDATE audit_row SET seq = 100 WHERE seq = 3")
    await sql(db, "UPDATE audit_row SET seq = 3 WHERE seq = 4")
    await sql(db, "UPDATE audit_row SET seq = 4 WHERE seq = 100")
    result = await verdict(db)
    assert (result.ok, result.bad_seq, result.kind) == (False, 3, "inserted_or_moved")


async def test_a_cut_tail_is_seen(db: Database) -> None:
    await sql(db, "DELETE FROM audit_row WHERE seq >= 5")
    result = await verdict(db)
    assert (result.ok, result.bad_seq, result.kind) == (False, 5, "head")


async def test_a_rewritten_chain_is_caught_by_an_earlier_head(db: Database) -> None:
    earlier = (await verdict(db)).head
    await sql(db, "DELETE FROM audit_row")
    await sql(db, "UPDATE audit_chain SET seq = 0, head = :g", g="0" * 64)
    await write_rows(db, 2)
    assert (await verdict(db)).ok  # consistent in itself...
    result = await verdict(db, expect=earlier)
    assert not result.ok and result.kind == "rewritten"  # ...but the noted head is gone


async def _hash_of(db: Database, seq: int) -> str:
    async with db.session() as s:
        row = await s.get(AuditRow, seq)
        assert row is not None
        return row.hash


async def _row_at(db: Database, seq: int) -> datetime:
    async with db.session() as s:
        row = await s.get(AuditRow, seq)
        assert row is not None
        return row.at


def test_the_one_statement_writer_hashes_what_the_writer_hashes() -> None:
    """`numbering.spliced` leaves a gap for the previous hash that the database fills in:
    the bytes either side of it are exactly the canonical encoding's."""
    fields = {
        "at": datetime(2026, 11, 28, 15, 0, 0, 123456, tzinfo=UTC),
        "actor": "u1",
        "role": "officer",
        "action": "collection",
        "object_type": "alert",
        "object_id": 'a"1\\é',
        "reason": None,
        "detail": "alert raised; her positions are kept while it is open",
    }
    prev = "ab" * 32
    pre, post = spliced(fields)
    assert pre + prev.encode() + post == canonical(fields, prev)
    assert hashlib.sha256(pre + prev.encode() + post).hexdigest() == digest(fields, prev)

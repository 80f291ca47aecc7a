"""The one writer of public reports: batches, a bounded queue, every waiter answered."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from dispatch.public_reports.models import PublicReport, PublicReportContact
from dispatch.public_reports.writer import BATCH, ReportWriter
from dispatch.storage.db import Database

NOW = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)


def rows(contact: str = "") -> tuple[PublicReport, PublicReportContact | None]:
    report = PublicReport(
        id=uuid.uuid4().hex, received_at=NOW, occurred_at=NOW, kind="other", lat=52.0, lon=-2.7
    )
    return report, PublicReportContact(report_id=report.id, contact=contact) if contact else None


async def test_a_full_queue_refuses_at_once_and_the_rest_are_stored_in_batches(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/w.db")
    await db.create_tables()
    try:
        writer = ReportWriter(limit=BATCH + 10)
        batch = [rows(contact="call me" if n % 2 else "") for n in range(BATCH + 40)]
        waits = [writer.submit(db, r) for r in batch]  # all before the writer runs once
        accepted = [w for w in waits if w is not None]
        assert len(accepted) == BATCH + 10 and waits[BATCH + 10 :] == [None] * 30
        await asyncio.gather(*accepted)
        assert len(writer) == 0
        async with db.session() as s:
            stored = {r.id for r in (await s.exec(select(PublicReport))).all()}
            contacts = (await s.exec(select(PublicReportContact))).all()
        assert stored == {r.id for r, _ in batch[: BATCH + 10]}
        assert {c.report_id for c in contacts} == {r.id for r, c in batch[: BATCH + 10] if c}
    finally:
        await db.close()


async def test_a_failed_write_is_told_to_its_waiters_and_the_next_goes_on(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/w.db")
    await db.create_tables()
    try:
        writer = ReportWriter(limit=10)
        first = rows()
        ok = writer.submit(db, first)
        assert ok is not None
        await ok
        again = writer.submit(db, (PublicReport(**first[0].model_dump()), None))  # same id
        assert again is not None
        with pytest.raises(IntegrityError):
            await again
        later = writer.submit(db, rows())
        assert later is not None
        await later
    finally:
        await db.close()

"""The public's reports written to the database by one writer, in small batches.

A submission waits for its batch's commit (a report is stored before "received"), but
however many arrive, at most one public transaction is open at a time: a flood never
holds the database's writer from the alert path for more than one short batch. When
`limit` reports are already waiting, a new one is refused at once (503 busy).
"""

from __future__ import annotations

import asyncio
import logging

from dispatch.public_reports.models import PublicReport, PublicReportContact
from dispatch.storage.db import Database

BATCH = 50
log = logging.getLogger(__name__)

Rows = tuple[PublicReport, PublicReportContact | None]


class ReportWriter:
    def __init__(self, *, limit: int) -> None:
        self.limit = limit
        self._waiting: list[tuple[Rows, asyncio.Future[None]]] = []
        self._flushing: asyncio.Task[None] | None = None

    def submit(self, db: Database, rows: Rows) -> asyncio.Future[None] | None:
        """A future done when the rows are committed; None if too many are waiting."""
        if len(self._waiting) >= self.limit:
            return None
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((rows, done))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush(db), name="public-report-writer")
        return done

    async def _flush(self, db: Database) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:BATCH], self._waiting[BATCH:]
            try:
                async with db.session() as session:
                    session.add_all([report for (report, _), _ in batch])
                    contacts = [contact for (_, contact), _ in batch if contact is not None]
                    if contacts:
                        await session.flush()  # the reports first: contacts refer to them
                        session.add_all(contacts)
                    await session.commit()
            except Exception as exc:  # every waiting submission hears of it
                log.warning("public reports not stored: %s", type(exc).__name__)
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    def __len__(self) -> int:
        return len(self._waiting)

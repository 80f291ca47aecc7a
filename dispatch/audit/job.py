"""The daily purge (APScheduler, started in the lifespan), and the async entry points the
CLI uses: `purge` and `verify`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import cast

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlmodel import Session

from dispatch.audit.chain import ensure_chain
from dispatch.audit.retention import Keep, Purge, purge_in
from dispatch.audit.verify import Verdict, verify_in
from dispatch.config import RetentionSettings
from dispatch.storage.db import Database

log = logging.getLogger("dispatch.retention")


def keep_of(settings: RetentionSettings) -> Keep:
    return Keep(
        crew_positions_h=settings.crew_positions_h,
        incident_tracks_days=settings.incident_tracks_days,
        alert_personal_days=settings.alert_personal_days,
        events_days=settings.events_days,
        audit_days=settings.audit_days,
    )


async def purge(db: Database, keep: Keep, now: datetime, *, dry_run: bool) -> Purge:
    async with db.session() as s:
        result = await s.run_sync(
            lambda ss: purge_in(cast(Session, ss), keep, now, dry_run=dry_run)
        )
        if not dry_run:
            await s.commit()
    return result


async def verify(db: Database, expect: str | None = None) -> Verdict:
    async with db.snapshot_session() as s:
        return await s.run_sync(lambda ss: verify_in(cast(Session, ss), expect))


async def ensure(db: Database) -> None:
    async with db.session() as s:
        await s.run_sync(lambda ss: ensure_chain(ss.connection()))
        await s.commit()


class RetentionJob:
    """Purges once a day at `purge_hour_utc`. Several processes may each run it: a second
    run the same day finds nothing left to erase, or erases what fell due meanwhile."""

    def __init__(
        self, db: Database, settings: RetentionSettings, clock: Callable[[], datetime]
    ) -> None:
        self.db, self.settings, self.clock = db, settings, clock
        self._scheduler: AsyncIOScheduler | None = None

    async def start(self) -> None:
        await ensure(self.db)
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        )
        self._scheduler.add_job(
            self.run, "cron", hour=self.settings.purge_hour_utc, minute=0, id="retention"
        )
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None

    async def run(self) -> Purge | None:
        try:
            result = await purge(self.db, keep_of(self.settings), self.clock(), dry_run=False)
        except Exception:
            log.exception("the retention purge failed; it runs again tomorrow")
            return None
        log.info("retention purge: %d erasures", len(result.erasures))
        return result

    def next_run(self) -> datetime | None:
        job = self._scheduler.get_job("retention") if self._scheduler else None
        return job.next_run_time if job is not None else None

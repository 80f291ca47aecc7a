"""APScheduler carries out published plans; the database is the truth.

Each published, briefed or live deployment has one job, at the time of its next
step (brief, start, end). A job only wakes `run_due`, which asks the database
what is due by the dispatcher's clock and carries it out; so jobs can be rebuilt
at any time, a late or doubled job does no harm, and tests drive time with
their own clock and call `run_due` instead of waiting. At start-up the jobs are
rebuilt from the database after catching up: a deployment whose start passed
while the server was down starts late, one whose end passed too is missed.
Several server processes may all run this: each step is a row-locked,
state-checked transaction, so it happens once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlmodel import col, select

from dispatch.core.deployments import SCHEDULED, Step, next_step_at
from dispatch.storage.models import Deployment
from dispatch.usecases.dispatcher import Dispatcher
from schemas.views import DeploymentState

log = logging.getLogger("dispatch.scheduler")

RETRY_AFTER = timedelta(seconds=30)  # a step that failed (the database was away) is tried again


class OperationsScheduler:
    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self._scheduler: AsyncIOScheduler | None = None

    async def start(self) -> None:
        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._scheduler.start()
        await self.rebuild()

    def stop(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None

    async def rebuild(self) -> dict[str, list[Step]]:
        """Catch up with what fell due while the server was down, then give every
        scheduled deployment its job."""
        done = await self.run_due()
        async with self.dispatcher.db.session() as s:
            ids = (
                await s.exec(select(Deployment.id).where(col(Deployment.state).in_(SCHEDULED)))
            ).all()
        await self.schedule(list(ids))
        return done

    async def run_due(self) -> dict[str, list[Step]]:
        """Carry out every step due now. Returns the steps taken, by deployment id."""
        now = self.dispatcher.clock()
        done: dict[str, list[Step]] = {}
        for dep_id in await self.dispatcher.deployments.due_deployments(now):
            try:
                steps = await self.dispatcher.deployments.carry_out(dep_id)
            except Exception:
                log.exception("could not carry out deployment %s; retrying soon", dep_id)
                self._retry(dep_id)
                continue
            if steps:
                done[dep_id] = steps
                if Step.MISS in steps:
                    log.warning("deployment %s was missed: the server was down through it", dep_id)
                elif Step.START in steps:
                    log.info("deployment %s is live", dep_id)
        await self.schedule(list(done))
        return done

    async def schedule(self, deployment_ids: Sequence[str]) -> None:
        """Put each deployment's job at its next step, or remove it when none is left."""
        if self._scheduler is None:
            return
        lead = self.dispatcher.deployments.brief_lead()
        async with self.dispatcher.db.session() as s:
            for dep_id in deployment_ids:
                dep = await s.get(Deployment, dep_id)
                at = (
                    next_step_at(DeploymentState(dep.state), dep.starts_at, dep.ends_at, lead)
                    if dep is not None
                    else None
                )
                if at is None:
                    if self._scheduler.get_job(dep_id) is not None:
                        self._scheduler.remove_job(dep_id)
                    continue
                self._scheduler.add_job(
                    self.run_due,
                    "date",
                    run_date=at,
                    id=dep_id,
                    replace_existing=True,
                    name=f"deployment {dep_id}",
                )

    def _retry(self, dep_id: str) -> None:
        if self._scheduler is not None:
            self._scheduler.add_job(
                self.run_due,
                "date",
                run_date=datetime.now(UTC) + RETRY_AFTER,
                id=dep_id,
                replace_existing=True,
                name=f"deployment {dep_id} (retry)",
            )

    def jobs(self) -> dict[str, datetime]:
        """Each deployment's next wake-up (what `healthz` and the tests look at)."""
        if self._scheduler is None:
            return {}
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs()}

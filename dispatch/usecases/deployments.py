"""Deployments carried out: brief, go live, stand down, as the scheduler finds them due.

Each step is one transaction on a row-locked deployment that checks its state
again, so two processes (or a job and a catch-up) never carry a step out twice.
Going live puts the team's crews on duty; standing down takes them off duty
unless they are working an alert (which carries on) or another live deployment
needs them. Alerts are never touched by a stand-down.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select

from dispatch.audit import Action, by
from dispatch.core.deployments import SCHEDULED, Step, due_steps, move_deployment, target_state
from dispatch.core.lifecycle import move_crew
from dispatch.storage.models import Deployment, DeploymentMember, Offer
from dispatch.usecases.briefs import emit_deployment, team_of
from dispatch.usecases.context import Context
from dispatch.usecases.offering import Offering
from dispatch.usecases.work import Tx
from schemas.views import CrewState, DeploymentState, OfferState

TEAM_VISIBLE_BEFORE = frozenset({DeploymentState.BRIEFED, DeploymentState.LIVE})


class Deployments:
    def __init__(self, ctx: Context, offering: Offering) -> None:
        self.ctx, self.offering = ctx, offering

    def brief_lead(self) -> timedelta:
        return timedelta(minutes=self.ctx.settings.scheduler.brief_lead_min)

    async def due_deployments(self, now: datetime) -> list[str]:
        """Ids of published, briefed or live deployments with a step due at `now`."""
        horizon = now + self.brief_lead()
        async with self.ctx.db.session() as s:
            rows = (
                await s.exec(
                    select(Deployment).where(
                        col(Deployment.state).in_(list(SCHEDULED)),
                        col(Deployment.starts_at) <= horizon,
                    )
                )
            ).all()
        lead = self.brief_lead()
        return [
            d.id
            for d in rows
            if due_steps(DeploymentState(d.state), d.starts_at, d.ends_at, now, lead)
        ]

    async def carry_out(self, deployment_id: str) -> list[Step]:
        """Carry out whatever is due for one deployment now. Returns the steps taken."""
        lead, late_after = self.brief_lead(), self.ctx.settings.scheduler.late_after_s

        def carry(tx: Tx) -> list[Step]:
            dep = tx.session.get(Deployment, deployment_id, with_for_update=True)
            if dep is None:
                return []
            was = DeploymentState(dep.state)
            steps = due_steps(was, dep.starts_at, dep.ends_at, tx.now, lead)
            for step in steps:
                dep.state = move_deployment(DeploymentState(dep.state), target_state(step))
                if step == Step.BRIEF:
                    dep.briefed_at = tx.now
                elif step == Step.START:
                    dep.started_at = tx.now
                    late = (tx.now - dep.starts_at).total_seconds()
                    if late >= late_after:
                        dep.note = f"started {late / 60:.0f} min late (the server was down)"
                    self._crews_on_duty(tx, dep)
                    tx.audit(
                        at=tx.now, action=Action.COLLECTION, object_type="deployment",
                        object_id=dep.id, detail="live: the team's positions are followed",
                        **by(None),
                    )  # fmt: skip
                elif step == Step.END:
                    dep.ended_at = tx.now
                    self.stand_down(tx, dep)
                elif step == Step.MISS:
                    dep.note = "missed: the server was down through the whole deployment"
            if steps:
                dep.updated_at = tx.now
                tx.session.add(dep)
                emit_deployment(tx, dep, was_visible=was in TEAM_VISIBLE_BEFORE)
            return steps

        return await self.ctx.transact(carry)

    def _crews_on_duty(self, tx: Tx, dep: Deployment) -> None:
        _, crews = team_of(tx.session, dep.id)
        for crew in crews:
            if crew.state == CrewState.OFF_DUTY:
                crew.state = move_crew(CrewState.OFF_DUTY, CrewState.AVAILABLE)
                crew.updated_at = tx.now
                tx.session.add(crew)
                tx.emit_crew(crew)

    def stand_down(self, tx: Tx, dep: Deployment) -> None:
        """Take the deployment's crews off duty, except a crew working an alert (it
        finishes, then goes off duty itself) or one another live deployment needs.
        An offer a crew had is withdrawn, so its alert moves on to the next crew."""
        _, crews = team_of(tx.session, dep.id)
        for crew in crews:
            if self._needed_elsewhere(tx, crew.id, dep.id):
                continue
            if crew.state == CrewState.OFFERED and crew.offer_id is not None:
                offer = tx.session.get(Offer, crew.offer_id, with_for_update=True)
                if offer is not None and offer.state == OfferState.OFFERED:
                    self.offering.close_offer(tx, offer, OfferState.WITHDRAWN, "crew stood down")
            if crew.state == CrewState.AVAILABLE:
                crew.state = move_crew(CrewState.AVAILABLE, CrewState.OFF_DUTY)
                crew.updated_at = tx.now
                tx.session.add(crew)
                tx.emit_crew(crew)

    @staticmethod
    def _needed_elsewhere(tx: Tx, crew_id: str, deployment_id: str) -> bool:
        other = tx.session.exec(
            select(Deployment.id)
            .join(DeploymentMember, col(DeploymentMember.deployment_id) == col(Deployment.id))
            .where(
                DeploymentMember.crew_id == crew_id,
                Deployment.state == DeploymentState.LIVE,
                Deployment.id != deployment_id,
            )
        )
        return other.first() is not None

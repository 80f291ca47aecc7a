"""Plans: generate, change (pin, move, delete), publish and cancel (supervisors only).

The planner runs in a worker process (`PlannerPool`). Every change recomputes the
plan's figures and warns when the plan became more predictable; a move that
breaks a rule is refused. Deployments the team may already know about (from the
brief on) are announced to it when they move or are cancelled.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from dispatch.audit import Action, record_by
from dispatch.auth.sessions import Viewer
from dispatch.core.deployments import EDITABLE, move_deployment
from dispatch.planning import check_rules, compare
from dispatch.planning.model import Deployment as Planned
from dispatch.planning.model import Figures, Problem, Violation
from dispatch.storage.models import Deployment, DeploymentMember, Operation, Place
from dispatch.usecases.briefs import emit_deployment
from dispatch.usecases.context import UseCaseError
from dispatch.usecases.operation_rows import (
    deployment_view,
    figures_json,
    operation_view,
    problem_of,
)
from dispatch.usecases.operations import (
    CANCELLED,
    DRAFT,
    PUBLISHED,
    OperationCases,
    changed_settings,
    delete_planned,
    new_id,
)
from dispatch.usecases.work import Work
from schemas.errors import ErrorCode
from schemas.operations import (
    DeploymentChange,
    DeploymentView,
    OperationChange,
    OperationView,
    PlanChange,
    PlanView,
)
from schemas.views import DeploymentState

D = DeploymentState
COUNTED = frozenset({D.PLANNED, D.PUBLISHED, D.BRIEFED, D.LIVE, D.ENDED})  # in the figures
BRIEFED_OR_LIVE = frozenset({D.BRIEFED, D.LIVE})
# Settings that leave a draft's plan as it is (check-ins: how her live deployments run).
NAMING = frozenset({"name", "area", "checkin_interval_min"})


async def _teams(s: AsyncSession, ids: Sequence[str]) -> dict[str, tuple[list[str], list[str]]]:
    teams: dict[str, tuple[list[str], list[str]]] = {i: ([], []) for i in ids}
    if ids:
        rows = await s.exec(
            select(DeploymentMember)
            .where(col(DeploymentMember.deployment_id).in_(list(ids)))
            .order_by(col(DeploymentMember.id))
        )
        for m in rows.all():
            if m.user_id is not None:
                teams[m.deployment_id][0].append(m.user_id)
            if m.crew_id is not None:
                teams[m.deployment_id][1].append(m.crew_id)
    return teams


class PlanCases(OperationCases):
    async def _deployments(self, s: AsyncSession, op: Operation) -> list[Deployment]:
        rows = await s.exec(
            select(Deployment)
            .where(Deployment.operation_id == op.id)
            .order_by(col(Deployment.starts_at), col(Deployment.id))
        )
        return list(rows.all())

    async def plan(self, key: str) -> PlanView:
        async with self.db.session() as s:
            op = await self.operation(s, key)
            places = await self.places_of(s, op.id)
            deps = await self._deployments(s, op)
            return PlanView(
                operation=operation_view(op, places),
                deployments=await self._views(s, deps, places),
            )

    async def _views(
        self, s: AsyncSession, deps: Sequence[Deployment], places: Sequence[Place]
    ) -> list[DeploymentView]:
        names = {p.id: p.name for p in places}
        teams = await _teams(s, [d.id for d in deps])
        return [deployment_view(d, names.get(d.place_id, "?"), *teams[d.id]) for d in deps]

    async def _planned(self, s: AsyncSession, deps: Sequence[Deployment]) -> list[Planned]:
        teams = await _teams(s, [d.id for d in deps])
        return [
            Planned(
                place_id=d.place_id,
                start=d.starts_at,
                end=d.ends_at,
                officers=tuple(teams[d.id][0]),
                crews=tuple(teams[d.id][1]),
                pinned=d.pinned,
            )
            for d in deps
        ]

    # -- generating ----------------------------------------------------------------

    async def generate(self, key: str, actor: Viewer | None = None) -> PlanView:
        """A new plan: the pinned deployments stay, every other planned one is replaced.
        Officers, crews, places and times are joined: a combination row in the trail."""
        async with self.db.session() as s:
            op = await self._draft(s, key)
            places = await self.places_of(s, op.id)
            if not places:
                raise UseCaseError(ErrorCode.INVALID, "Add places before generating a plan.")
            pinned_rows = [d for d in await self._deployments(s, op) if d.pinned]
            pinned = await self._planned(s, pinned_rows)
        problem = problem_of(op, places, pinned, tolerance=self.settings.planning.tolerance)
        problem = self._from_now_on(problem)
        plan = await self.planner.generate(problem)
        drawn_for = op.updated_at
        async with self.dispatcher.work() as w:
            op = await self._draft(w.session, op.id)
            if op.updated_at != drawn_for:
                raise UseCaseError(
                    ErrorCode.CONFLICT,
                    "The operation changed while its plan was drawn: generate again.",
                )
            await delete_planned(w.session, op.id)
            for planned in plan.deployments:
                if not planned.pinned:
                    _add_deployment(w, op.id, planned)
            op.figures = figures_json(plan.figures)
            op.warnings = json.dumps(list(plan.warnings))
            op.updated_at = w.now
            w.session.add(op)
            await record_by(
                w.session, actor, w.now, Action.COMBINATION, "plan", op.id,
                f"plan generated: {_joined(plan.deployments)}",
            )  # fmt: skip
        return await self.plan(op.id)

    def _from_now_on(self, problem: Problem) -> Problem:
        """Nothing is planned in the past, nor so soon that its team could not be briefed
        in time: the window the planner draws in starts at the next full hour after
        now + `scheduler.brief_lead_min`."""
        soon = self.dispatcher.clock() + timedelta(minutes=self.settings.scheduler.brief_lead_min)
        start = soon.replace(minute=0, second=0, microsecond=0)
        start += timedelta(hours=1) if start < soon else timedelta(0)
        if start >= problem.window_end:
            raise UseCaseError(
                ErrorCode.INVALID,
                "The planning window is over, or ends before a team could be briefed: "
                "edit the window.",
            )
        return replace(problem, window_start=max(problem.window_start, start))

    # -- a draft's settings ----------------------------------------------------------------

    async def edit(
        self, key: str, change: OperationChange, actor: Viewer | None = None
    ) -> OperationView:
        """Change a draft's settings, validated as on create. A change to anything but the
        name or area drops the unpinned planned deployments and the figures (the plan is
        generated again); it is refused while a pinned deployment would break a rule."""
        async with self.dispatcher.work() as w:
            op = await self.operation(w.session, key)
            if op.state != DRAFT:
                raise UseCaseError(
                    ErrorCode.ILLEGAL_TRANSITION,
                    f"The operation is {op.state}: its settings can no longer be changed.",
                )
            body = changed_settings(op, change)
            values = self.columns_for(body)
            await self._check_team(w.session, body.officer_ids, body.crew_ids)
            await self._check_name(w.session, body.name, other_than=op.id)
            changed = [k for k, v in values.items() if getattr(op, k) != v]
            replanned = any(k not in NAMING for k in changed)
            if replanned:
                await self._check_pinned(w.session, Operation(**{**op.model_dump(), **values}))
                await delete_planned(w.session, op.id)
                op.figures, op.warnings = None, "[]"
            for column, value in values.items():
                setattr(op, column, value)
            op.updated_at = w.now
            w.session.add(op)
            if changed:  # nothing changed, nothing altered: no row
                dropped = "; its unpinned plan dropped" if replanned else ""
                await record_by(
                    w.session, actor, w.now, Action.ALTERATION, "operation", op.id,
                    f"changed: {', '.join(changed)}{dropped}",
                )  # fmt: skip
        return await self.view(op.id)

    async def _check_pinned(self, s: AsyncSession, op: Operation) -> None:
        """Refuse (rule_broken) when a pinned deployment breaks a rule of `op` (new settings)."""
        pinned = [d for d in await self._deployments(s, op) if d.pinned and d.state == D.PLANNED]
        if not pinned:
            return
        places = await self.places_of(s, op.id)
        problem = problem_of(op, places, tolerance=self.settings.planning.tolerance)
        broken = check_rules(problem, await self._planned(s, pinned))
        if broken:
            dep = pinned[broken[0].deployments[0]]
            name = next((p.name for p in places if p.id == dep.place_id), dep.place_id)
            start = dep.starts_at.astimezone(ZoneInfo(op.timezone))
            raise UseCaseError(
                ErrorCode.RULE_BROKEN,
                f"The new settings break a rule ({broken[0].rule}) for the pinned deployment "
                f"at {name}, {start:%a %d %b %H:%M} ({op.timezone}): {_reason(broken[0])}. "
                "Unpin or move it first; nothing was changed.",
            )

    # -- changing one deployment -------------------------------------------------------

    async def change(self, key: str, deployment_id: str, change: DeploymentChange) -> PlanChange:
        async with self.db.session() as s:
            op = await self.operation(s, key)
            dep = await self._deployment_of(s, op, deployment_id)
            places = await self.places_of(s, op.id)
            start, end = _moved(dep, change)
            place_id = change.place_id or dep.place_id
            moves = (start, end, place_id) != (dep.starts_at, dep.ends_at, dep.place_id)
            if moves and D(dep.state) not in EDITABLE:
                raise UseCaseError(
                    ErrorCode.ILLEGAL_TRANSITION,
                    f"This deployment is {dep.state}: it can no longer be moved.",
                )
            if place_id not in {p.id for p in places}:
                raise UseCaseError(ErrorCode.NOT_FOUND, "No such place in this operation.")
            others = [d for d in await self._deployments(s, op) if D(d.state) in COUNTED]
            planned = await self._planned(s, others)
        index = next(i for i, d in enumerate(others) if d.id == dep.id) if dep in others else None
        if index is not None:
            old = planned[index]
            planned[index] = Planned(
                place_id=place_id,
                start=start,
                end=end,
                officers=old.officers,
                crews=old.crews,
                pinned=dep.pinned if change.pinned is None else change.pinned,
            )
        problem = problem_of(op, places, tolerance=self.settings.planning.tolerance)
        if moves:
            broken = [v for v in check_rules(problem, planned) if index in v.deployments]
            if broken:
                raise UseCaseError(ErrorCode.RULE_BROKEN, broken[0].message)
        figures, warnings = await self._refigure(op, problem, planned if moves else None)
        async with self.dispatcher.work() as w:
            row = await w.session.get(Deployment, dep.id, with_for_update=True)
            assert row is not None
            if moves and D(row.state) not in EDITABLE:
                raise UseCaseError(
                    ErrorCode.ILLEGAL_TRANSITION, f"This deployment is now {row.state}."
                )
            row.starts_at, row.ends_at, row.place_id = start, end, place_id
            if change.pinned is not None:
                row.pinned = change.pinned
            row.updated_at = w.now
            w.session.add(row)
            if moves and D(row.state) != D.PLANNED:
                await w.run(partial(emit_deployment, dep=row))
            await self._store_figures(w, op.id, figures, warnings)
        if moves:
            await self._rescheduled([dep.id])
        return PlanChange(plan=await self.plan(op.id), warnings=warnings)

    async def delete_deployment(self, key: str, deployment_id: str) -> PlanChange:
        """A planned deployment is deleted; a published, briefed or live one is cancelled
        (a live one stands down: its crews go off duty, alerts carry on)."""
        async with self.db.session() as s:
            op = await self.operation(s, key)
            dep = await self._deployment_of(s, op, deployment_id)
            places = await self.places_of(s, op.id)
            others = [
                d
                for d in await self._deployments(s, op)
                if D(d.state) in COUNTED and d.id != dep.id
            ]
            planned = await self._planned(s, others)
        problem = problem_of(op, places, tolerance=self.settings.planning.tolerance)
        figures, warnings = await self._refigure(op, problem, planned)
        async with self.dispatcher.work() as w:
            row = await w.session.get(Deployment, dep.id, with_for_update=True)
            assert row is not None
            await self._withdraw(w, row)
            await self._store_figures(w, op.id, figures, warnings)
        await self._rescheduled([dep.id])
        return PlanChange(plan=await self.plan(op.id), warnings=warnings)

    async def _withdraw(self, w: Work, row: Deployment) -> None:
        state = D(row.state)
        if state == D.PLANNED:
            await w.session.exec(
                delete(DeploymentMember).where(col(DeploymentMember.deployment_id) == row.id)
            )
            await w.session.delete(row)
            return
        row.state = move_deployment(state, D.CANCELLED)
        if state == D.LIVE:
            row.ended_at = w.now
            await w.run(partial(self.dispatcher.deployments.stand_down, dep=row))
        row.updated_at = w.now
        w.session.add(row)
        await w.run(partial(emit_deployment, dep=row, was_visible=state in BRIEFED_OR_LIVE))

    async def _deployment_of(self, s: AsyncSession, op: Operation, dep_id: str) -> Deployment:
        dep = await s.get(Deployment, dep_id)
        if dep is None or dep.operation_id != op.id:
            raise UseCaseError(ErrorCode.NOT_FOUND, "No such deployment in this operation.")
        if D(dep.state) in (D.ENDED, D.MISSED, D.CANCELLED):
            raise UseCaseError(
                ErrorCode.ILLEGAL_TRANSITION, f"This deployment is {dep.state}: it is history."
            )
        return dep

    async def _refigure(
        self, op: Operation, problem: Problem, planned: list[Planned] | None
    ) -> tuple[Figures | None, list[str]]:
        """The plan's figures after a change (None when only a pin changed), and
        warnings where the change made the plan more predictable."""
        if planned is None:
            return None, []
        after = await self.planner.evaluate(problem, planned)
        before = Figures(**json.loads(op.figures)) if op.figures else None
        return after, compare(before, after) if before is not None else []

    async def _store_figures(
        self, w: Work, operation_id: str, figures: Figures | None, warnings: list[str]
    ) -> None:
        if figures is None:
            return
        op = await w.session.get(Operation, operation_id)
        assert op is not None
        op.figures = figures_json(figures)
        op.warnings = json.dumps(warnings)
        op.updated_at = w.now
        w.session.add(op)

    # -- the whole plan --------------------------------------------------------------

    async def publish(self, key: str, actor: Viewer | None = None) -> PlanView:
        """The plan goes to its team (each from the brief on): a disclosure row."""
        async with self.dispatcher.work() as w:
            op = await self.operation(w.session, key)
            if op.state != DRAFT:
                raise UseCaseError(ErrorCode.ILLEGAL_TRANSITION, f"The operation is {op.state}.")
            deps = [d for d in await self._deployments(w.session, op) if d.state == D.PLANNED]
            if not deps:
                raise UseCaseError(ErrorCode.INVALID, "There is no plan to publish: generate one.")
            for dep in deps:
                dep.state = move_deployment(D.PLANNED, D.PUBLISHED)
                dep.updated_at = w.now
                w.session.add(dep)
                await w.run(partial(emit_deployment, dep=dep))
            op.state, op.updated_at = PUBLISHED, w.now
            w.session.add(op)
            ids = [d.id for d in deps]
            teams = await _teams(w.session, ids)
            officers = {u for team, _ in teams.values() for u in team}
            crews = {c for _, team in teams.values() for c in team}
            await record_by(
                w.session, actor, w.now, Action.DISCLOSURE, "plan", op.id,
                f"plan published to its team: {_count(len(officers), 'officer')}, "
                f"{_count(len(crews), 'crew')} ({_count(len(deps), 'deployment')})",
            )  # fmt: skip
        await self._rescheduled(ids)
        return await self.plan(op.id)

    async def cancel(self, key: str) -> PlanView:
        """Cancel the operation: every deployment not over is cancelled, live ones stand
        down (their alerts carry on), and their teams are told."""
        async with self.dispatcher.work() as w:
            op = await self.operation(w.session, key)
            if op.state == CANCELLED:
                raise UseCaseError(ErrorCode.ILLEGAL_TRANSITION, "The operation is cancelled.")
            ids = []
            for dep in await self._deployments(w.session, op):
                if D(dep.state) in EDITABLE | {D.LIVE}:
                    ids.append(dep.id)
                    if dep.state == D.PLANNED:
                        dep.state, dep.updated_at = D.CANCELLED, w.now
                        w.session.add(dep)
                    else:
                        await self._withdraw(w, dep)
            op.state, op.updated_at = CANCELLED, w.now
            w.session.add(op)
        await self._rescheduled(ids)
        return await self.plan(op.id)


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"


def _joined(deployments: Sequence[Planned]) -> str:
    """What a generated plan joins: '12 deployments: 4 officers, 2 crews, 5 places'."""
    officers = {u for d in deployments for u in d.officers}
    crews = {c for d in deployments for c in d.crews}
    places = {d.place_id for d in deployments}
    return (
        f"{_count(len(deployments), 'deployment')}: {_count(len(officers), 'officer')}, "
        f"{_count(len(crews), 'crew')}, {_count(len(places), 'place')}"
    )


def _reason(violation: Violation) -> str:
    """A violation's text without the planner's deployment numbers."""
    text = re.sub(r" \(deployments \d+ and \d+(: ([^)]*))?\)$", r" (\2)", violation.message)
    text = text.removesuffix(" ()")
    single = re.match(r"deployment \d+ at \S+ (.*)$", text)
    return f"it {single.group(1)}" if single else text


def _moved(dep: Deployment, change: DeploymentChange) -> tuple[datetime, datetime]:
    start = change.starts_at or dep.starts_at
    if change.ends_at is not None:
        end = change.ends_at
    elif change.starts_at is not None:
        end = start + (dep.ends_at - dep.starts_at)  # a move keeps the length
    else:
        end = dep.ends_at
    if end <= start:
        raise UseCaseError(ErrorCode.INVALID, "ends_at must be after starts_at.")
    if end - start > timedelta(hours=24):
        raise UseCaseError(ErrorCode.INVALID, "A deployment lasts at most 24 hours.")
    return start, end


def _add_deployment(w: Work, operation_id: str, planned: Planned) -> None:
    dep = Deployment(
        id=new_id(),
        operation_id=operation_id,
        place_id=planned.place_id,
        starts_at=planned.start,
        ends_at=planned.end,
        state=D.PLANNED,
        pinned=False,
        updated_at=w.now,
    )
    w.session.add(dep)
    for user_id in planned.officers:
        w.session.add(DeploymentMember(deployment_id=dep.id, user_id=user_id))
    for crew_id in planned.crews:
        w.session.add(DeploymentMember(deployment_id=dep.id, crew_id=crew_id))

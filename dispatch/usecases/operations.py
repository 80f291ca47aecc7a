"""Operations: create them, give them places, read them (supervisors only).

Planning rows change only while an operation is a draft; a published plan is
changed deployment by deployment (`plans.py`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from dispatch.audit import Action, record_by
from dispatch.auth.sessions import Viewer
from dispatch.config import known_timezone
from dispatch.storage.models import Crew, Deployment, DeploymentMember, Operation, Place, User
from dispatch.usecases.context import UseCaseError
from dispatch.usecases.dispatcher import Dispatcher
from dispatch.usecases.operation_rows import (
    operation_view,
    place_row,
    settings_of,
)
from dispatch.usecases.planner_pool import PlannerPool
from schemas.common import Role
from schemas.errors import ErrorCode
from schemas.operations import (
    OperationChange,
    OperationIn,
    OperationView,
    PlaceIn,
    PlaceWeightsIn,
)

DRAFT, PUBLISHED, CANCELLED = "draft", "published", "cancelled"

ScheduleHook = Callable[[Sequence[str]], Awaitable[None]]


def new_id() -> str:
    return uuid.uuid4().hex


class OperationCases:
    def __init__(self, dispatcher: Dispatcher, planner: PlannerPool) -> None:
        self.dispatcher = dispatcher
        self.db = dispatcher.db
        self.settings = dispatcher.settings
        self.planner = planner
        self.on_schedule_change: ScheduleHook | None = None  # set by the scheduler

    def now(self) -> datetime:
        return self.dispatcher.clock()

    async def _rescheduled(self, deployment_ids: Sequence[str]) -> None:
        if self.on_schedule_change is not None and deployment_ids:
            await self.on_schedule_change(deployment_ids)

    # -- reading ---------------------------------------------------------------

    @staticmethod
    async def operation(s: AsyncSession, key: str) -> Operation:
        """An operation by id or by name."""
        op = await s.get(Operation, key)
        if op is None:
            op = (await s.exec(select(Operation).where(Operation.name == key))).first()
        if op is None:
            raise UseCaseError(ErrorCode.NOT_FOUND, f"No operation {key!r}.")
        return op

    @staticmethod
    async def places_of(s: AsyncSession, operation_id: str) -> list[Place]:
        rows = await s.exec(
            select(Place).where(Place.operation_id == operation_id).order_by(col(Place.name))
        )
        return list(rows.all())

    async def view(self, key: str) -> OperationView:
        async with self.db.session() as s:
            op = await self.operation(s, key)
            return operation_view(op, await self.places_of(s, op.id))

    async def list(self) -> list[OperationView]:
        async with self.db.session() as s:
            ops = (await s.exec(select(Operation).order_by(col(Operation.window_start)))).all()
            return [operation_view(op, await self.places_of(s, op.id)) for op in ops]

    # -- changing ----------------------------------------------------------------

    def columns_for(self, body: OperationIn) -> dict[str, Any]:
        """The operation's columns for `body`'s settings (defaults filled in), after the
        checks that need config: durations, timezone, team sizes (not places)."""
        p = self.settings.planning
        min_d = body.min_duration_min or p.min_duration_min
        max_d = body.max_duration_min or p.max_duration_min
        if max_d < min_d:
            raise UseCaseError(
                ErrorCode.INVALID, "max_duration_min must not be less than min_duration_min."
            )
        try:
            zone = known_timezone(body.timezone or p.timezone)
        except ValueError as exc:
            raise UseCaseError(ErrorCode.INVALID, f"timezone: {exc}") from None
        if len(set(body.officer_ids)) < body.officers_per_deployment:
            raise UseCaseError(
                ErrorCode.INVALID, "The team has fewer officers than one deployment needs."
            )
        if len(set(body.crew_ids)) < body.crews_per_deployment:
            raise UseCaseError(
                ErrorCode.INVALID, "The team has fewer crews than one deployment needs."
            )
        gap = _or(body.rules.place_gap_h, p.place_gap_h)
        gap_min = body.rules.place_gap_min_h
        if gap_min is not None and gap_min > gap:
            raise UseCaseError(
                ErrorCode.INVALID,
                "rules.place_gap_min_h must not be more than place_gap_h (the range's top).",
            )
        ranged = {"place_gap_min_h": gap_min}
        return {
            "name": body.name,
            "area": body.area,
            "timezone": zone,
            "window_start": body.window_start,
            "window_end": body.window_end,
            "deployments": body.deployments,
            "min_duration_min": min_d,
            "max_duration_min": max_d,
            "allowed_hours": json.dumps(sorted(set(body.allowed_hours)))
            if body.allowed_hours
            else "",
            "allowed_weekdays": json.dumps(sorted(set(body.allowed_weekdays)))
            if body.allowed_weekdays
            else "",
            "officer_ids": json.dumps(list(dict.fromkeys(body.officer_ids))),
            "crew_ids": json.dumps(list(dict.fromkeys(body.crew_ids))),
            "officers_per_deployment": body.officers_per_deployment,
            "crews_per_deployment": body.crews_per_deployment,
            "place_gap_h": gap,
            "rest_h": _or(body.rules.rest_h, p.rest_h),
            "per_officer_per_day": body.rules.per_officer_per_day or p.per_officer_per_day,
            "exercise": body.exercise,
            "checkin_interval_min": body.checkin_interval_min,
            **ranged,
        }

    async def create(self, body: OperationIn) -> OperationView:
        values = self.columns_for(body)
        now = self.now()
        async with self.dispatcher.work() as w:
            await self._check_team(w.session, body.officer_ids, body.crew_ids)
            await self._check_name(w.session, body.name)
            op = Operation(id=new_id(), state=DRAFT, created_at=now, updated_at=now, **values)
            w.session.add(op)
            places = [place_row(op.id, new_id(), body_place) for body_place in body.places]
            for place in places:
                w.session.add(place)
        return operation_view(op, sorted(places, key=lambda pl: pl.name))

    @staticmethod
    async def _check_name(s: AsyncSession, name: str, *, other_than: str | None = None) -> None:
        clash = (await s.exec(select(Operation.id).where(Operation.name == name))).first()
        if clash is not None and clash != other_than:
            raise UseCaseError(ErrorCode.CONFLICT, f"An operation named {name!r} exists.")

    async def _check_team(
        self, s: AsyncSession, officer_ids: Sequence[str], crew_ids: Sequence[str]
    ) -> None:
        for user_id in officer_ids:
            user = await s.get(User, user_id)
            if user is None or user.role != Role.OFFICER or user.disabled:
                raise UseCaseError(
                    ErrorCode.INVALID, f"officer_ids: {user_id!r} is not an active officer."
                )
        for crew_id in crew_ids:
            if await s.get(Crew, crew_id) is None:
                raise UseCaseError(ErrorCode.INVALID, f"crew_ids: no crew {crew_id!r}.")

    async def _draft(self, s: AsyncSession, key: str) -> Operation:
        op = await self.operation(s, key)
        if op.state != DRAFT:
            raise UseCaseError(
                ErrorCode.ILLEGAL_TRANSITION,
                f"The operation is {op.state}: its places and plan can no longer be regenerated.",
            )
        return op

    async def add_places(
        self, key: str, places: Sequence[PlaceIn], actor: Viewer | None = None
    ) -> OperationView:
        async with self.dispatcher.work() as w:
            op = await self._draft(w.session, key)
            for body in places:
                w.session.add(place_row(op.id, new_id(), body))
            op.updated_at = w.now
            w.session.add(op)
            n = len(places)
            await record_by(
                w.session, actor, w.now, Action.ALTERATION, "operation", op.id,
                f"places added: {n} ({_names(p.name for p in places)})",
            )  # fmt: skip
        return await self.view(op.id)

    async def delete_place(
        self, key: str, place_id: str, actor: Viewer | None = None
    ) -> OperationView:
        async with self.dispatcher.work() as w:
            op = await self._draft(w.session, key)
            place = await w.session.get(Place, place_id)
            if place is None or place.operation_id != op.id:
                raise UseCaseError(ErrorCode.NOT_FOUND, "No such place in this operation.")
            used = await w.session.exec(
                select(Deployment.id).where(Deployment.place_id == place_id, Deployment.pinned)
            )
            if used.first() is not None:
                raise UseCaseError(
                    ErrorCode.CONFLICT, "A pinned deployment uses this place: unpin it first."
                )
            await delete_planned(w.session, op.id, place_id=place_id)
            await w.session.delete(place)
            op.updated_at = w.now
            w.session.add(op)
            await record_by(
                w.session, actor, w.now, Action.ALTERATION, "operation", op.id,
                f"place deleted: {place.name} ({place.id})",
            )  # fmt: skip
        return await self.view(op.id)

    async def set_weights(
        self, key: str, change: PlaceWeightsIn, actor: Viewer | None = None
    ) -> OperationView:
        """New risk and hourly weights for some of a draft's places (e.g. derived from the
        public's reports). The drawn plan no longer follows risk: its unpinned planned
        deployments and figures are dropped (generate again); pinned ones stay."""
        async with self.dispatcher.work() as w:
            op = await self._draft(w.session, key)
            places = {p.id: p for p in await self.places_of(w.session, op.id)}
            ids = [p.id for p in change.places]
            if len(set(ids)) != len(ids):
                raise UseCaseError(ErrorCode.INVALID, "places: a place is given twice.")
            unknown = [i for i in ids if i not in places]
            if unknown:
                raise UseCaseError(
                    ErrorCode.NOT_FOUND, f"No place {unknown[0]!r} in this operation."
                )
            changed = []
            for body in change.places:
                place = places[body.id]
                hourly = json.dumps(body.hourly) if body.hourly is not None else None
                if place.risk == body.risk and place.hourly == hourly:
                    continue
                changed.append(f"{place.name} risk {place.risk:g} -> {body.risk:g}")
                place.risk, place.hourly = body.risk, hourly
                w.session.add(place)
            if changed:  # nothing changed, nothing altered: no row, the plan stays
                await delete_planned(w.session, op.id)
                op.figures, op.warnings = None, "[]"
                op.updated_at = w.now
                w.session.add(op)
                source = f" ({change.source})" if change.source else ""
                await record_by(
                    w.session, actor, w.now, Action.ALTERATION, "operation", op.id,
                    f"place weights{source}: {_names(changed, 5)}; its unpinned plan dropped",
                )  # fmt: skip
        return await self.view(op.id)


def changed_settings(op: Operation, change: OperationChange) -> OperationIn:
    """The operation's settings with `change` applied, validated as a new operation's
    body is (every field and cross-field rule of `OperationIn`)."""
    body = settings_of(op)
    given = change.model_dump(exclude_unset=True)
    if given.get("exercise", False) is None:
        del given["exercise"]  # null: stays as it is (a drill or not)
    if "rules" in given:
        rules = given.pop("rules")
        body["rules"] = {} if rules is None else {**body["rules"], **rules}
    body.update(given)
    try:
        return OperationIn.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise UseCaseError(
            ErrorCode.INVALID, f"{where}: {message}." if where else f"{message}."
        ) from None


def _names(names: Iterable[str], most: int = 10) -> str:
    """'a, b, c' (at most `most`, then '+ n more')."""
    listed = list(names)
    shown = ", ".join(listed[:most])
    return f"{shown} + {len(listed) - most} more" if len(listed) > most else shown


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


async def delete_planned(
    s: AsyncSession, operation_id: str, *, place_id: str | None = None
) -> None:
    """Delete the operation's unpinned, never-published deployments (and their teams)."""
    query = select(Deployment.id).where(
        Deployment.operation_id == operation_id,
        Deployment.state == "planned",
        col(Deployment.pinned).is_(False),
    )
    if place_id is not None:
        query = query.where(Deployment.place_id == place_id)
    ids = list((await s.exec(query)).all())
    if ids:
        await s.exec(delete(DeploymentMember).where(col(DeploymentMember.deployment_id).in_(ids)))
        await s.exec(delete(Deployment).where(col(Deployment.id).in_(ids)))

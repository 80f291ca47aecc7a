"""Deployment rows to their wire views, and deployment events with their audience."""

from __future__ import annotations

from sqlmodel import Session, col, select

from dispatch.realtime.events import KIND_DEPLOYMENT, PendingEvent
from dispatch.storage.models import Crew, Deployment, DeploymentMember, Operation, Place, User
from dispatch.usecases.operation_rows import route_of
from dispatch.usecases.work import Tx
from schemas.views import (
    TEAM_VISIBLE_DEPLOYMENT_STATES,
    DeploymentBrief,
    DeploymentState,
    PlaceShape,
)


def place_shape(place: Place) -> PlaceShape:
    return PlaceShape(
        name=place.name,
        lat=place.lat,
        lon=place.lon,
        radius_m=place.radius_m,
        route=route_of(place),
    )


def team_of(session: Session, deployment_id: str) -> tuple[list[User], list[Crew]]:
    members = (
        session.exec(
            select(DeploymentMember)
            .where(DeploymentMember.deployment_id == deployment_id)
            .order_by(col(DeploymentMember.id))
        )
    ).all()
    users, crews = [], []
    for m in members:
        if m.user_id is not None and (user := session.get(User, m.user_id)) is not None:
            users.append(user)
        if m.crew_id is not None and (crew := session.get(Crew, m.crew_id)) is not None:
            crews.append(crew)
    return users, crews


def live_deployment_of(session: Session, officer_id: str) -> str | None:
    """The live deployment this officer is on, if any: an alert she raises belongs to it."""
    row = session.exec(
        select(Deployment.id)
        .join(DeploymentMember, col(DeploymentMember.deployment_id) == col(Deployment.id))
        .where(DeploymentMember.user_id == officer_id, Deployment.state == DeploymentState.LIVE)
        .order_by(col(Deployment.starts_at).desc())
    )
    return row.first()


def load_brief(session: Session, dep: Deployment) -> DeploymentBrief:
    operation = session.get(Operation, dep.operation_id)
    place = session.get(Place, dep.place_id)
    assert operation is not None and place is not None
    users, crews = team_of(session, dep.id)
    return DeploymentBrief(
        id=dep.id,
        operation=operation.name,
        state=DeploymentState(dep.state),
        starts_at=dep.starts_at,
        ends_at=dep.ends_at,
        place=place_shape(place),
        officers=[u.display_name for u in users],
        crews=[c.callsign for c in crews],
        officer_ids=[u.id for u in users],
        crew_ids=[c.id for c in crews],
        exercise=operation.exercise,
    )


def emit_deployment(w: Tx, dep: Deployment, *, was_visible: bool = False) -> None:
    """Queue the deployment's event. Its team is in the audience from the brief on (and
    for the change that takes it out of their sight); supervisors see every change."""
    brief = load_brief(w.session, dep)
    visible = was_visible or DeploymentState(dep.state) in TEAM_VISIBLE_DEPLOYMENT_STATES
    w.pending.append(
        PendingEvent(
            KIND_DEPLOYMENT,
            dep.id,
            brief.model_dump_json(),
            None,
            tuple(brief.crew_ids) if visible else (),
            tuple(brief.officer_ids) if visible else (),
        )
    )

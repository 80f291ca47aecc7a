"""The core's hot statements, built once: SQLAlchemy Core on the connection, no ORM
unit of work, so that an alert costs a handful of cheap statements."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite

from dispatch.storage import driver_sql
from dispatch.storage.models import Alert, Crew, Deployment, DeploymentMember, Offer
from schemas.views import CrewState

ALERTS, CREWS, OFFERS = Alert.__table__, Crew.__table__, Offer.__table__  # type: ignore[attr-defined]
DEPLOYMENTS, MEMBERS = Deployment.__table__, DeploymentMember.__table__  # type: ignore[attr-defined]

CLAIM_CREW = (
    update(CREWS)
    .where(CREWS.c.id == bindparam("b_crew"), CREWS.c.state == CrewState.AVAILABLE.value)
    .values(
        state=CrewState.OFFERED.value,
        offer_id=bindparam("b_offer"),
        updated_at=bindparam("b_now"),
    )
    .returning(CREWS.c.id, CREWS.c.callsign, CREWS.c.mode, CREWS.c.state, CREWS.c.alert_id)
)

INSERT_OFFER = insert(OFFERS)

NEW_ALERT = {
    "sqlite": sqlite.insert(ALERTS).on_conflict_do_nothing(index_elements=["id"]),
    "postgresql": postgresql.insert(ALERTS).on_conflict_do_nothing(index_elements=["id"]),
}


def insert_new_alert(conn: Connection, values: dict[str, Any]) -> bool:
    """Insert the alert unless its id is taken (a resend, or the same raise through
    another process at the same moment). True when this call stored it."""
    return driver_sql.execute(conn, NEW_ALERT[conn.dialect.name], values).rowcount == 1


def alert_values(alert: Alert) -> dict[str, Any]:
    return {c.name: getattr(alert, c.name) for c in ALERTS.columns}


def offer_values(offer: Offer) -> dict[str, Any]:
    return {c.name: getattr(offer, c.name) for c in OFFERS.columns}

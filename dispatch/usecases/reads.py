"""The core's hot reads: Core statements built once, their rows built as table objects
(`transient.build`) that are copies, to read and describe, never to change or add.

Through the ORM, an alert's life (accepted, on scene, resolved) read its attached crews
eight times, each a select of two entities built anew (its statement and cache key each
time), an autoflush and two instrumented objects a row: about 1.4 ms of the event loop
each here, 45 % of those transactions. Here a read is one prepared statement and plain
objects. The caller's session is flushed first (`Tx.flushed_conn`), as the ORM's own
autoflush would, so a read sees what the transaction changed.

A step that changes these rows reads them through its session instead
(`Tx.attached_in_session`, `Tx.open_offers_in_session`).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Connection, Select, Table, bindparam, select
from sqlmodel import SQLModel

from dispatch.storage.models import Crew, Offer
from dispatch.storage.transient import build
from dispatch.usecases.statements import CREWS, OFFERS
from schemas.views import OfferState

M = TypeVar("M", bound=SQLModel)

_OFFER_NAMES = [c.name for c in OFFERS.columns]
_CREW_NAMES = [c.name for c in CREWS.columns]

# Crews that accepted the alert (or were assigned by hand) and are still attached to it,
# in order of acceptance. A crew a supervisor released is no longer attached. (The
# session's readers in `work` use the same criteria.)
IS_ATTACHED = (
    OFFERS.c.alert_id == bindparam("b_alert"),
    OFFERS.c.state == OfferState.ACCEPTED.value,
    OFFERS.c.withdrawn_by.is_(None),
)
ATTACHED_ORDER = (OFFERS.c.accepted_at, OFFERS.c.id)
IS_OPEN = (OFFERS.c.alert_id == bindparam("b_alert"), OFFERS.c.state == OfferState.OFFERED.value)

ATTACHED: Select[Any] = (
    select(*OFFERS.columns, *CREWS.columns)
    .join_from(OFFERS, CREWS, CREWS.c.id == OFFERS.c.crew_id)
    .where(*IS_ATTACHED)
    .order_by(*ATTACHED_ORDER)
)

OPEN_OFFERS: Select[Any] = select(*OFFERS.columns).where(*IS_OPEN)

# Offers of the alert no longer open: who declined, let it lapse or was withdrawn.
CLOSED_OFFERS: Select[Any] = select(
    OFFERS.c.crew_id, OFFERS.c.state, OFFERS.c.closed_at, OFFERS.c.withdrawn_by
).where(OFFERS.c.alert_id == bindparam("b_alert"), OFFERS.c.state != OfferState.OFFERED.value)


def attached(conn: Connection, alert_id: str) -> list[tuple[Offer, Crew]]:
    split = len(_OFFER_NAMES)
    out = []
    for row in conn.execute(ATTACHED, {"b_alert": alert_id}):
        offer = build(Offer, **dict(zip(_OFFER_NAMES, row[:split], strict=True)))
        crew = build(Crew, **dict(zip(_CREW_NAMES, row[split:], strict=True)))
        out.append((offer, crew))
    return out


def open_offers(conn: Connection, alert_id: str) -> list[Offer]:
    return [
        build(Offer, **dict(zip(_OFFER_NAMES, row, strict=True)))
        for row in conn.execute(OPEN_OFFERS, {"b_alert": alert_id})
    ]


def closed_offers(
    conn: Connection, alert_id: str
) -> list[tuple[str, str, datetime | None, str | None]]:
    """(crew id, state, closed at, withdrawn by) of each of the alert's closed offers."""
    return [
        (row[0], row[1], row[2], row[3])
        for row in conn.execute(CLOSED_OFFERS, {"b_alert": alert_id})
    ]


@cache
def _by_id(table: Table, for_update: bool) -> tuple[Select[Any], list[str]]:
    """SELECT every column of `table` WHERE id = :b_id [FOR UPDATE: on SQLite no clause,
    its writer holds the whole database]."""
    statement = select(*table.columns).where(table.c.id == bindparam("b_id"))
    if for_update:
        statement = statement.with_for_update()
    return statement, [c.name for c in table.columns]


def row(conn: Connection, cls: type[M], row_id: str, *, for_update: bool) -> M | None:
    """The row of table class `cls` with this id (locked for update if asked), a copy."""
    statement, names = _by_id(cls.__table__, for_update)  # type: ignore[attr-defined]
    found = conn.execute(statement, {"b_id": row_id}).first()
    return None if found is None else build(cls, **dict(zip(names, found, strict=True)))

"""Units of work: one transaction whose events are numbered at commit and published after
it, and whose in-memory effects run only once it has committed.

`Tx` is the dispatch core's: synchronous, over a sync session, run by the `Store` in one
go (no thread hand-off per statement). `Work` is the slower paths' (plans, people,
deployments): an async ORM session; `Work.run` calls a `Tx` function inside it, so both
share one transaction and one list of events.

Numbering takes a block of sequence numbers from a row-locked counter as the last
statement before the commit, so sequence order is commit order, and the lock is held
only for the insert of the events and the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, insert, inspect, update
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from dispatch.audit.chain import record_in, row_fields
from dispatch.realtime.events import KIND_ALERT, KIND_CREW, KIND_OFFER, PendingEvent, StoredEvent
from dispatch.storage import row_update
from dispatch.storage.models import EVENT_SEQ, Alert, Counter, Crew, Event, Offer
from dispatch.storage.store import SessionUnit, Unit
from dispatch.usecases import reads
from dispatch.usecases.numbering import finish, numbered
from dispatch.usecases.views import alert_view, crew_view, offer_view
from schemas.views import AssignmentStatus, CrewView

T = TypeVar("T")
M = TypeVar("M", bound=SQLModel)


# `reads.ATTACHED` and `reads.OPEN_OFFERS` as the session's own objects. Built once.
_ATTACHED_IN_SESSION = (
    select(Offer, Crew)
    .join(Crew, col(Crew.id) == col(Offer.crew_id))
    .where(*reads.IS_ATTACHED)
    .order_by(*reads.ATTACHED_ORDER)
)
_OPEN_IN_SESSION = select(Offer).where(*reads.IS_OPEN)


def attached_crews(session: Session, alert_id: str) -> list[tuple[Offer, Crew]]:
    rows = session.exec(_ATTACHED_IN_SESSION, params={"b_alert": alert_id})
    return [(o, c) for o, c in rows.all()]


async def attached_crews_async(session: AsyncSession, alert_id: str) -> list[tuple[Offer, Crew]]:
    rows = await session.exec(_ATTACHED_IN_SESSION, params={"b_alert": alert_id})
    return [(o, c) for o, c in rows.all()]


_COUNTERS, _EVENTS = Counter.__table__, Event.__table__  # type: ignore[attr-defined]
# Core, built once: the row lock on the counter is held from here to the commit.
TAKE_NUMBERS = (
    update(_COUNTERS)
    .where(_COUNTERS.c.name == EVENT_SEQ)
    .values(value=_COUNTERS.c.value + bindparam("b_n"))
    .returning(_COUNTERS.c.value)
)
STORE_EVENTS = insert(_EVENTS)


def _rows(events: list[StoredEvent], now: datetime) -> list[dict[str, Any]]:
    return [e.row_values(now) for e in events]


@dataclass
class Changes:
    """What a transaction changed beyond its rows: events to number and publish, and
    effects on memory to run once it has committed."""

    now: datetime
    pending: list[PendingEvent] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    events: list[StoredEvent] = field(default_factory=list)
    # Audit rows (`record_in`'s keywords), written just before the events are numbered.
    audits: list[dict[str, Any]] = field(default_factory=list)

    def audit(self, **fields: Any) -> None:
        """An audit row in this transaction (`dispatch.audit.record_in`'s keywords)."""
        self.audits.append(row_fields(**fields))

    def emit_offer(self, offer: Offer, alert: Alert) -> None:
        view = offer_view(offer, alert)
        self.pending.append(
            PendingEvent(KIND_OFFER, offer.id, view.model_dump_json(), None, (offer.crew_id,))
        )

    def emit_alert_with(
        self, alert: Alert, attached: list[tuple[Offer, Crew]], also_crews: tuple[str, ...] = ()
    ) -> None:
        """The alert's event, to her, its attached crews, `also_crews` and the crew it
        is a call for help from."""
        helped = [alert.help_crew_id] if alert.help_crew_id else []  # its call for help
        crews = tuple(dict.fromkeys([c.id for _, c in attached] + list(also_crews) + helped))
        view = alert_view(alert, attached)
        self.pending.append(
            PendingEvent(KIND_ALERT, alert.id, view.model_dump_json(), alert.officer_id, crews)
        )

    def emit_crew(self, crew: Crew) -> None:
        self.emit_crew_view(crew_view(crew))

    def emit_crew_view(self, view: CrewView) -> None:
        self.pending.append(
            PendingEvent(KIND_CREW, view.id, view.model_dump_json(), None, (view.id,))
        )


@dataclass
class Tx(Changes):
    """A synchronous transaction of the dispatch core."""

    unit: Unit = field(default=None)  # type: ignore[assignment]

    @property
    def session(self) -> Session:
        """The transaction's ORM session (on SQLite, made on first use)."""
        return self.unit.session

    @property
    def conn(self) -> Connection:
        """The transaction's connection, for Core statements (no ORM unit of work)."""
        return self.unit.conn

    def flushed_conn(self) -> Connection:
        """The connection, once the session's changes are written (as the ORM's own
        autoflush does before a query): Core reads see what this transaction did."""
        self.unit.flush()
        return self.unit.conn

    def get(self, cls: type[M], row_id: str, *, for_update: bool = False) -> M | None:
        """`session.get(cls, row_id, with_for_update=for_update)` at half the cost: the
        session's own object if it holds one, else the row read by Core, built, and
        added to the session as the stored row it is."""
        session = self.session
        conn = self.flushed_conn()  # first: a new object is in the identity map once flushed
        held = session.identity_map.get((cls, (row_id,), None))
        if held is not None:
            if for_update and reads.row(conn, cls, row_id, for_update=True) is None:
                return None  # locked now, as `session.get` would (its values stay)
            return held
        obj = reads.row(conn, cls, row_id, for_update=for_update)
        if obj is not None:
            make_transient_to_detached(obj)  # no history: nothing to write back
            session.add(obj)
        return obj

    def write(self, obj: SQLModel, **values: Any) -> None:
        """Change `obj`'s stored row now (`row_update`: one Core UPDATE, nothing left for
        the session to flush), after whatever the session holds, in the order written."""
        if not inspect(obj).persistent:  # a copy (`reads`) or a new object: not a stored row
            raise TypeError(f"Tx.write: {type(obj).__name__} is not the session's stored row")
        self.unit.flush()
        row_update.write(self.unit.conn, obj, values)

    def attached(self, alert_id: str) -> list[tuple[Offer, Crew]]:
        """The alert's attached crews and their offers: copies (`reads`), to read."""
        return reads.attached(self.flushed_conn(), alert_id)

    def open_offers(self, alert_id: str) -> list[Offer]:
        """The alert's open offers: copies (`reads`), to read."""
        return reads.open_offers(self.flushed_conn(), alert_id)

    def attached_in_session(self, alert_id: str) -> list[tuple[Offer, Crew]]:
        """`attached` as the session's own objects, for a step that changes them."""
        return attached_crews(self.session, alert_id)

    def open_offers_in_session(self, alert_id: str) -> list[Offer]:
        """`open_offers` as the session's own objects, for a step that changes them."""
        return list(self.session.exec(_OPEN_IN_SESSION, params={"b_alert": alert_id}).all())

    def emit_alert(
        self,
        alert: Alert,
        *,
        also_crews: tuple[str, ...] = (),
        attached: list[tuple[Offer, Crew]] | None = None,
    ) -> None:
        """The alert's event; `attached` when the caller knows them (a new alert: none)."""
        attached = self.attached(alert.id) if attached is None else attached
        self.emit_alert_with(alert, attached, also_crews)

    def number_events(self) -> None:
        """The last statements before the commit: take the numbers, store the events."""
        if not self.pending and not self.audits:
            return
        self.events = finish(
            self.conn,
            now=self.now,
            audits=self.audits,
            pending=self.pending,
            take_numbers=TAKE_NUMBERS,
            store_events=STORE_EVENTS,
        )


@dataclass
class Work(Changes):
    """An async transaction of the slower paths (plans, people, deployments)."""

    session: AsyncSession = field(default=None)  # type: ignore[assignment]

    async def run(self, fn: Callable[[Tx], T]) -> T:
        """A dispatch-core step inside this transaction, sharing its events and effects."""

        def step(session: Any) -> T:
            unit = SessionUnit(session)
            tx = Tx(self.now, self.pending, self.after_commit, audits=self.audits, unit=unit)
            return fn(tx)

        return await self.session.run_sync(step)

    async def number_events(self) -> None:
        if self.audits:
            audits = self.audits[:]
            await self.session.run_sync(lambda s: [record_in(s, **a) for a in audits])
        if not self.pending:
            return
        conn = await self.session.connection()
        last = int((await conn.execute(TAKE_NUMBERS, {"b_n": len(self.pending)})).scalar_one())
        self.events = numbered(self.pending, last)
        await conn.execute(STORE_EVENTS, _rows(self.events, self.now))


def assignment_of(offer: Offer) -> AssignmentStatus:
    """The assignment status of an accepted offer (en route until the crew says otherwise)."""
    return AssignmentStatus(offer.assignment_status or AssignmentStatus.EN_ROUTE)


def is_active_assignment(offer: Offer) -> bool:
    return offer.assignment_status in (AssignmentStatus.EN_ROUTE, AssignmentStatus.ON_SCENE)

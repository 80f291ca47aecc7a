"""Reading alerts for the incident log and the reports: the search, the rows each
alert's figures and timeline are built from (offers, notes, names), and the alerts of a
report (an operation's, a date range's, or both) as plain columns. Reads only."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from operator import itemgetter

from sqlalchemy import ColumnElement, and_, case, exists, func, or_
from sqlalchemy import select as select_columns
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from dispatch.storage.models import (
    Alert,
    AlertNote,
    AlertTrack,
    Crew,
    Deployment,
    IncidentMessage,
    Offer,
    Operation,
    Place,
    User,
)
from dispatch.usecases.context import UseCaseError
from ops_console.report_figures import AlertColumns, AlertFacts, OfferTimes, facts_of
from ops_console.timeline import Names
from schemas.errors import ErrorCode
from schemas.views import OPEN_ALERT_STATES


@dataclass(frozen=True)
class Search:
    """The log's filters; every one optional."""

    terms: tuple[str, ...] = ()
    states: frozenset[str] | None = None
    operation_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


# -- the cursor: the last row seen, so the next page starts after it ------------------------


def encode_cursor(alert: AlertFacts) -> str:
    raw = f"{alert.raised_at.isoformat()}|{alert.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, alert_id = raw.split("|", 1)
        when = datetime.fromisoformat(at)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise UseCaseError(
            ErrorCode.INVALID, "cursor: not a cursor this server gave; start again without it."
        ) from None
    if when.tzinfo is None or not alert_id:
        raise UseCaseError(
            ErrorCode.INVALID, "cursor: not a cursor this server gave; start again without it."
        )
    return when, alert_id


# -- the search --------------------------------------------------------------------------------


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matches(term: str) -> ColumnElement[bool]:
    """The alert mentions `term` (any case) in one of the things a supervisor searches by."""
    pattern = _like(term)

    def has(column: object) -> ColumnElement[bool]:
        return col(column).ilike(pattern, escape="\\")

    by_crew = exists(
        select(Offer.id)
        .join(Crew, col(Crew.id) == col(Offer.crew_id))
        .where(col(Offer.alert_id) == col(Alert.id), has(Crew.callsign))
    )
    outcome_words = func.replace(col(Alert.outcome), "_", " ").ilike(pattern, escape="\\")
    return or_(
        has(Alert.id),
        has(User.display_name),
        has(User.username),
        has(Alert.category),
        has(Alert.note),
        has(Alert.outcome),
        outcome_words,
        has(Alert.outcome_note),
        has(Place.name),
        has(Operation.name),
        by_crew,
    )


def _query(search: Search) -> SelectOfScalar[Alert]:
    query = (
        select(Alert)
        .join(User, col(User.id) == col(Alert.officer_id))
        .outerjoin(Deployment, col(Deployment.id) == col(Alert.deployment_id))
        .outerjoin(Place, col(Place.id) == col(Deployment.place_id))
        .outerjoin(Operation, col(Operation.id) == col(Deployment.operation_id))
    )
    for term in search.terms:
        query = query.where(_matches(term))
    if search.states is not None:
        query = query.where(col(Alert.state).in_(sorted(search.states)))
    if search.operation_id is not None:
        query = query.where(col(Deployment.operation_id) == search.operation_id)
    if search.since is not None:
        query = query.where(col(Alert.raised_at) >= search.since)
    if search.until is not None:
        query = query.where(col(Alert.raised_at) < search.until)
    return query


async def find_alerts(
    s: AsyncSession, search: Search, *, limit: int, after: tuple[datetime, str] | None = None
) -> list[Alert]:
    """Alerts that match, newest first (ties by id), starting after the cursor's row."""
    query = _query(search)
    if after is not None:
        at, alert_id = after
        query = query.where(
            or_(
                col(Alert.raised_at) < at,
                and_(col(Alert.raised_at) == at, col(Alert.id) < alert_id),
            )
        )
    query = query.order_by(col(Alert.raised_at).desc(), col(Alert.id).desc()).limit(limit)
    return list((await s.exec(query)).all())


def open_states() -> frozenset[str]:
    return frozenset(state.value for state in OPEN_ALERT_STATES)


# -- what each alert's figures and timeline are built from ------------------------------------


@dataclass(frozen=True)
class Context:
    """For a set of alerts: their offers and the names of everyone and everywhere in them."""

    offers: dict[str, list[Offer]]  # alert id -> its offers, oldest first
    people: dict[str, str]  # user id -> display name
    callsigns: dict[str, str]  # crew id -> callsign
    places: dict[str, tuple[str, str]]  # deployment id -> (operation name, place name)

    def facts(self, alert: Alert) -> AlertFacts:
        operation, place = self.places.get(alert.deployment_id or "", (None, None))
        offers = self.offers.get(alert.id, [])
        first_offer = min((o.created_at for o in offers), default=None)
        return facts_of(
            columns_of(alert, first_offer),
            [times_of(o) for o in offers],
            officer=self.people.get(alert.officer_id, "?"),
            callsigns=self.callsigns,
            operation=operation,
            place=place,
        )

    def names(self, alert: Alert) -> Names:
        _, place = self.places.get(alert.deployment_id or "", (None, None))
        return Names(self.people, self.callsigns, place)


def columns_of(alert: Alert, first_offer_at: datetime | None = None) -> AlertColumns:
    return AlertColumns(
        alert.id,
        alert.raised_at,
        alert.closed_at,
        alert.state,
        alert.urgent,
        alert.category,
        alert.outcome,
        alert.pressed_at,
        first_offer_at,
        alert.exercise,
    )


def times_of(offer: Offer) -> OfferTimes:
    return OfferTimes(offer.crew_id, offer.accepted_at, offer.on_scene_at)


BATCH = 5000  # ids per IN (...): PostgreSQL's driver takes at most 32,767 parameters


def batches(ids: Collection[str]) -> Iterator[list[str]]:
    items = list(ids)
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


async def context_for(
    s: AsyncSession, alerts: Sequence[Alert], notes: Sequence[AlertNote] = ()
) -> Context:
    ids = [a.id for a in alerts]
    offers: dict[str, list[Offer]] = {i: [] for i in ids}
    for batch in batches(ids):
        rows = await s.exec(select(Offer).where(col(Offer.alert_id).in_(batch)))
        for offer in rows.all():
            offers[offer.alert_id].append(offer)
    for found in offers.values():
        found.sort(key=lambda o: (o.created_at, o.id))
    user_ids = {a.officer_id for a in alerts} | {n.user_id for n in notes if n.user_id}
    for alert_offers in offers.values():
        for o in alert_offers:
            user_ids |= {u for u in (o.assigned_by, o.withdrawn_by) if u}
    crew_ids = {o.crew_id for found in offers.values() for o in found}
    crew_ids |= {n.crew_id for n in notes if n.crew_id}
    people: dict[str, str] = {}
    for batch in batches(user_ids):
        users = await s.exec(select(User.id, User.display_name).where(col(User.id).in_(batch)))
        people.update({uid: name for uid, name in users.all()})
    callsigns: dict[str, str] = {}
    for batch in batches(crew_ids):
        crews = await s.exec(select(Crew.id, Crew.callsign).where(col(Crew.id).in_(batch)))
        callsigns.update({cid: callsign for cid, callsign in crews.all()})
    dep_ids = {a.deployment_id for a in alerts if a.deployment_id}
    places: dict[str, tuple[str, str]] = {}
    for batch in batches(dep_ids):
        rows3 = await s.exec(
            select(Deployment.id, Operation.name, Place.name)
            .join(Operation, col(Operation.id) == col(Deployment.operation_id))
            .join(Place, col(Place.id) == col(Deployment.place_id))
            .where(col(Deployment.id).in_(batch))
        )
        places.update({dep: (op, place) for dep, op, place in rows3.all()})
    return Context(offers, people, callsigns, places)


@dataclass(frozen=True)
class Story:
    alert: Alert
    notes: list[AlertNote]
    context: Context
    track_points: int
    messages: list[IncidentMessage] = field(default_factory=list)  # with its crews


async def story_of(s: AsyncSession, alert_id: str) -> Story:
    alert = await s.get(Alert, alert_id)
    if alert is None:
        raise UseCaseError(ErrorCode.NOT_FOUND, f"No alert {alert_id!r}.")
    notes = list(
        (
            await s.exec(
                select(AlertNote)
                .where(AlertNote.alert_id == alert_id)
                .order_by(col(AlertNote.at), col(AlertNote.id))
            )
        ).all()
    )
    track = await s.exec(
        select(func.count()).select_from(AlertTrack).where(AlertTrack.alert_id == alert_id)
    )
    said = await s.exec(
        select(IncidentMessage)
        .where(IncidentMessage.alert_id == alert_id)
        .order_by(col(IncidentMessage.at), col(IncidentMessage.id))
    )
    context = await context_for(s, [alert], notes)
    return Story(alert, notes, context, int(track.one()), list(said.all()))


# -- the alerts of a report: an operation's, a date range's, or both -------------------------


@dataclass(frozen=True)
class ReportScope:
    """Which alerts a report covers: those raised during one of the operation's
    deployments (when given), and raised in [since, until) (each when given). Without an
    operation every alert counts, inside an operation or not."""

    operation_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def operation_facts(s: AsyncSession, operation: Operation) -> list[AlertFacts]:
    """The facts of every alert raised during one of the operation's deployments."""
    return await report_facts(s, ReportScope(operation_id=operation.id))


async def report_facts(s: AsyncSession, scope: ReportScope) -> list[AlertFacts]:
    """The facts of every alert in the scope, oldest first (ties by id), in one query (no
    list of ids, so no limit on their number). It reads only the columns the facts are
    made of, as plain rows: each alert with its officer's, operation's and place's names,
    once per offer that a crew accepted (or was assigned by hand) or reached the scene
    in, or once alone when it has none; the other offers add nothing to the facts."""
    counts = or_(col(Offer.accepted_at).is_not(None), col(Offer.on_scene_at).is_not(None))
    # Its first offer, for the time from her press (only alerts whose phone said when).
    first = Offer.__table__.alias("first_offer")  # type: ignore[attr-defined]
    first_offer = (
        select_columns(func.min(first.c.created_at))
        .where(first.c.alert_id == col(Alert.id))
        .correlate(Alert)
        .scalar_subquery()
    )
    query = (
        select_columns(
            col(Alert.id),
            col(Alert.raised_at),
            col(Alert.closed_at),
            col(Alert.state),
            col(Alert.urgent),
            col(Alert.category),
            col(Alert.outcome),
            col(Alert.pressed_at),
            case((col(Alert.pressed_at).is_not(None), first_offer), else_=None),
            col(User.display_name),
            col(Operation.name),
            col(Place.name),
            col(Alert.exercise),
            col(Offer.crew_id),
            col(Crew.callsign),
            col(Offer.accepted_at),
            col(Offer.on_scene_at),
        )
        .join(User, col(User.id) == col(Alert.officer_id))
        .outerjoin(Deployment, col(Deployment.id) == col(Alert.deployment_id))
        .outerjoin(Operation, col(Operation.id) == col(Deployment.operation_id))
        .outerjoin(Place, col(Place.id) == col(Deployment.place_id))
        .outerjoin(Offer, and_(col(Offer.alert_id) == col(Alert.id), counts))
        .outerjoin(Crew, col(Crew.id) == col(Offer.crew_id))
        .order_by(col(Alert.raised_at), col(Alert.id))  # an alert's rows come together
    )
    if scope.operation_id is not None:
        query = query.where(col(Deployment.operation_id) == scope.operation_id)
    if scope.since is not None:
        query = query.where(col(Alert.raised_at) >= scope.since)
    if scope.until is not None:
        query = query.where(col(Alert.raised_at) < scope.until)
    rows = (await (await s.connection()).execute(query)).all()
    facts: list[AlertFacts] = []
    callsigns: dict[str, str] = {}
    for _, group in groupby(rows, key=itemgetter(0)):
        lines = list(group)
        offers: list[OfferTimes] = []
        for *_, crew_id, callsign, accepted_at, on_scene_at in lines:
            if crew_id is not None:  # None: the alert has no such offer
                offers.append(OfferTimes(crew_id, accepted_at, on_scene_at))
            if callsign is not None:
                callsigns[crew_id] = callsign
        alert_id, raised, closed, state, urgent, category, outcome, pressed, offered = lines[0][:9]
        officer, op, place, exercise = lines[0][9:13]
        facts.append(
            facts_of(
                AlertColumns(
                    alert_id,
                    raised,
                    closed,
                    state,
                    urgent,
                    category,
                    outcome,
                    pressed,
                    offered,
                    bool(exercise),
                ),
                offers,
                officer=officer,
                callsigns=callsigns,
                operation=op if place is not None else None,
                place=place,
            )
        )
    return facts

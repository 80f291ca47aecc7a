"""The incident log: every alert, searchable, and each one's timeline (supervisors only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from dispatch.app_deps import ServicesDep
from dispatch.usecases.context import UseCaseError
from dispatch.usecases.operations import OperationCases
from ops_console.alert_rows import (
    Search,
    context_for,
    decode_cursor,
    encode_cursor,
    find_alerts,
    open_states,
    story_of,
)
from ops_console.audit_trail import viewed
from ops_console.deps import Supervisor
from ops_console.report_figures import AlertFacts
from ops_console.timeline import timeline
from schemas.common import Model
from schemas.errors import ErrorCode
from schemas.views import AlertState

router = APIRouter(prefix="/api/console", tags=["console"])

MAX_TERMS = 8
STATE_CHOICES = ", ".join(["open", *(s.value for s in AlertState)])


class AlertRow(Model):
    id: str
    raised_at: datetime
    closed_at: datetime | None
    officer: str
    state: str
    urgent: bool
    category: str | None
    outcome: str | None
    crews: list[str]
    operation: str | None
    place: str | None
    accept_s: float | None
    on_scene_s: float | None
    exercise: bool = False  # a drill


class AlertLog(Model):
    alerts: list[AlertRow]
    next_cursor: str | None  # give it back as `cursor` for the next, older page


class TimelineEntry(Model):
    at: datetime
    kind: str
    text: str
    who: str | None = None
    crew: str | None = None


class AlertStory(Model):
    alert: AlertRow
    note: str | None
    outcome_note: str | None
    close_reason: str | None
    taken_by: str | None
    lat: float
    lon: float
    track_points: int
    timeline: list[TimelineEntry]


def row_of(facts: AlertFacts) -> AlertRow:
    return AlertRow(
        id=facts.id,
        raised_at=facts.raised_at,
        closed_at=facts.closed_at,
        officer=facts.officer,
        state=facts.state,
        urgent=facts.urgent,
        category=facts.category,
        outcome=facts.outcome,
        crews=list(facts.crews),
        operation=facts.operation,
        place=facts.place,
        accept_s=facts.accept_s,
        on_scene_s=facts.on_scene_s,
        exercise=facts.exercise,
    )


def _aware(name: str, value: datetime | None) -> datetime | None:
    if value is not None and value.utcoffset() is None:
        raise UseCaseError(
            ErrorCode.INVALID, f"{name}: give the time with its zone, e.g. 2026-11-24T20:00:00Z."
        )
    return value


def _states(state: str | None) -> frozenset[str] | None:
    if state is None or state == "":
        return None
    if state == "open":
        return open_states()
    if state not in {s.value for s in AlertState}:
        raise UseCaseError(ErrorCode.INVALID, f"state: {state!r} is not one of {STATE_CHOICES}.")
    return frozenset({state})


async def _search(
    s: ServicesDep,
    q: str,
    state: str | None,
    operation: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Search:
    terms = tuple(q.split())
    if len(terms) > MAX_TERMS:
        raise UseCaseError(ErrorCode.INVALID, f"q: search with at most {MAX_TERMS} words.")
    since, until = _aware("since", since), _aware("until", until)
    if since is not None and until is not None and since >= until:
        raise UseCaseError(ErrorCode.INVALID, "until: must be after since.")
    operation_id = None
    if operation:
        async with s.db.session() as session:
            try:
                operation_id = (await OperationCases.operation(session, operation)).id
            except UseCaseError:
                raise UseCaseError(
                    ErrorCode.INVALID, f"operation: there is no operation {operation!r}."
                ) from None
    return Search(terms, _states(state), operation_id, since, until)


@router.get("/alerts", response_model=AlertLog)
async def alert_log(
    _: Supervisor,
    s: ServicesDep,
    q: Annotated[str, Query(max_length=200)] = "",
    state: Annotated[str | None, Query(max_length=16)] = None,
    operation: Annotated[str | None, Query(max_length=100)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> AlertLog:
    """The alert log, newest first. `q` matches (any case, every word) the officer's name,
    the category, note and outcome, a crew's callsign, the alert id, the operation's or
    the place's name. `state` is one state or `open`; `operation` an id or a name;
    `since`/`until` bound the time raised (ISO 8601 with a zone). Pages: pass
    `next_cursor` back as `cursor`."""
    search = await _search(s, q, state, operation, since, until)
    after = decode_cursor(cursor) if cursor else None
    async with s.db.session() as session:
        alerts = await find_alerts(session, search, limit=limit + 1, after=after)
        context = await context_for(session, alerts[:limit])
    facts = [context.facts(a) for a in alerts[:limit]]
    more = len(alerts) > limit
    return AlertLog(
        alerts=[row_of(f) for f in facts],
        next_cursor=encode_cursor(facts[-1]) if more and facts else None,
    )


@router.get("/alerts/{alert_id}", response_model=AlertStory)
async def alert_story(alert_id: str, viewer: Supervisor, s: ServicesDep) -> AlertStory:
    """One alert and its timeline, oldest step first."""
    async with s.db.session() as session:
        story = await story_of(session, alert_id)
    await viewed(s, viewer, "alert", story.alert.id, "detail and timeline")
    alert, context = story.alert, story.context
    entries = timeline(alert, context.offers.get(alert.id, []), story.notes, context.names(alert))
    steps = [
        TimelineEntry(at=e.at, kind=e.kind, text=e.text, who=e.who, crew=e.crew) for e in entries
    ]
    # Its messages with the crews (issue 14), in time order among the steps.
    steps += [
        TimelineEntry(
            at=m.at,
            kind="message",
            text=m.text,
            who=m.author if m.crew_id is None else f"{m.author} (crew)",
            crew=m.crew_id,
        )
        for m in story.messages
    ]
    steps.sort(key=lambda e: e.at)
    return AlertStory(
        alert=row_of(context.facts(alert)),
        note=alert.note,
        outcome_note=alert.outcome_note,
        close_reason=alert.close_reason,
        taken_by=alert.taken_by,
        lat=alert.lat,
        lon=alert.lon,
        track_points=story.track_points,
        timeline=steps,
    )

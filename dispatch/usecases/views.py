"""Rows to wire views."""

from __future__ import annotations

from typing import Literal

from dispatch.core.lifecycle import officer_status
from dispatch.storage.models import Alert, Crew, Offer
from schemas.common import AlertCategory, CrewMode, Outcome
from schemas.views import (
    AlertState,
    AlertView,
    AssignedCrew,
    AssignmentStatus,
    CrewState,
    CrewView,
    OfferState,
    OfferView,
)

# How the use cases mark what they store (alerts.DURESS_NOTE, the close reasons of
# supervision and alerts): read back here so that crews and supervisors get plain fields.
DURESS_MARK = "DURESS:"
SUPERVISOR_CLOSES = ("cancelled by a supervisor: ", "closed by a supervisor: ")
ClosedBy = Literal["officer", "supervisor", "crew"]
# Alert.position_source while her position is unknown: ranked by her deployment's place,
# or by nothing (no crew is offered it; lat/lon mean nothing).
POSITION_BY_PLACE, POSITION_UNKNOWN = "place", "unknown"


def closed_by(alert: Alert) -> tuple[ClosedBy | None, str | None]:
    """Who ended a closed alert, and a supervisor's reason in their own words."""
    state = AlertState(alert.state)
    if state not in (AlertState.CANCELLED, AlertState.RESOLVED):
        return None, None
    reason = alert.close_reason or ""
    for prefix in SUPERVISOR_CLOSES:
        if reason.startswith(prefix):
            return "supervisor", reason.removeprefix(prefix)
    return ("officer" if state == AlertState.CANCELLED else "crew"), None


def alert_view(alert: Alert, attached: list[tuple[Offer, Crew]]) -> AlertView:
    state = AlertState(alert.state)
    by, reason = closed_by(alert)
    return AlertView(
        id=alert.id,
        officer_id=alert.officer_id,
        state=state,
        status=officer_status(state),
        urgent=alert.urgent,
        crews_needed=alert.crews_needed,
        category=AlertCategory(alert.category) if alert.category else None,
        note=alert.note,
        lat=None if alert.position_source == POSITION_UNKNOWN else alert.lat,
        lon=None if alert.position_source == POSITION_UNKNOWN else alert.lon,
        accuracy=alert.accuracy,
        raised_at=alert.raised_at,
        updated_at=alert.updated_at,
        crews=[
            AssignedCrew(
                crew_id=crew.id,
                offer_id=offer.id,
                callsign=crew.callsign,
                mode=CrewMode(crew.mode),
                status=AssignmentStatus(offer.assignment_status or AssignmentStatus.EN_ROUTE),
                eta_s=round(offer.eta_s, 1),
                accepted_at=offer.accepted_at or offer.created_at,
            )
            for offer, crew in attached
        ],
        outcome=Outcome(alert.outcome) if alert.outcome else None,
        outcome_note=alert.outcome_note,
        taken_by=alert.taken_by,
        duress=(alert.note or "").startswith(DURESS_MARK),
        closed_by=by,
        close_reason=reason,
        pressed_at=alert.pressed_at,
        press_clamped=bool(alert.press_clamped),
        position_unknown=alert.position_source is not None,
        exercise=alert.exercise,
        help_crew_id=alert.help_crew_id,
        origin=alert.origin,
    )


def offer_view(offer: Offer, alert: Alert) -> OfferView:
    return OfferView(
        id=offer.id,
        alert_id=offer.alert_id,
        crew_id=offer.crew_id,
        state=OfferState(offer.state),
        created_at=offer.created_at,
        deadline=offer.deadline,
        distance_m=round(offer.distance_m, 1),
        eta_s=round(offer.eta_s, 1),
        urgent=alert.urgent,
        category=AlertCategory(alert.category) if alert.category else None,
        note=alert.note,
        exercise=alert.exercise,
        help_crew_id=alert.help_crew_id,
    )


def crew_view(crew: Crew) -> CrewView:
    return CrewView(
        id=crew.id,
        callsign=crew.callsign,
        mode=CrewMode(crew.mode),
        state=CrewState(crew.state),
        alert_id=crew.alert_id,
        offer_id=crew.offer_id,
    )

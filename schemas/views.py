"""What clients see of alerts, offers and crews, and their states.

A client's state is a map of these views by id. It is built from a `snapshot`
and kept current by `alert`, `offer`, `crew` and `alert.removed` events.
Closed offers and closed alerts leave the state (after their final event).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from schemas.common import AlertCategory, CrewMode, Model, Outcome, UtcDateTime


class AlertState(StrEnum):
    RAISED = "raised"
    DISPATCHING = "dispatching"
    ASSIGNED = "assigned"
    ON_SCENE = "on_scene"
    RESOLVED = "resolved"
    UNASSIGNED = "unassigned"  # escalated to supervisors; retried as crews become free
    CANCELLED = "cancelled"


class OfferState(StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class CrewState(StrEnum):
    OFF_DUTY = "off_duty"
    AVAILABLE = "available"
    OFFERED = "offered"
    ASSIGNED = "assigned"


class DeploymentState(StrEnum):
    PLANNED = "planned"
    PUBLISHED = "published"
    BRIEFED = "briefed"  # the team has been told; from here the team sees it
    LIVE = "live"
    ENDED = "ended"
    MISSED = "missed"  # the server was down through the whole window
    CANCELLED = "cancelled"


TEAM_VISIBLE_DEPLOYMENT_STATES = frozenset(
    {DeploymentState.BRIEFED, DeploymentState.LIVE, DeploymentState.ENDED}
)


class AssignmentStatus(StrEnum):
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    CLEARED = "cleared"  # resolved, or released by a cancel


class OfficerStatus(StrEnum):
    """What the officer's page shows, derived from the alert."""

    RECEIVED = "received"
    CREW_ASSIGNED = "crew_assigned"
    CREW_ON_SCENE = "crew_on_scene"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


OPEN_ALERT_STATES = frozenset(
    {
        AlertState.RAISED,
        AlertState.DISPATCHING,
        AlertState.ASSIGNED,
        AlertState.ON_SCENE,
        AlertState.UNASSIGNED,
    }
)


class AssignedCrew(Model):
    crew_id: str
    offer_id: str = Field(
        description="The accepted offer: a supervisor withdraws it to release the crew."
    )
    callsign: str
    mode: CrewMode
    status: AssignmentStatus
    eta_s: float = Field(description="Estimated travel time when the offer was made.")
    accepted_at: UtcDateTime


class AlertView(Model):
    id: str
    officer_id: str
    state: AlertState
    status: OfficerStatus
    urgent: bool
    crews_needed: int
    category: AlertCategory | None
    note: str | None
    lat: float | None = Field(
        description="Where the alert was raised; live positions come as `position`. "
        "With `position_unknown`: her live deployment's place, or null with none."
    )
    lon: float | None
    accuracy: float | None
    raised_at: UtcDateTime = Field(description="When the server received it.")
    updated_at: UtcDateTime
    crews: list[AssignedCrew] = Field(description="Crews that accepted, still attached.")
    outcome: Outcome | None = None
    outcome_note: str | None = None
    taken_by: str | None = Field(
        None, description="The supervisor who took an unassigned or urgent alert in hand."
    )
    duress: bool = Field(
        False,
        description="She 'cancelled' with her duress PIN: treat as urgent; her page still "
        "shows a cancel.",
    )
    closed_by: Literal["officer", "supervisor", "crew"] | None = Field(
        None, description="Who ended a closed alert: she cancelled, a supervisor, the crew."
    )
    close_reason: str | None = Field(
        None, description="A supervisor's reason for cancelling or closing it (their words)."
    )
    pressed_at: UtcDateTime | None = Field(
        None,
        description="When she pressed: her phone's time corrected by its clock offset; "
        "null when the phone did not say. Response times run from it.",
    )
    press_clamped: bool = Field(
        False,
        description="The corrected press time was after `raised_at` or more than "
        "`pages.max_press_age_s` before it: `pressed_at` is that bound, not her press.",
    )
    position_unknown: bool = Field(
        False,
        description="Her phone had no fix when she raised it and none has come since: "
        "`lat`/`lon` are her live deployment's place (crews are ranked by it), or null.",
    )
    origin: Literal["officer", "checkin", "escort", "crew_help"] = Field(
        "officer",
        description="Who raised it: she did (`officer`), or the system on her behalf: a "
        "missed check-in (`checkin`), her escort timer ran out (`escort`); `crew_help`: "
        "a crew member needs help.",
    )
    exercise: bool = Field(
        False,
        description="A drill: raised during an exercise operation, or marked so by a "
        "supervisor. Offered as usual; every screen says EXERCISE; not in real reports.",
    )
    help_crew_id: str | None = Field(
        None,
        description="Set when a crew called for help (`crew.help`): that crew's id. "
        "`lat`/`lon` are its last fix; its officer is never shown it.",
    )


class OfferView(Model):
    id: str
    alert_id: str
    crew_id: str
    state: OfferState
    created_at: UtcDateTime
    deadline: UtcDateTime
    distance_m: float
    eta_s: float
    urgent: bool
    category: AlertCategory | None
    note: str | None
    exercise: bool = Field(False, description="The alert is a drill (see AlertView).")
    help_crew_id: str | None = Field(None, description="A crew's call for help: its id.")


class CrewView(Model):
    id: str
    callsign: str
    mode: CrewMode
    state: CrewState
    alert_id: str | None = None
    offer_id: str | None = None


class PlaceShape(Model):
    """Where a deployment happens: a point with a radius, or a route (a line of points)."""

    name: str
    lat: float = Field(description="The point, or the start of the route.")
    lon: float
    radius_m: float | None = Field(None, description="Set for a point.")
    route: list[tuple[float, float]] | None = Field(
        None, description="Set for a route: [lat, lon] pairs in walking order."
    )


class DeploymentBrief(Model):
    """One deployment as its team sees it, from the brief on (supervisors see all)."""

    id: str
    operation: str = Field(description="The operation's name.")
    state: DeploymentState
    starts_at: UtcDateTime
    ends_at: UtcDateTime
    place: PlaceShape
    officers: list[str] = Field(description="Display names of the officers deployed.")
    crews: list[str] = Field(description="Callsigns of the crews supporting them.")
    officer_ids: list[str]
    crew_ids: list[str]
    exercise: bool = Field(False, description="Its operation is a drill (an exercise).")


class MessageView(Model):
    """A message on an alert between supervisors and its crews (never its officer)."""

    id: str
    alert_id: str
    at: UtcDateTime
    role: Literal["supervisor", "crew"] = Field(description="Who wrote it.")
    author: str = Field(description="A supervisor's display name or the crew's callsign.")
    crew_id: str | None = Field(None, description="The crew that wrote it, if a crew did.")
    quick: str | None = Field(None, description="The quick reply's code, if one was chosen.")
    text: str = Field(description="What to show: the quick reply's words, then free text.")

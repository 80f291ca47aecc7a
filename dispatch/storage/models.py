"""Tables. The database is the truth; memory holds only caches of it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, DateTime, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


class UtcDateTime(TypeDecorator[datetime]):
    """Stores aware UTC datetimes and always gives them back aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: times are UTC and timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=nullable, index=index))


class User(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=32)
    username: str = Field(unique=True, index=True, max_length=64)
    display_name: str = Field(max_length=100)
    role: str = Field(max_length=16)
    password_hash: str
    crew_id: str | None = Field(default=None, foreign_key="crew.id", index=True)
    disabled: bool = False
    failed_logins: int = 0
    locked_until: datetime | None = utc_column(nullable=True)
    created_at: datetime = utc_column()
    # Officers: two 4-digit PINs, hashed. The cancel PIN cancels her alert; the duress
    # PIN looks like a cancel on her screen but escalates it. Wrong PINs lock like sign-ins.
    cancel_pin_hash: str | None = None
    duress_pin_hash: str | None = None
    pin_failures: int | None = None
    pin_locked_until: datetime | None = utc_column(nullable=True)
    # Supervisors' second factor (dispatch/auth/second_factor.py): the TOTP secret (sealed),
    # when it was confirmed, the last time step used, the unused recovery codes' hashes,
    # and the password step waiting for its code (its hash and when it lapses).
    totp_secret: str | None = None
    totp_enrolled_at: datetime | None = utc_column(nullable=True)
    totp_last_step: int | None = None
    recovery_hashes: str | None = None
    second_step_hash: str | None = Field(default=None, max_length=64)
    second_step_until: datetime | None = utc_column(nullable=True)


class SessionToken(SQLModel, table=True):
    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(foreign_key="user.id", index=True)
    created_at: datetime = utc_column()
    expires_at: datetime = utc_column()


class Crew(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=32)
    callsign: str = Field(unique=True, index=True, max_length=32)
    mode: str = Field(max_length=8)
    state: str = Field(max_length=16, index=True)
    alert_id: str | None = Field(default=None, max_length=64)
    offer_id: str | None = Field(default=None, max_length=32)
    last_lat: float | None = None
    last_lon: float | None = None
    last_accuracy: float | None = None
    last_fix_at: datetime | None = utc_column(nullable=True)
    updated_at: datetime = utc_column()


class Alert(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    officer_id: str = Field(foreign_key="user.id", index=True)
    state: str = Field(max_length=16, index=True)
    urgent: bool = False
    crews_needed: int = 1
    category: str | None = Field(default=None, max_length=16)
    note: str | None = Field(default=None, max_length=500)
    lat: float
    lon: float
    accuracy: float | None = None
    raised_at: datetime = utc_column(index=True)  # the console's log pages by it
    updated_at: datetime = utc_column()
    closed_at: datetime | None = utc_column(nullable=True)
    outcome: str | None = Field(default=None, max_length=32)
    outcome_note: str | None = Field(default=None, max_length=500)
    close_reason: str | None = Field(default=None, max_length=500)
    deployment_id: str | None = Field(default=None, max_length=32, index=True)
    # The supervisor who took it (display name), so the console's alarm stops for everyone.
    taken_by: str | None = Field(default=None, max_length=100)
    # When she pressed (core/press_time): corrected by her phone's clock offset and
    # bounded (raised_at is when the server heard it); as her phone said; the offset
    # her link measured; whether the corrected time was out of bounds and clamped.
    pressed_at: datetime | None = utc_column(nullable=True)
    phone_pressed_at: datetime | None = utc_column(nullable=True)
    clock_offset_ms: int | None = None
    press_clamped: bool | None = None
    # Raised with no fix: "place" (lat/lon are her live deployment's place, which crews
    # are ranked by) or "unknown" (no place: lat/lon mean nothing, no crew is offered
    # it). None: lat/lon are hers. Her first fix clears it.
    position_source: str | None = Field(default=None, max_length=8)
    # A drill: offered as usual, said EXERCISE on every screen, never counted in real reports.
    exercise: bool = False
    # A crew's call for help (origin "crew_help"): that crew. officer_id is then the
    # member who pressed, lat/lon the crew's fix.
    help_crew_id: str | None = Field(default=None, max_length=32)
    # Who raised it: "officer" (her press, her discreet trigger), "checkin" (the system:
    # she missed a check-in past both graces), "escort" (her escort timer ran out:
    # the server or her phone, one id), "crew_help" (a crew member needs help).
    origin: str = Field(default="officer", max_length=16)


class Offer(SQLModel, table=True):
    """An offer of an alert to a crew; once accepted it is that crew's assignment."""

    id: str = Field(primary_key=True, max_length=32)
    alert_id: str = Field(foreign_key="alert.id", index=True)
    crew_id: str = Field(foreign_key="crew.id", index=True)
    state: str = Field(max_length=16, index=True)
    created_at: datetime = utc_column()
    deadline: datetime = utc_column()
    closed_at: datetime | None = utc_column(nullable=True)
    distance_m: float
    eta_s: float
    reason: str | None = Field(default=None, max_length=500)
    assignment_status: str | None = Field(default=None, max_length=16)
    accepted_at: datetime | None = utc_column(nullable=True)
    on_scene_at: datetime | None = utc_column(nullable=True)
    # Supervisors' hands: who assigned this crew without an offer, who withdrew it.
    assigned_by: str | None = Field(default=None, max_length=32)
    withdrawn_by: str | None = Field(default=None, max_length=32)


class Event(SQLModel, table=True):
    """Every change a client can see, in sequence. Replayed to reconnecting clients."""

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = utc_column()
    kind: str = Field(max_length=16)
    entity_id: str = Field(max_length=64)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    officer_id: str | None = Field(default=None, max_length=32)
    crew_ids: str = Field(default="", max_length=2000)
    user_ids: str | None = Field(default=None, max_length=2000)  # further users who see it


EVENT_SEQ = "event_seq"


class Counter(SQLModel, table=True):
    """Named counters; `event_seq` is taken row-locked so seq order is commit order."""

    name: str = Field(primary_key=True, max_length=32)
    value: int = 0


class ClusterNode(SQLModel, table=True):
    """A running server process and its heartbeat; a peer takes over a silent one."""

    __tablename__ = "cluster_node"
    id: str = Field(primary_key=True, max_length=64)
    started_at: datetime = utc_column()
    beat_at: datetime = utc_column()


class CrewLink(SQLModel, table=True):
    """A crew connected to a node (written with the node's heartbeat)."""

    __tablename__ = "crew_link"
    crew_id: str = Field(primary_key=True, max_length=64)
    node_id: str = Field(primary_key=True, max_length=64, index=True)


class AlertTrack(SQLModel, table=True):
    """The officer's positions while her alert is open: part of the incident."""

    id: int | None = Field(default=None, primary_key=True)
    alert_id: str = Field(foreign_key="alert.id", index=True)
    lat: float
    lon: float
    accuracy: float | None = None
    at: datetime = utc_column()


class AlertNote(SQLModel, table=True):
    """A step of an alert's story that its other rows do not keep: a supervisor's action
    with the reason given, a note, an escalation. Kept for the incident's timeline."""

    id: int | None = Field(default=None, primary_key=True)
    alert_id: str = Field(foreign_key="alert.id", index=True)
    at: datetime = utc_column()
    user_id: str | None = Field(default=None, foreign_key="user.id")  # None: the system
    # take, assign, withdraw, release, cancel, close, note (supervisors);
    # urgent, duress (the officer); unassigned (the system: no crew free)
    action: str = Field(max_length=16)
    crew_id: str | None = Field(default=None, max_length=32)
    text: str = Field(default="", max_length=500)


class IncidentMessage(SQLModel, table=True):
    """A short message between supervisors and the crews on an alert (never the officer)."""

    __tablename__ = "incident_message"

    id: str = Field(primary_key=True, max_length=32)
    alert_id: str = Field(foreign_key="alert.id", index=True)
    at: datetime = utc_column()
    # Who wrote it: a supervisor (user_id) or a crew (crew_id; user_id its member).
    user_id: str | None = Field(default=None, foreign_key="user.id")
    crew_id: str | None = Field(default=None, max_length=32)
    author: str = Field(max_length=100)  # display name when sent
    quick: str | None = Field(default=None, max_length=32)  # a quick reply's code
    text: str = Field(max_length=500)


class Operation(SQLModel, table=True):
    """A supervisor's description of an operation, and the figures of its plan."""

    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(unique=True, index=True, max_length=100)
    area: str = Field(default="", max_length=200)
    timezone: str = Field(max_length=64)
    window_start: datetime = utc_column()
    window_end: datetime = utc_column()
    deployments: int
    min_duration_min: int
    max_duration_min: int
    allowed_hours: str = Field(default="", max_length=200)  # JSON list of local hours, "" = any
    allowed_weekdays: str = Field(default="", max_length=50)  # JSON list, 0 = Monday, "" = any
    officer_ids: str = Field(sa_column=Column(Text, nullable=False))  # JSON list
    crew_ids: str = Field(sa_column=Column(Text, nullable=False))  # JSON list
    officers_per_deployment: int = 1
    crews_per_deployment: int = 1
    place_gap_h: float
    place_gap_min_h: float | None = None  # a range's lower bound; None = a fixed gap
    rest_h: float
    per_officer_per_day: int
    state: str = Field(max_length=16, index=True)  # draft, published, cancelled
    figures: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON
    warnings: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list
    # Her live deployments ask her to check in every so many minutes; None = never.
    checkin_interval_min: int | None = None
    # When the interval was last set or changed: her next check-in counts from it at the
    # earliest (so turning check-ins on for a live deployment never finds her late).
    checkin_set_at: datetime | None = utc_column(nullable=True)
    created_at: datetime = utc_column()
    updated_at: datetime = utc_column()
    exercise: bool = False  # a drill: its deployments' alerts are exercises


class Place(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=32)
    operation_id: str = Field(foreign_key="operation.id", index=True)
    name: str = Field(max_length=100)
    lat: float
    lon: float
    radius_m: float | None = None
    route: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # [[lat, lon]]
    risk: float
    hourly: str | None = Field(default=None, max_length=400)  # JSON list of 24 weights


class Deployment(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=32)
    operation_id: str = Field(foreign_key="operation.id", index=True)
    place_id: str = Field(foreign_key="place.id", index=True)
    starts_at: datetime = utc_column(index=True)
    ends_at: datetime = utc_column(index=True)
    state: str = Field(max_length=16, index=True)
    pinned: bool = False
    briefed_at: datetime | None = utc_column(nullable=True)
    started_at: datetime | None = utc_column(nullable=True)
    ended_at: datetime | None = utc_column(nullable=True)
    note: str | None = Field(default=None, max_length=500)
    updated_at: datetime = utc_column()


class DeploymentMember(SQLModel, table=True):
    """One officer (user_id) or one crew (crew_id) of a deployment's team."""

    id: int | None = Field(default=None, primary_key=True)
    deployment_id: str = Field(foreign_key="deployment.id", index=True)
    user_id: str | None = Field(default=None, foreign_key="user.id", index=True)
    crew_id: str | None = Field(default=None, foreign_key="crew.id", index=True)


class GazetteerPlace(SQLModel, table=True):
    """A named point of the force's gazetteer (`dispatch gazetteer import`), for naming
    the place nearest an alert and finding a place by name (dispatch/maps/)."""

    __tablename__ = "gazetteer_place"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, index=True)
    lat: float = Field(index=True)
    lon: float


# -- officer welfare (issue 14): check-ins, escort timers, who was heard, warnings --------


class CheckIn(SQLModel, table=True):
    """Her last check-in on a live deployment; her next is due `checkin_interval_min`
    after it (or after the deployment went live, with no row)."""

    __tablename__ = "welfare_checkin"

    deployment_id: str = Field(primary_key=True, max_length=32)
    officer_id: str = Field(primary_key=True, max_length=32)
    last_at: datetime | None = utc_column(nullable=True)
    alerted_due: datetime | None = utc_column(nullable=True)  # the due already escalated


class EscortTimer(SQLModel, table=True):
    """Her running escort timer (one at most); deleted when stopped or when it ran out."""

    __tablename__ = "welfare_escort"

    officer_id: str = Field(primary_key=True, max_length=32)
    alert_id: str = Field(max_length=64, unique=True)  # the alert's id if it runs out
    label: str | None = Field(default=None, max_length=100)
    started_at: datetime = utc_column()
    due_at: datetime = utc_column(index=True)


class Heard(SQLModel, table=True):
    """When a watched officer's or crew's phone was last heard by any process (connected
    or a position), and its last position: silence is judged from this across processes."""

    __tablename__ = "welfare_heard"

    subject: str = Field(primary_key=True, max_length=64)  # "officer:<id>" | "crew:<id>"
    heard_at: datetime = utc_column()
    lat: float | None = None
    lon: float | None = None
    accuracy: float | None = None
    fix_at: datetime | None = utc_column(nullable=True)


class WelfareWarning(SQLModel, table=True):
    """A warning on the board now (one per subject and kind: the key keeps processes from
    making two); its view as sent in `welfare.warning`. Deleted when it clears."""

    __tablename__ = "welfare_warning"

    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # WarningView JSON
    raised_at: datetime = utc_column()

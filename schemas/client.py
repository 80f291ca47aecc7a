"""Messages a client sends. Every one has a `type` and an `id` the client makes;
the server answers each with an `ack` or an `error` carrying the same `id`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, TypeAdapter, field_validator

from schemas.common import CONTROL, AlertCategory, Identifier, Model, Outcome, Position, UtcDateTime


def without_controls(text: str) -> str:
    """Free text without control characters (tabs and line breaks stay): PostgreSQL
    refuses a NUL in text, and an alert must not be refused for a stray one in its note."""
    return CONTROL.sub("", text)


Note = Annotated[str, Field(max_length=500), AfterValidator(without_controls)]
MAX_OFFSET_MS = 10 * 366 * 86_400_000  # ten years: a phone's clock may be that wrong


class ClientMessage(Model):
    id: Identifier = Field(description="Made by the client; echoed in the ack or error.")


class Sync(ClientMessage):
    """First message after connecting. `last_seq` is the last event seq seen, if any:
    the server sends what was missed, or a snapshot when that is too old or absent."""

    type: Literal["sync"] = "sync"
    last_seq: int | None = Field(None, ge=0)


class PositionUpdate(ClientMessage):
    """Officer or crew: where I am now."""

    type: Literal["position"] = "position"
    position: Position


class AlertRaise(ClientMessage):
    """Officer: raise an alert. Idempotent on `alert_id`, which the phone makes."""

    type: Literal["alert.raise"] = "alert.raise"
    alert_id: Identifier
    position: Position | None = Field(
        None,
        description="Her last fix. Absent when her phone has none yet: the alert goes at "
        "once as 'position unknown', offered by her live deployment's place (or to the "
        "supervisors with none), and her first `position` places it.",
    )
    pressed_at: UtcDateTime | None = Field(
        None,
        description="When she pressed, by the phone's clock (an alert held offline is "
        "sent later). Corrected on the server by `clock_offset_ms`.",
    )
    clock_offset_ms: int | None = Field(
        None,
        ge=-MAX_OFFSET_MS,
        le=MAX_OFFSET_MS,
        description="Server clock less the phone's, in ms, as the link measured it: "
        "`server_time` of the sync ack less the middle of the sync's round trip.",
    )
    category: AlertCategory | None = None
    note: Note | None = None
    urgent: bool = False
    origin: Literal["officer", "escort"] = Field(
        "officer",
        description="`escort`: her phone raises her escort timer's alert (its `alert_id` "
        "from `escort.start`) because the server could not be told it ran out.",
    )


class AlertDetail(ClientMessage):
    """Officer: add a category or note to her alert after raising it."""

    type: Literal["alert.detail"] = "alert.detail"
    alert_id: Identifier
    category: AlertCategory | None = None
    note: Note | None = None


class AlertCancel(ClientMessage):
    """Officer (her own alert) or supervisor: cancel an open alert (false alarm). A
    supervisor must give the reason, which is kept."""

    type: Literal["alert.cancel"] = "alert.cancel"
    alert_id: Identifier
    reason: Note | None = None
    pin: str | None = Field(
        None,
        pattern=r"^[0-9]{4}$",
        description="Officer: her 4-digit PIN, needed once she has PINs. Her duress PIN "
        "escalates the alert instead, and is answered exactly as a cancel.",
    )


class AlertEscalate(ClientMessage):
    """Officer: "I need urgent help": the alert takes more crews."""

    type: Literal["alert.escalate"] = "alert.escalate"
    alert_id: Identifier


class Duty(ClientMessage):
    """Crew: go on or off duty."""

    type: Literal["duty"] = "duty"
    on: bool


class OfferAccept(ClientMessage):
    type: Literal["offer.accept"] = "offer.accept"
    offer_id: Identifier


class OfferDecline(ClientMessage):
    type: Literal["offer.decline"] = "offer.decline"
    offer_id: Identifier
    reason: Note | None = None


class AssignmentUpdate(ClientMessage):
    """Crew: en route, on scene, or resolved (with an outcome)."""

    type: Literal["assignment.status"] = "assignment.status"
    alert_id: Identifier
    status: Literal["en_route", "on_scene", "resolved"]
    outcome: Outcome | None = None
    note: Note | None = None


Reason = Annotated[str, Field(min_length=1, max_length=500)]


class AlertTake(ClientMessage):
    """Supervisor: "I have this one": the console's alarm for it stops for everyone."""

    type: Literal["alert.take"] = "alert.take"
    alert_id: Identifier


class AlertAssign(ClientMessage):
    """Supervisor: assign a crew by hand (reached by radio): no offer, the crew is attached
    at once. The crew must not be working another alert or holding another alert's offer."""

    type: Literal["alert.assign"] = "alert.assign"
    alert_id: Identifier
    crew_id: Identifier
    reason: Reason


class OfferWithdraw(ClientMessage):
    """Supervisor: withdraw an open offer, or release a crew from its assignment. The
    alert moves on to other crews; this crew is not offered it again."""

    type: Literal["offer.withdraw"] = "offer.withdraw"
    offer_id: Identifier
    reason: Reason


class AlertClose(ClientMessage):
    """Supervisor: close (resolve) an open alert with its outcome, e.g. told by radio."""

    type: Literal["alert.close"] = "alert.close"
    alert_id: Identifier
    outcome: Outcome
    reason: Reason


class AlertNoteAdd(ClientMessage):
    """Supervisor: add a note to an alert's record (open or closed)."""

    type: Literal["alert.note"] = "alert.note"
    alert_id: Identifier
    text: Reason


# -- incidents: messages, the officer's discreet signal, a crew's call for help, drills --

QuickCode = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$")]


class MessageSend(ClientMessage):
    """Supervisor, or a crew on the alert: a short message to the supervisors and the
    crews on it (never its officer). A quick reply's code, free text, or both; free text
    at most `incidents.message_max_chars` characters."""

    type: Literal["message.send"] = "message.send"
    alert_id: Identifier
    quick: QuickCode | None = Field(
        None,
        description="A quick reply: received, on_my_way, on_scene, need_backup, "
        "suspect_detained, suspect_left, all_clear, stand_by.",
    )
    text: Note | None = None


class OfficerSignal(ClientMessage):
    """Supervisor: a discreet vibration code to the alert's officer (no words on her
    page): help_close (three short), stay_put (one long), move_away (long, two short)."""

    type: Literal["officer.signal"] = "officer.signal"
    alert_id: Identifier
    code: QuickCode


class CrewHelp(ClientMessage):
    """Crew: "crew needs help". Raises an urgent alert at the crew's position (this one,
    else its last fix) offered to the nearest other crews. Idempotent on `alert_id`,
    which the phone makes."""

    type: Literal["crew.help"] = "crew.help"
    alert_id: Identifier
    position: Position | None = None
    note: Note | None = None


class AlertExercise(ClientMessage):
    """Supervisor: mark an alert as an exercise (a drill), or as real again, with the
    reason. Exercises are offered as usual and left out of real reports."""

    type: Literal["alert.exercise"] = "alert.exercise"
    alert_id: Identifier
    exercise: bool
    reason: Reason


# -- officer welfare (issue 14: check-ins, escort timer) ----------------------------------

ESCORT_MIN_S = 30
ESCORT_MAX_S = 6 * 3600


class CheckIn(ClientMessage):
    """Officer: I am fine (her live deployment's check-in). Answered with the next due."""

    type: Literal["checkin"] = "checkin"


class WelfareState(ClientMessage):
    """Officer: when my next check-in is due, and my running escort timer, if any."""

    type: Literal["welfare.state"] = "welfare.state"


class EscortStart(ClientMessage):
    """Officer: start an escort timer ("walking to the car, 10 min"). If it runs out
    without `escort.stop`, an alert with id `alert_id` is raised for her (origin
    `escort`); her phone raises the same id if the server could not. A new start
    replaces a running timer."""

    type: Literal["escort.start"] = "escort.start"
    alert_id: Identifier = Field(description="Made by the phone: the alert's id if it runs out.")
    duration_s: int = Field(ge=ESCORT_MIN_S, le=ESCORT_MAX_S)
    label: Annotated[str, AfterValidator(without_controls)] | None = Field(
        None, max_length=100, description="What she is doing."
    )

    @field_validator("label")
    @classmethod
    def _blank_is_none(cls, label: str | None) -> str | None:
        """A blank label is no label."""
        return (label.strip() or None) if label is not None else None


class EscortStop(ClientMessage):
    """Officer: I am safe, stop the timer (idempotent)."""

    type: Literal["escort.stop"] = "escort.stop"
    alert_id: Identifier


AnyClientMessage = Annotated[
    Sync
    | PositionUpdate
    | AlertRaise
    | AlertDetail
    | AlertCancel
    | AlertEscalate
    | Duty
    | OfferAccept
    | OfferDecline
    | AssignmentUpdate
    | AlertTake
    | AlertAssign
    | OfferWithdraw
    | AlertClose
    | AlertNoteAdd
    | MessageSend
    | OfficerSignal
    | CrewHelp
    | AlertExercise
    | CheckIn
    | WelfareState
    | EscortStart
    | EscortStop,
    Field(discriminator="type"),
]

CLIENT_MESSAGES: dict[str, type[ClientMessage]] = {
    m.model_fields["type"].default: m
    for m in (
        Sync,
        PositionUpdate,
        AlertRaise,
        AlertDetail,
        AlertCancel,
        AlertEscalate,
        Duty,
        OfferAccept,
        OfferDecline,
        AssignmentUpdate,
        AlertTake,
        AlertAssign,
        OfferWithdraw,
        AlertClose,
        AlertNoteAdd,
        MessageSend,
        OfficerSignal,
        CrewHelp,
        AlertExercise,
        CheckIn,
        WelfareState,
        EscortStart,
        EscortStop,
    )
}

client_message_adapter: TypeAdapter[AnyClientMessage] = TypeAdapter(AnyClientMessage)

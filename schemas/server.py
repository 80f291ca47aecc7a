"""Frames the server sends. Events that change what a client sees carry `seq`,
increasing across the whole server (a client sees a subset, so gaps are normal)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from schemas.common import Model, Position, Role, UtcDateTime
from schemas.errors import ErrorCode
from schemas.views import AlertView, CrewView, DeploymentBrief, MessageView, OfferView
from schemas.welfare import WarningCleared, WarningEvent, WarningView


class Ack(Model):
    type: Literal["ack"] = "ack"
    id: str
    result: dict[str, Any] = Field(default_factory=dict)


class Error(Model):
    type: Literal["error"] = "error"
    id: str | None = Field(None, description="The client message id, when it could be read.")
    code: ErrorCode
    message: str


class LivePosition(Model):
    """A live position. Not sequenced: the newest one supersedes the others."""

    type: Literal["position"] = "position"
    role: Role
    subject_id: str = Field(description="The officer's user id or the crew id.")
    alert_id: str | None = Field(None, description="Set when relayed to a crew for its alert.")
    lat: float
    lon: float
    accuracy: float | None
    at: UtcDateTime

    @classmethod
    def of(cls, role: Role, subject_id: str, position: Position, at: datetime) -> LivePosition:
        return cls(
            role=role,
            subject_id=subject_id,
            lat=position.lat,
            lon=position.lon,
            accuracy=position.accuracy,
            at=at,
        )


class LivePositions(Model):
    """Supervisors' live positions, sent together: the newest of each officer and crew
    since the last such frame. Apply each as a `position`."""

    type: Literal["positions"] = "positions"
    positions: list[LivePosition]


class Snapshot(Model):
    """Everything this client may see, as of `seq`."""

    type: Literal["snapshot"] = "snapshot"
    seq: int
    alerts: list[AlertView]
    offers: list[OfferView]
    crews: list[CrewView]
    positions: list[LivePosition]
    deployments: list[DeploymentBrief] = Field(
        default_factory=list,
        description="Deployments this client may see that are briefed or live "
        "(for officers and crews: only their own).",
    )
    warnings: list[WarningView] = Field(
        default_factory=list,
        description="Supervisors only: the welfare warnings on the board now "
        "(missed check-ins, silent phones).",
    )
    messages: list[MessageView] = Field(
        default_factory=list,
        description="Messages on the open alerts this client sees, oldest first "
        "(supervisors and the alerts' crews; never officers).",
    )


class Synced(Model):
    """Sent after a replay of missed events (or a snapshot): live events follow."""

    type: Literal["synced"] = "synced"
    seq: int
    replayed: int


class AlertEvent(Model):
    type: Literal["alert"] = "alert"
    seq: int
    alert: AlertView


class AlertRemoved(Model):
    """The alert is no longer visible to this client (its crew was released)."""

    type: Literal["alert.removed"] = "alert.removed"
    seq: int
    alert_id: str


class OfferEvent(Model):
    type: Literal["offer"] = "offer"
    seq: int
    offer: OfferView


class CrewEvent(Model):
    type: Literal["crew"] = "crew"
    seq: int
    crew: CrewView


class DeploymentEvent(Model):
    """A deployment was briefed, went live, moved, ended or was cancelled. The team
    gets it from the brief on; supervisors get every change."""

    type: Literal["deployment"] = "deployment"
    seq: int
    deployment: DeploymentBrief


class MessageEvent(Model):
    """A message on an alert: to supervisors and the crews on it, never its officer."""

    type: Literal["message"] = "message"
    seq: int
    message: MessageView


class SignalView(Model):
    code: str = Field(description="help_close, stay_put or move_away.")
    pattern: list[int] = Field(description="Vibration pattern, ms on, off, on...")
    alert_id: str
    at: UtcDateTime


class SignalEvent(Model):
    """To the officer only: a supervisor's discreet code. Her page vibrates the pattern
    and shows no words. A replayed one older than a minute is not played."""

    type: Literal["signal"] = "signal"
    seq: int
    signal: SignalView


AnyServerFrame = Annotated[
    Ack
    | Error
    | LivePosition
    | LivePositions
    | Snapshot
    | Synced
    | AlertEvent
    | AlertRemoved
    | OfferEvent
    | CrewEvent
    | DeploymentEvent
    | WarningEvent
    | WarningCleared
    | MessageEvent
    | SignalEvent,
    Field(discriminator="type"),
]

server_frame_adapter: TypeAdapter[AnyServerFrame] = TypeAdapter(AnyServerFrame)

"""Officer welfare on the wire: check-ins, the escort timer, and the board's warnings
(missed check-in, silent phone). Warnings go to supervisors only."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.common import Model, Role, UtcDateTime

WarningKind = Literal["checkin_missed", "silent"]


class CheckInState(Model):
    interval_s: int
    due_at: UtcDateTime = Field(description="When her next check-in is due.")
    last_at: UtcDateTime | None = Field(description="Her last check-in on this deployment.")


class EscortState(Model):
    alert_id: str
    started_at: UtcDateTime
    due_at: UtcDateTime
    label: str | None


class WelfareView(Model):
    """The ack of `welfare.state` and `checkin`; `escort.start`'s has `escort`."""

    checkin: CheckInState | None
    escort: EscortState | None


class WarningView(Model):
    """A warning on the board: a missed check-in (after `welfare.checkin_grace_s`) or a
    silent phone (no socket and no position for `welfare.silent_after_s`)."""

    id: str = Field(
        description="One per subject and kind: `checkin:<user>`, `silent:officer:<user>`, "
        "`silent:crew:<crew>`."
    )
    kind: WarningKind
    role: Role = Field(description="officer or crew")
    subject_id: str = Field(description="The officer's user id or the crew's id.")
    name: str = Field(description="The officer's display name or the crew's callsign.")
    since: UtcDateTime = Field(
        description="When the check-in was due, or when the phone was last heard."
    )
    raised_at: UtcDateTime = Field(description="When the warning was made.")
    lat: float | None = Field(description="Last known position (null: none).")
    lon: float | None
    position_at: UtcDateTime | None = Field(description="When that position was taken.")
    deployment_id: str | None = None
    alert_id: str | None = Field(
        None,
        description="The crew's assignment; for a missed check-in, the alert raised on "
        "her behalf once `welfare.checkin_alert_after_s` more passed.",
    )
    cleared_at: UtcDateTime | None = Field(None, description="Set in `welfare.clear`.")
    cleared_by: Literal["checkin", "back", "ended"] | None = Field(
        None, description="Her check-in; the phone was heard again; the watch ended."
    )


class WarningEvent(Model):
    """A warning was raised or changed (supervisors only)."""

    type: Literal["welfare.warning"] = "welfare.warning"
    seq: int
    warning: WarningView


class WarningCleared(Model):
    """A warning is over (supervisors only): drop it."""

    type: Literal["welfare.clear"] = "welfare.clear"
    seq: int
    warning: WarningView

"""Who sees what: each stored event projected for one viewer, as a wire frame.

Pure: the same rules build the snapshot and filter the event stream, which is
why "old state + events" equals a fresh snapshot.
"""

from __future__ import annotations

import json
from typing import Any

from dispatch.auth.sessions import Viewer
from dispatch.realtime.events import (
    KIND_ALERT,
    KIND_COVER,
    KIND_CREW,
    KIND_DEPLOYMENT,
    KIND_MESSAGE,
    KIND_OFFER,
    KIND_SIGNAL,
    KIND_WARNING,
    KIND_WARNING_CLEAR,
    StoredEvent,
)
from schemas.common import Role
from schemas.views import AlertView, AssignmentStatus


def frame_for(viewer: Viewer, event: StoredEvent) -> str | None:
    """The JSON frame this viewer gets for this event, or None when it may not see it."""
    if event.kind == KIND_ALERT:
        if viewer.role == Role.SUPERVISOR:
            return _wrap("alert", event.seq, "alert", event.payload)
        if viewer.role == Role.OFFICER and event.officer_id == viewer.user_id:
            view = event.view()
            if view.get("duress"):
                return None  # she was shown a cancel (KIND_COVER): nothing follows one
            return _wrap("alert", event.seq, "alert", json.dumps(officer_alert(view)))
        if viewer.role == Role.CREW and viewer.crew_id in event.crew_ids:
            view = event.view()
            if any(c["crew_id"] == viewer.crew_id for c in view["crews"]) or (
                view.get("help_crew_id") == viewer.crew_id  # its own call for help
            ):
                return _wrap("alert", event.seq, "alert", event.payload)
            return json.dumps({"type": "alert.removed", "seq": event.seq, "alert_id": view["id"]})
        return None
    if event.kind == KIND_COVER:
        if viewer.role == Role.OFFICER and viewer.user_id in event.user_ids:
            return _wrap("alert", event.seq, "alert", event.payload)
        return None
    if event.kind in (KIND_WARNING, KIND_WARNING_CLEAR):
        # Welfare warnings: supervisors only, never an officer or a crew.
        if viewer.role == Role.SUPERVISOR:
            return _wrap(event.kind, event.seq, "warning", event.payload)
        return None
    if event.kind == KIND_MESSAGE:
        # Supervisors and the alert's crews; an officer is never in a message's audience.
        if viewer.role == Role.SUPERVISOR or (
            viewer.role == Role.CREW and viewer.crew_id in event.crew_ids
        ):
            return _wrap("message", event.seq, "message", event.payload)
        return None
    if event.kind == KIND_SIGNAL:
        if viewer.role == Role.OFFICER and viewer.user_id in event.user_ids:
            return _wrap("signal", event.seq, "signal", event.payload)
        return None
    if event.kind in (KIND_OFFER, KIND_CREW):
        if viewer.role == Role.SUPERVISOR or (
            viewer.role == Role.CREW and viewer.crew_id in event.crew_ids
        ):
            return _wrap(event.kind, event.seq, event.kind, event.payload)
    if event.kind == KIND_DEPLOYMENT:
        # Supervisors see every change; a team member only once the team has been briefed
        # (the event's audience is empty before that) and only for her own deployments.
        if (
            viewer.role == Role.SUPERVISOR
            or (viewer.role == Role.OFFICER and viewer.user_id in event.user_ids)
            or (viewer.role == Role.CREW and viewer.crew_id in event.crew_ids)
        ):
            return _wrap(event.kind, event.seq, event.kind, event.payload)
    return None


def officer_state(state: str) -> str:
    """Her page needs to know that help is being found, not that none is free yet (her
    page has its own "no crew yet" sign, from the time with no crew)."""
    return "dispatching" if state == "unassigned" else state


def officer_alert(view: dict[str, Any]) -> dict[str, Any]:
    """What her own phone is shown of her alert: what her page needs, nothing that
    someone holding her phone could learn more from (who took it in hand, which crews,
    that no crew is free, how and why it was closed)."""
    return {
        **view,
        "state": officer_state(view["state"]),
        "taken_by": None,
        "crews": [],
        "duress": False,
        "closed_by": None,
        "close_reason": None,
        "help_crew_id": None,
    }


def _wrap(frame_type: str, seq: int, key: str, payload: str) -> str:
    return f'{{"type":"{frame_type}","seq":{seq},"{key}":{payload}}}'


def crew_sees_alert(viewer: Viewer, alert: AlertView) -> bool:
    """A crew sees an open alert while it is attached to it (en route or on scene), and
    its own call for help."""
    return alert.help_crew_id == viewer.crew_id or any(
        c.crew_id == viewer.crew_id and c.status != AssignmentStatus.CLEARED for c in alert.crews
    )


def positions_for(viewer: Viewer, message: dict[str, Any]) -> list[dict[str, Any]]:
    """A live position as this viewer may see it. Supervisors see every crew's and every
    officer's (tagged with her open alert, if any); a crew sees an officer's only for
    the alerts it is attached to, tagged with that alert, and the other crews' on those
    alerts (a crew's call for help counts as its alert); officers see none."""
    frame: dict[str, Any] = message["frame"]
    alerts: dict[str, list[str]] = message.get("alerts") or {}
    officer = frame.get("role") == Role.OFFICER
    if viewer.role == Role.SUPERVISOR:
        return [supervisor_position(message)]
    if viewer.role == Role.CREW and officer:
        return [
            {**frame, "alert_id": alert_id}
            for alert_id, crews in alerts.items()
            if viewer.crew_id in crews
        ]
    if viewer.role == Role.CREW and frame.get("role") == Role.CREW:
        return [
            {**frame, "alert_id": alert_id}
            for alert_id, crews in alerts.items()
            if viewer.crew_id in crews and frame["subject_id"] != viewer.crew_id
        ]
    return []


def supervisor_position(message: dict[str, Any]) -> dict[str, Any]:
    """A live position as every supervisor sees it: an officer's tagged with her open
    alert, if she has one."""
    frame: dict[str, Any] = message["frame"]
    if frame.get("role") == Role.OFFICER:
        return {**frame, "alert_id": next(iter(message.get("alerts") or {}), None)}
    return frame


def audience_key(viewer: Viewer) -> str | None:
    """The replay index a viewer reads (`replay.audience_of`); None: it sees everything."""
    if viewer.role == Role.OFFICER:
        return "u:" + viewer.user_id
    if viewer.role == Role.CREW and viewer.crew_id is not None:
        return "c:" + viewer.crew_id
    return None

"""An alert as an OASIS CAP 1.2 message: a pure function of its view and the [cap] settings.

What goes out, and why. The point of the message is where help is needed: the position
where the alert was raised, as a circle of its accuracy (at least `cap.min_radius_m`),
with its times, state, category, urgency and, once closed, its outcome. What does not:
the officer's name, username or user id (a receiver needs none of them to send help, and
an id, even opaque, would let it link one officer's alerts into a record of her patrols);
the crews' callsigns (plain-clothes units: a count says as much as a receiver needs); the
supervisors' names and their free-text reasons. Her own note is free text that may name
or describe people: it goes only when `cap.include_note` is on. Duress goes (it changes
what a receiver must do), as the severity Extreme and a `duress` parameter.

Identifiers are made from the alert's id, so every message about one alert names the
same incident: the first (`msgType` Alert, sent when it was raised) is `alert-ID`; every
later one is `alert-ID-TIME` (its last change, to the microsecond) and references the
first. A cancelled alert (a false alarm) is a Cancel; everything else an Update.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote
from xml.etree import ElementTree as ET

from dispatch.config import CapSettings
from dispatch.usecases.alerts import DURESS_NOTE
from schemas.common import Outcome
from schemas.views import AlertState, AlertView

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
MEDIA_TYPE = "application/cap+xml"
PLACE_RADIUS_M = 500.0  # a deployment's place stands for her position: a wider circle
HEADLINE_MAX = 160  # CAP: a headline "SHOULD be made as direct and actionable as possible"
NOT_XML = re.compile(r"[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")  # XML 1.0

CLOSED = (AlertState.RESOLVED, AlertState.CANCELLED)
STATE_WORDS = {
    AlertState.RAISED: "raised",
    AlertState.DISPATCHING: "being offered to a crew",
    AlertState.UNASSIGNED: "no crew free: with the supervisors",
    AlertState.ASSIGNED: "crew on the way",
    AlertState.ON_SCENE: "crew on scene",
    AlertState.RESOLVED: "resolved",
    AlertState.CANCELLED: "cancelled (false alarm)",
}


@dataclass(frozen=True, slots=True)
class Grading:
    urgency: str
    severity: str
    certainty: str


@dataclass(frozen=True, slots=True)
class CapMessage:
    identifier: str
    msg_type: str  # Alert, Update or Cancel
    xml: bytes
    content_key: str  # what a receiver would see change, without identifier and times


def cap_time(at: datetime) -> str:
    """CAP's dateTime: whole seconds and a numeric zone ("2026-11-28T13:05:00+00:00")."""
    if at.tzinfo is None:
        raise ValueError("naive datetime refused: times are UTC and timezone-aware")
    return at.astimezone(UTC).replace(microsecond=0).isoformat()


def first_identifier(alert_id: str) -> str:
    return f"alert-{alert_id}"


def identifier_of(view: AlertView) -> str:
    if msg_type_of(view) == "Alert":
        return first_identifier(view.id)
    stamp = view.updated_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"alert-{view.id}-{stamp}"


def msg_type_of(view: AlertView) -> str:
    if view.state == AlertState.CANCELLED:
        return "Cancel"
    if view.state not in CLOSED and view.updated_at == view.raised_at:
        return "Alert"  # as raised: nothing has changed since
    return "Update"


def grading(view: AlertView) -> Grading:
    """Urgency, severity and certainty. An officer asking for help needs a response now
    (Immediate) and has seen what happened herself (Observed); duress is Extreme, urgent
    Severe, any other alert Moderate. Closed, nothing more is needed (Past); a false
    alarm is Unlikely."""
    severity = "Extreme" if view.duress else "Severe" if view.urgent else "Moderate"
    if view.state == AlertState.CANCELLED:
        return Grading("Past", "Minor", "Unlikely")
    if view.state == AlertState.RESOLVED:
        certainty = "Unlikely" if view.outcome == Outcome.FALSE_ALARM else "Observed"
        return Grading("Past", severity, certainty)
    return Grading("Immediate", severity, "Observed")


def addresses_text(addresses: list[str]) -> str:
    """CAP's space-delimited list; an address with a space is in double quotes."""
    return " ".join(f'"{a}"' if any(c.isspace() for c in a) else a for a in addresses)


def position_unknown(view: AlertView) -> bool:
    """Her phone had no fix: lat/lon are her live deployment's place, or nothing."""
    return bool(getattr(view, "position_unknown", False))


def area_of(view: AlertView, min_radius_m: float) -> tuple[str, str | None]:
    """The area's words and CAP's circle ("lat,lon radius", WGS 84 degrees and km)."""
    lat, lon = view.lat, view.lon
    if lat is None or lon is None:
        return "Position unknown: the officer's phone had no fix", None
    if position_unknown(view):
        words = "Her deployment's place (the officer's phone had no fix)"
        radius_m = max(PLACE_RADIUS_M, min_radius_m)
    else:
        within = f", within {view.accuracy:.0f} m" if view.accuracy is not None else ""
        words = f"Where the alert was raised (the officer's phone{within})"
        radius_m = max(view.accuracy or 0.0, min_radius_m)
    return words, f"{lat:.5f},{lon:.5f} {radius_m / 1000.0:.3f}"


def note_of(view: AlertView) -> str | None:
    """Her note, without the duress marker the server puts before it, and without what
    XML 1.0 cannot carry (control characters)."""
    note = NOT_XML.sub("", (view.note or "").removeprefix(DURESS_NOTE)).strip()
    return note or None


def event_words(view: AlertView, cap: CapSettings) -> str:
    if view.help_crew_id is not None:  # a crew's call for help (no crew is named)
        return "Police crew requests assistance"
    return f"{cap.event}: {view.category.value}" if view.category else cap.event


def headline(view: AlertView, cap: CapSettings) -> str:
    if view.state == AlertState.CANCELLED:
        words = f"Cancelled: {cap.event}"
    elif view.state == AlertState.RESOLVED:
        words = f"Resolved: {cap.event}"
    else:
        mark = "DURESS: " if view.duress else "URGENT: " if view.urgent else ""
        words = f"{mark}{cap.event}"
    if view.exercise:
        words = f"EXERCISE: {words}"
    return words[:HEADLINE_MAX]


def status_of(view: AlertView, cap: CapSettings) -> str:
    """`cap.status`, except that a drill is an `Exercise` (a `Test` stays a test)."""
    return "Exercise" if view.exercise and cap.status == "Actual" else cap.status


def description(view: AlertView) -> str:
    attached = len(view.crews)
    text = (
        f"Raised {cap_time(view.raised_at)}. Now: {STATE_WORDS[view.state]}. "
        f"Crews attached: {attached} of {view.crews_needed} needed."
    )
    if view.outcome is not None:
        text += f" Outcome: {view.outcome.value.replace('_', ' ')}."
    return text


def parameters(view: AlertView, cap: CapSettings) -> list[tuple[str, str]]:
    params = [
        ("dispatchState", view.state.value),
        ("urgent", "true" if view.urgent else "false"),
        ("duress", "true" if view.duress else "false"),
        ("crewsNeeded", str(view.crews_needed)),
        ("crewsAttached", str(len(view.crews))),
        ("positionKnown", "false" if position_unknown(view) or view.lat is None else "true"),
        ("exercise", "true" if view.exercise else "false"),
    ]
    if view.accuracy is not None:
        params.append(("positionAccuracyM", f"{view.accuracy:.0f}"))
    if view.outcome is not None:
        params.append(("outcome", view.outcome.value))
    if view.closed_by is not None:
        params.append(("closedBy", view.closed_by))  # a role, never a person
    note = note_of(view) if cap.include_note else None
    if note is not None:
        params.append(("officerNote", note))
    return params


def _node(parent: ET.Element, name: str) -> ET.Element:
    return ET.SubElement(parent, f"{{{CAP_NS}}}{name}")


def _add(parent: ET.Element, name: str, text: str) -> None:
    _node(parent, name).text = text


def info_element(view: AlertView, cap: CapSettings) -> ET.Element:
    info = ET.Element(f"{{{CAP_NS}}}info")
    grade = grading(view)
    _add(info, "language", cap.language)
    _add(info, "category", "Security")
    _add(info, "event", event_words(view, cap))
    if view.state in CLOSED:
        _add(info, "responseType", "AllClear")
    _add(info, "urgency", grade.urgency)
    _add(info, "severity", grade.severity)
    _add(info, "certainty", grade.certainty)
    pressed: datetime | None = getattr(view, "pressed_at", None)  # her press, if known
    _add(info, "onset", cap_time(pressed or view.raised_at))
    if cap.sender_name:
        _add(info, "senderName", cap.sender_name)
    _add(info, "headline", headline(view, cap))
    _add(info, "description", description(view))
    if cap.web_link:
        _add(info, "web", cap.web_link.replace("{id}", quote(view.id, safe="")))
    if cap.contact:
        _add(info, "contact", cap.contact)
    for name, value in parameters(view, cap):
        param = _node(info, "parameter")
        _add(param, "valueName", name)
        _add(param, "value", value)
    area = _node(info, "area")
    words, circle = area_of(view, cap.min_radius_m)
    _add(area, "areaDesc", words)
    if circle is not None:
        _add(area, "circle", circle)
    return info


def cap_message(view: AlertView, cap: CapSettings) -> CapMessage:
    """The alert as it stands, as one CAP 1.2 message (UTF-8 XML with its declaration)."""
    msg_type = msg_type_of(view)
    alert = ET.Element(f"{{{CAP_NS}}}alert")
    identifier = identifier_of(view)
    _add(alert, "identifier", identifier)
    _add(alert, "sender", cap.sender)
    sent = view.raised_at if msg_type == "Alert" else view.updated_at
    _add(alert, "sent", cap_time(sent))
    _add(alert, "status", status_of(view, cap))
    _add(alert, "msgType", msg_type)
    _add(alert, "scope", "Restricted")
    _add(alert, "restriction", cap.restriction)
    if cap.addresses:
        _add(alert, "addresses", addresses_text(cap.addresses))
    notes = ["An exercise (a drill), not a real incident."] if view.exercise else []
    if msg_type == "Cancel":
        notes.append("The alert was cancelled: a false alarm.")
    if notes:
        _add(alert, "note", " ".join(notes))
    if msg_type != "Alert":
        first = f"{cap.sender},{first_identifier(view.id)},{cap_time(view.raised_at)}"
        _add(alert, "references", first)
    _add(alert, "incidents", view.id)
    info = info_element(view, cap)
    alert.append(info)
    xml = ET.tostring(alert, encoding="utf-8", xml_declaration=True, default_namespace=CAP_NS)
    key = json.dumps([msg_type, ET.tostring(info, encoding="unicode")])
    return CapMessage(identifier, msg_type, xml, key)

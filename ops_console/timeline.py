"""An incident's story, in order: built from its stored rows, with no I/O.

The alert row says when it was raised and how it ended; each offer row says to whom
it went, when, and how that ended (accepted, on scene, declined, expired,
withdrawn); each note row keeps what the other rows do not: a supervisor's action
with the reason given, an escalation, the officer's duress. A note that explains
an offer's or the alert's own step (the reason for a hand assignment, a withdrawal,
a cancel or a close) is folded into that step rather than shown twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from dispatch.storage.models import Alert, AlertNote, Offer

# Entries at the same instant keep the order a reader expects.
_RANK = {
    "pressed": -1,
    "raised": 0,
    "urgent": 1,
    "duress": 1,
    "declined": 2,  # a crew says no, and at that instant the next one is offered
    "expired": 2,
    "withdrawn": 2,
    "offered": 3,
    "unassigned": 4,
    "taken": 5,
    "assigned": 6,
    "accepted": 6,
    "on_scene": 7,
    "released": 8,
    "note": 8,
    "resolved": 9,
    "cancelled": 9,
}

OFFER_ENDINGS = {"declined": "declined", "expired": "expired", "withdrawn": "withdrawn"}


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str  # one of _RANK's keys
    text: str
    who: str | None = None  # the person who did it; None: the system or the crew
    crew: str | None = None  # the crew's callsign, when a crew is concerned


@dataclass(frozen=True)
class Names:
    """Who is who: user id -> display name, crew id -> callsign, and the place's name."""

    people: Mapping[str, str]
    callsigns: Mapping[str, str]
    place: str | None = None

    def person(self, user_id: str | None) -> str | None:
        if user_id is None:
            return None
        return self.people.get(user_id, "an unknown user")

    def crew(self, crew_id: str | None) -> str | None:
        if crew_id is None:
            return None
        return self.callsigns.get(crew_id, "an unknown crew")


def _with_reason(text: str, reason: str | None) -> str:
    return f"{text}: {reason}" if reason else text


def _distance(offer: Offer) -> str:
    km = offer.distance_m / 1000
    where = f"{offer.distance_m:.0f} m" if offer.distance_m < 1000 else f"{km:.1f} km"
    minutes = offer.eta_s / 60
    eta = f"{offer.eta_s:.0f} s" if offer.eta_s < 90 else f"{minutes:.1f} min"
    return f"{where} away, ETA {eta}"


def _humane(word: str) -> str:
    return word.replace("_", " ")


class _Notes:
    """Notes not yet folded into an offer's or the alert's own entry."""

    def __init__(self, notes: Iterable[AlertNote]) -> None:
        self.left = sorted(notes, key=lambda n: (n.at, n.id or 0))

    def take(self, action: str, crew_id: str | None = None) -> AlertNote | None:
        for note in self.left:
            if note.action == action and (crew_id is None or note.crew_id == crew_id):
                self.left.remove(note)
                return note
        return None


def _raised(alert: Alert, officer: str, names: Names, *, urgent: bool) -> Entry:
    where = f"{alert.lat:.5f}, {alert.lon:.5f}"
    if alert.position_source == "unknown":
        where = "an unknown position (no fix yet)"
    elif alert.position_source == "place":
        where = f"an unknown position (no fix yet), offered by her deployment's place ({where})"
    elif names.place:
        where = f"{names.place} ({where})"
    # Raised on her behalf (Alert.origin): a missed check-in, her escort timer run out.
    system = {"checkin": "missed check-in", "escort": "escort timer ran out"}.get(alert.origin)
    by = f" by the system ({system})" if system else ""
    parts = [f"Raised{by}{' as urgent' if urgent else ''} at {where}"]
    if alert.category:
        parts.append(_humane(alert.category))
    text = ", ".join(parts)
    if alert.note:
        text += f": {alert.note}"
    return Entry(alert.raised_at, "raised", text, who=officer)


def _after_press(seconds: float) -> str:
    span = f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"
    return f"{span} after she pressed"


def _from_press(alert: Alert, entries: list[Entry]) -> list[Entry]:
    """Her press first (her phone's time, corrected), and from it to the server hearing
    the alert, to its first offer and to the first crew accepting (or assigned)."""
    pressed = alert.pressed_at
    if pressed is None:
        return entries
    text = "Pressed on her phone"
    if alert.press_clamped:
        text += " (her phone's clock was off: the time is a bound)"
    out = [Entry(pressed, "pressed", text)]
    firsts = {"raised", "offered", "accepted"}
    for entry in entries:
        kind = "accepted" if entry.kind == "assigned" else entry.kind
        if kind in firsts:
            firsts.discard(kind)
            since = max(0.0, (entry.at - pressed).total_seconds())
            entry = replace(entry, text=f"{entry.text} ({_after_press(since)})")
        out.append(entry)
    return out


def _offer_entries(offer: Offer, names: Names, notes: _Notes) -> list[Entry]:
    crew = names.crew(offer.crew_id)
    out: list[Entry] = []
    by_hand = offer.assigned_by is not None
    if not by_hand or (offer.accepted_at is not None and offer.created_at < offer.accepted_at):
        out.append(
            Entry(offer.created_at, "offered", f"Offered to {crew}, {_distance(offer)}", crew=crew)
        )
    if by_hand:
        note = notes.take("assign", offer.crew_id)
        who = names.person(offer.assigned_by)
        text = _with_reason(f"{crew} assigned by hand by {who}", note.text if note else None)
        at = offer.accepted_at or offer.created_at
        out.append(Entry(at, "assigned", text, who=who, crew=crew))
    elif offer.accepted_at is not None:
        out.append(Entry(offer.accepted_at, "accepted", f"{crew} accepted", crew=crew))
    if offer.on_scene_at is not None:
        out.append(Entry(offer.on_scene_at, "on_scene", f"{crew} on scene", crew=crew))
    ending = OFFER_ENDINGS.get(offer.state)
    if ending is not None:
        at = offer.closed_at or offer.created_at
        if ending == "withdrawn":
            note = notes.take("withdraw", offer.crew_id) if offer.withdrawn_by else None
            by = names.person(offer.withdrawn_by)
            text = f"Offer to {crew} withdrawn" + (f" by {by}" if by else "")
            reason = note.text if note and note.text else offer.reason
            out.append(Entry(at, "withdrawn", _with_reason(text, reason), who=by, crew=crew))
        else:
            text = f"{crew} declined" if ending == "declined" else f"Offer to {crew} expired"
            out.append(Entry(at, ending, _with_reason(text, offer.reason), crew=crew))
    return out


def _note_entry(note: AlertNote, names: Names, officer: str) -> Entry:
    who = names.person(note.user_id)
    crew = names.crew(note.crew_id)
    text = note.text or None
    match note.action:
        case "take":
            return Entry(note.at, "taken", _with_reason(f"Taken in hand by {who}", text), who=who)
        case "assign":
            line = _with_reason(f"{crew} assigned by hand by {who}", text)
            return Entry(note.at, "assigned", line, who=who, crew=crew)
        case "withdraw":
            line = _with_reason(f"{who} withdrew the offer to {crew}", text)
            return Entry(note.at, "withdrawn", line, who=who, crew=crew)
        case "release":
            line = _with_reason(f"{who} released {crew}", text)
            return Entry(note.at, "released", line, who=who, crew=crew)
        case "urgent":
            line = text or "The officer needs urgent help."
            return Entry(note.at, "urgent", line, who=who or officer)
        case "duress":
            line = _with_reason("Duress", text or "the duress PIN was used: treated as urgent.")
            return Entry(note.at, "duress", line, who=who or officer)
        case "unassigned":
            line = text or "No crew free: escalated to supervisors."
            return Entry(note.at, "unassigned", line, who=who)
        case "cancel" | "close":
            verb = "cancel" if note.action == "cancel" else "close"
            return Entry(note.at, "note", _with_reason(f"{who} asked to {verb}", text), who=who)
        case _:
            label = f"Note by {who}" if who else "Note"
            return Entry(note.at, "note", _with_reason(label, text), who=who, crew=crew)


def _ending(alert: Alert, names: Names, notes: _Notes) -> Entry | None:
    if alert.closed_at is None:
        return None
    if alert.state == "resolved":
        note = notes.take("close")
        who = names.person(note.user_id) if note else None
        text = "Resolved"
        if alert.outcome:
            text += f": {_humane(alert.outcome)}"
        if alert.outcome_note:
            text += f" ({alert.outcome_note})"
        if who:
            text += f", closed by {who}"
            if note and note.text:
                text += f": {note.text}"
        return Entry(alert.closed_at, "resolved", text, who=who)
    if alert.state == "cancelled":
        note = notes.take("cancel")
        who = names.person(note.user_id) if note else None
        reason = note.text if note and note.text else alert.close_reason
        text = "Cancelled" + (f" by {who}" if who else "")
        return Entry(alert.closed_at, "cancelled", _with_reason(text, reason), who=who)
    return None


def timeline(
    alert: Alert,
    offers: Sequence[Offer],
    notes: Iterable[AlertNote],
    names: Names,
) -> list[Entry]:
    """Every step of the alert, oldest first."""
    officer = names.person(alert.officer_id) or "the officer"
    left = _Notes(notes)
    # Urgent from the start, unless a note says when it became urgent.
    urgent = alert.urgent and not any(n.action in ("urgent", "duress") for n in left.left)
    entries = [_raised(alert, officer, names, urgent=urgent)]
    for offer in sorted(offers, key=lambda o: (o.created_at, o.id)):
        entries += _offer_entries(offer, names, left)
    ending = _ending(alert, names, left)
    entries += [_note_entry(note, names, officer) for note in left.left]
    if ending is not None:
        entries.append(ending)
    return _from_press(alert, sorted(entries, key=lambda e: (e.at, _RANK.get(e.kind, 8))))

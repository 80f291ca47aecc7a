"""An incident's timeline, built from rows: every step, in order, with who and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dispatch.storage.models import Alert, AlertNote, Offer
from ops_console.timeline import Names, timeline

T0 = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
NAMES = Names(
    people={"off": "PC Jones", "sup": "Sgt Patel"},
    callsigns={"c1": "CAR-1", "c2": "BIKE-2", "c3": "FOOT-3"},
    place="Castle Green",
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def alert(**kw: Any) -> Alert:
    base: dict[str, Any] = {
        "id": "al1",
        "officer_id": "off",
        "state": "raised",
        "lat": 52.0565,
        "lon": -2.716,
        "raised_at": T0,
        "updated_at": T0,
        "category": "following",
        "note": "man in grey hoodie",
    }
    base.update(kw)
    return Alert(**base)


def offer(crew: str, state: str, created: float, **kw: Any) -> Offer:
    base: dict[str, Any] = {
        "id": f"o-{crew}",
        "alert_id": "al1",
        "crew_id": crew,
        "state": state,
        "created_at": at(created),
        "deadline": at(created + 30),
        "distance_m": 850.0,
        "eta_s": 126.0,
    }
    base.update(kw)
    return Offer(**base)


def note(n: int, action: str, seconds: float, **kw: Any) -> AlertNote:
    return AlertNote(id=n, alert_id="al1", at=at(seconds), action=action, **kw)


def kinds(entries: list[Any]) -> list[str]:
    return [e.kind for e in entries]


def test_an_alert_offered_declined_accepted_on_scene_and_resolved() -> None:
    resolved = alert(
        state="resolved",
        closed_at=at(900),
        outcome="words_of_advice",
        outcome_note="spoke to him",
    )
    offers = [
        offer("c1", "declined", 1, closed_at=at(8), reason="stuck in traffic"),
        offer("c2", "accepted", 8, accepted_at=at(20), closed_at=at(20), on_scene_at=at(140)),
    ]
    entries = timeline(resolved, offers, [], NAMES)
    assert kinds(entries) == [
        "raised",
        "offered",
        "declined",
        "offered",
        "accepted",
        "on_scene",
        "resolved",
    ]
    raised = entries[0]
    assert raised.at == T0 and raised.who == "PC Jones"
    assert "Castle Green" in raised.text and "following" in raised.text
    assert "man in grey hoodie" in raised.text
    assert entries[1].text == "Offered to CAR-1, 850 m away, ETA 2.1 min"
    assert entries[2].text == "CAR-1 declined: stuck in traffic" and entries[2].at == at(8)
    assert (entries[4].crew, entries[4].at) == ("BIKE-2", at(20))
    assert entries[5].text == "BIKE-2 on scene" and entries[5].at == at(140)
    assert entries[6].text == "Resolved: words of advice (spoke to him)"
    assert entries[6].at == at(900)


def test_escalation_hand_assignment_withdrawal_and_a_supervisors_close() -> None:
    closed = alert(state="resolved", closed_at=at(600), outcome="false_alarm")
    offers = [
        offer("c1", "expired", 1, closed_at=at(31), reason="no answer"),
        offer(
            "c3",
            "withdrawn",
            40,
            closed_at=at(70),
            withdrawn_by="sup",
            reason="withdrawn by a supervisor: too far",
        ),
        offer(
            "c2",
            "accepted",
            90,
            accepted_at=at(90),
            closed_at=at(90),
            assigned_by="sup",
            on_scene_at=at(300),
        ),
    ]
    notes = [
        note(1, "unassigned", 31, text="No crew free: escalated to supervisors."),
        note(2, "take", 35, user_id="sup"),
        note(3, "withdraw", 70, user_id="sup", crew_id="c3", text="too far"),
        note(4, "assign", 90, user_id="sup", crew_id="c2", text="nearest on foot"),
        note(5, "note", 200, user_id="sup", text="officer safe, talking to him"),
        note(6, "close", 600, user_id="sup", text="he left"),
    ]
    entries = timeline(closed, offers, notes, NAMES)
    assert kinds(entries) == [
        "raised",
        "offered",
        "expired",
        "unassigned",
        "taken",
        "offered",
        "withdrawn",
        "assigned",
        "note",
        "on_scene",
        "resolved",
    ]
    by_kind = {e.kind: e for e in entries}
    assert by_kind["expired"].text == "Offer to CAR-1 expired: no answer"
    assert by_kind["unassigned"].who is None and "escalated" in by_kind["unassigned"].text
    assert by_kind["taken"].text == "Taken in hand by Sgt Patel"
    withdrawn = by_kind["withdrawn"]
    assert withdrawn.text == "Offer to FOOT-3 withdrawn by Sgt Patel: too far"
    assert (withdrawn.who, withdrawn.crew) == ("Sgt Patel", "FOOT-3")
    assigned = by_kind["assigned"]
    assert assigned.text == "BIKE-2 assigned by hand by Sgt Patel: nearest on foot"
    assert assigned.at == at(90) and assigned.who == "Sgt Patel"
    assert by_kind["note"].text == "Note by Sgt Patel: officer safe, talking to him"
    assert by_kind["resolved"].text == "Resolved: false alarm, closed by Sgt Patel: he left"
    assert by_kind["resolved"].who == "Sgt Patel"
    # Notes folded into their offer's or the alert's step are not told twice.
    assert sum("too far" in e.text for e in entries) == 1
    assert sum("nearest on foot" in e.text for e in entries) == 1


def test_an_open_offer_taken_by_hand_keeps_its_offer() -> None:
    offers = [offer("c1", "accepted", 5, accepted_at=at(12), closed_at=at(12), assigned_by="sup")]
    entries = timeline(alert(state="assigned"), offers, [], NAMES)
    assert kinds(entries) == ["raised", "offered", "assigned"]
    assert entries[2].text == "CAR-1 assigned by hand by Sgt Patel"


def test_urgent_duress_release_and_a_supervisors_cancel() -> None:
    cancelled = alert(
        state="cancelled",
        urgent=True,
        crews_needed=2,
        closed_at=at(500),
        close_reason="cancelled by a supervisor: duplicate",
    )
    offers = [offer("c1", "accepted", 1, accepted_at=at(5), closed_at=at(5), withdrawn_by="sup")]
    notes = [
        note(1, "duress", 60, user_id="off", text="Cancelled with the duress PIN."),
        note(2, "release", 100, user_id="sup", crew_id="c1", text="needed elsewhere"),
        note(3, "cancel", 500, user_id="sup", text="duplicate"),
    ]
    entries = timeline(cancelled, offers, notes, NAMES)
    assert kinds(entries) == ["raised", "offered", "accepted", "duress", "released", "cancelled"]
    assert not entries[0].text.startswith("Raised as urgent")  # a note says when it became so
    assert entries[3].who == "PC Jones" and "duress PIN" in entries[3].text
    assert entries[4].text == "Sgt Patel released CAR-1: needed elsewhere"
    assert entries[5].text == "Cancelled by Sgt Patel: duplicate"


def test_raised_urgent_with_no_note_and_an_officers_cancel() -> None:
    cancelled = alert(
        state="cancelled",
        urgent=True,
        crews_needed=2,
        closed_at=at(30),
        close_reason="cancelled by the officer",
        category=None,
        note=None,
    )
    entries = timeline(cancelled, [], [], Names({}, {}, None))
    assert kinds(entries) == ["raised", "cancelled"]
    assert entries[0].text == "Raised as urgent at 52.05650, -2.71600"
    assert entries[0].who == "an unknown user"
    assert entries[1].text == "Cancelled: cancelled by the officer" and entries[1].who is None


def test_an_open_alert_has_no_ending_and_same_instant_steps_keep_their_order() -> None:
    offers = [offer("c1", "accepted", 0, accepted_at=at(0), closed_at=at(0))]
    entries = timeline(
        alert(state="assigned"), offers, [note(1, "urgent", 0, user_id="off")], NAMES
    )
    assert kinds(entries) == ["raised", "urgent", "offered", "accepted"]
    assert entries[1].text == "The officer needs urgent help." and entries[1].who == "PC Jones"

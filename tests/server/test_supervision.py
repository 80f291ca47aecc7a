"""Supervisors' hands on alerts: take, assign by hand, withdraw or release, close, cancel,
note; each kept with its reason. Real server, real websocket clients, SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from dispatch.storage.models import Alert, AlertNote, Crew, Offer
from schemas.common import CrewMode
from tests.support import CENTRE, Client, RunningServer, north_of


async def crew_id(server: RunningServer, client: Client) -> str:
    return next(c.id for c in await server.rows(Crew) if c.callsign == client.callsign)


async def notes(server: RunningServer, alert_id: str) -> list[tuple[str, str]]:
    rows = [n for n in await server.rows(AlertNote) if n.alert_id == alert_id]
    return [(n.action, n.text) for n in sorted(rows, key=lambda n: (n.at, n.id or 0))]


async def alert_state(sup: Client, alert_id: str, state: str) -> dict[str, Any]:
    frame = await sup.wait_for(
        lambda f: (
            f["type"] == "alert" and f["alert"]["id"] == alert_id and f["alert"]["state"] == state
        )
    )
    alert: dict[str, Any] = frame["alert"]
    return alert


async def test_no_crew_free_escalates_and_a_supervisor_assigns_an_off_duty_crew_by_hand(
    server: RunningServer,
) -> None:
    resting = await server.crew(CrewMode.CAR, north_of(CENTRE, 800), on_duty=False)
    sup = await server.supervisor()
    officer = await server.officer()
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    escalated = await alert_state(sup, alert_id, "unassigned")
    assert escalated["taken_by"] is None

    ack = await sup.request(
        "alert.assign",
        alert_id=alert_id,
        crew_id=await crew_id(server, resting),
        reason="Raised Bravo on the radio",
    )

    assert ack["type"] == "ack", ack
    assigned = await alert_state(sup, alert_id, "assigned")
    assert [c["callsign"] for c in assigned["crews"]] == [resting.callsign]
    assert assigned["taken_by"]  # acting on it took it: the console's alarm stops
    await resting.wait_for(lambda f: f["type"] == "alert" and f["alert"]["id"] == alert_id)
    await officer.wait_for(
        lambda f: f["type"] == "alert" and f["alert"]["status"] == "crew_assigned"
    )
    offer = next(o for o in await server.rows(Offer) if o.alert_id == alert_id)
    assert offer.state == "accepted" and offer.assigned_by is not None
    crew = next(c for c in await server.rows(Crew) if c.callsign == resting.callsign)
    assert crew.state == "assigned" and crew.alert_id == alert_id
    assert await notes(server, alert_id) == [
        ("unassigned", "No crew free: escalated to supervisors."),
        ("assign", "Raised Bravo on the radio"),
    ]

    # The crew works it as if it had accepted: on scene, then resolved; it is free again.
    await resting.request("assignment.status", alert_id=alert_id, status="on_scene")
    ack = await resting.request(
        "assignment.status", alert_id=alert_id, status="resolved", outcome="words_of_advice"
    )
    assert ack["result"]["state"] == "resolved"
    crew = next(c for c in await server.rows(Crew) if c.callsign == resting.callsign)
    assert crew.state == "available"


async def test_a_withdrawn_offer_moves_on_and_never_comes_back_to_that_crew(
    server: RunningServer,
) -> None:
    near = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    far = await server.crew(CrewMode.FOOT, north_of(CENTRE, 600))
    sup = await server.supervisor()
    officer = await server.officer()
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    first = await near.offer()

    ack = await sup.request(
        "offer.withdraw", offer_id=first["id"], reason="Bravo is at another job"
    )

    assert ack["type"] == "ack", ack
    await near.wait_for(lambda f: f["type"] == "offer" and f["offer"]["state"] == "withdrawn")
    # Withdrawing took it in hand: every console stops ringing, though it is still dispatching.
    await sup.wait_for(
        lambda f: f["type"] == "alert" and f["alert"]["id"] == alert_id and f["alert"]["taken_by"]
    )
    second = await far.offer()
    await far.request("offer.decline", offer_id=second["id"])
    await alert_state(sup, alert_id, "unassigned")
    # The nearest crew is free and ready, yet the supervisor's withdrawal holds.
    assert [o["id"] for o in near.offers_received()] == [first["id"]]
    assert ("withdraw", "Bravo is at another job") in await notes(server, alert_id)


async def test_releasing_the_only_crew_on_scene_sends_the_alert_back_to_dispatch(
    server: RunningServer,
) -> None:
    crew = await server.crew(CrewMode.BIKE, north_of(CENTRE, 200))
    other = await server.crew(CrewMode.BIKE, north_of(CENTRE, 900))
    sup = await server.supervisor()
    officer = await server.officer()
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    offer = await crew.offer()
    await crew.request("offer.accept", offer_id=offer["id"])
    await crew.request("assignment.status", alert_id=alert_id, status="on_scene")
    await alert_state(sup, alert_id, "on_scene")

    ack = await sup.request("offer.withdraw", offer_id=offer["id"], reason="Needed at a collision")

    assert ack["type"] == "ack", ack
    await alert_state(sup, alert_id, "dispatching")
    await other.offer()
    await crew.wait_for(lambda f: f["type"] == "alert.removed" and f["alert_id"] == alert_id)
    row = next(o for o in await server.rows(Offer) if o.id == offer["id"])
    assert row.assignment_status == "cleared" and row.on_scene_at is not None
    assert row.withdrawn_by is not None


async def test_a_supervisor_closes_with_an_outcome_and_cancels_only_with_a_reason(
    server: RunningServer,
) -> None:
    crew = await server.crew(CrewMode.CAR, north_of(CENTRE, 300))
    sup = await server.supervisor()
    officer = await server.officer()
    first = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    offer = await crew.offer()
    await crew.request("offer.accept", offer_id=offer["id"])

    ack = await sup.request(
        "alert.close", alert_id=first, outcome="arrest", reason="Crew reported by radio"
    )

    assert ack["result"]["state"] == "resolved"
    row = next(a for a in await server.rows(Alert) if a.id == first)
    assert row.outcome == "arrest" and "Crew reported by radio" in (row.close_reason or "")
    assert next(c for c in await server.rows(Crew) if c.callsign == crew.callsign).state == (
        "available"
    )

    second = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    refused = await sup.request("alert.cancel", alert_id=second)
    assert refused["type"] == "error" and refused["code"] == "invalid"
    assert next(a for a in await server.rows(Alert) if a.id == second).state != "cancelled"
    ack = await sup.request("alert.cancel", alert_id=second, reason="Officer phoned: false alarm")
    assert ack["result"]["state"] == "cancelled"
    assert ("cancel", "Officer phoned: false alarm") in await notes(server, second)


async def test_take_note_and_refusals_change_nothing(server: RunningServer) -> None:
    busy = await server.crew(CrewMode.CAR, north_of(CENTRE, 300))
    sup = await server.supervisor()
    officer = await server.officer()
    first = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    offer = await busy.offer()
    await busy.request("offer.accept", offer_id=offer["id"])
    second = (await officer.raise_alert(north_of(CENTRE, 50)))["result"]["alert_id"]
    await alert_state(sup, second, "unassigned")
    busy_id = await crew_id(server, busy)

    taken = await sup.request("alert.take", alert_id=second)
    again = await sup.request("alert.take", alert_id=second)
    assert taken["result"]["taken_by"] and again["result"] == taken["result"]
    note = await sup.request("alert.note", alert_id=second, text="Calling her on the radio")
    assert note["type"] == "ack"

    refusals = [
        (
            officer,
            "alert.assign",
            {"alert_id": second, "crew_id": busy_id, "reason": "x"},
            "forbidden",
        ),
        (sup, "alert.assign", {"alert_id": second, "crew_id": busy_id, "reason": "x"}, "conflict"),
        (sup, "alert.assign", {"alert_id": second, "crew_id": "nope", "reason": "x"}, "not_found"),
        (sup, "alert.assign", {"alert_id": second, "crew_id": busy_id, "reason": ""}, "invalid"),
        (sup, "alert.assign", {"alert_id": first, "crew_id": busy_id, "reason": "x"}, "conflict"),
        (sup, "offer.withdraw", {"offer_id": "nope", "reason": "x"}, "not_found"),
        (sup, "alert.close", {"alert_id": second, "outcome": "maybe", "reason": "x"}, "invalid"),
        (busy, "alert.close", {"alert_id": first, "outcome": "arrest", "reason": "x"}, "forbidden"),
    ]
    for client, kind, body, code in refusals:
        answer = await client.request(kind, **body)
        assert (answer["type"], answer.get("code")) == ("error", code), (kind, body, answer)
        assert answer["message"]
    assert next(a for a in await server.rows(Alert) if a.id == second).state == "unassigned"

    await sup.request("alert.close", alert_id=first, outcome="offender_not_found", reason="Gone")
    late = await sup.request("alert.close", alert_id=first, outcome="arrest", reason="again")
    assert late["code"] == "illegal_transition"
    assert (
        next(a for a in await server.rows(Alert) if a.id == first).outcome == "offender_not_found"
    )
    assert [a for a, _ in await notes(server, second)] == ["unassigned", "take", "note"]

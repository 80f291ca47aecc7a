"""Crew needs help (issue 14 item 7): a crew member's call takes the nearest other crews
like an urgent alert, rings on every console (supervisors see it, urgent, with the crew),
never reaches an officer and is idempotent like alert.raise. Real server, real websocket
clients, SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

from dispatch.storage.models import Alert, Offer
from schemas.common import CrewMode, Role
from tests.support import CENTRE, Client, RunningServer, north_of

WAIT = 15


async def ok(client: Client, type_: str, **body: Any) -> dict[str, Any]:
    reply = await client.request(type_, timeout=WAIT, **body)
    assert reply["type"] == "ack", reply
    return reply


async def test_a_crews_call_for_help_goes_to_the_nearest_other_crews_and_never_an_officer(
    server: RunningServer,
) -> None:
    caller = await server.crew(CrewMode.FOOT, CENTRE)
    near = await server.crew(CrewMode.FOOT, north_of(CENTRE, 150))
    next_near = await server.crew(CrewMode.FOOT, north_of(CENTRE, 400))
    far = await server.crew(CrewMode.FOOT, north_of(CENTRE, 3000))
    sup = await server.supervisor()
    officer = await server.officer()
    alert_id = uuid.uuid4().hex

    first = await ok(caller, "crew.help", alert_id=alert_id, note="two of them, one with a bat")
    assert first["result"] == {"alert_id": alert_id, "state": "dispatching", "created": True}
    # Urgent: it takes two crews, the nearest two other than the caller.
    got = [await near.offer(WAIT), await next_near.offer(WAIT)]
    assert {o["alert_id"] for o in got} == {alert_id}
    assert all(o["urgent"] and o["help_crew_id"] == caller.session["crew_id"] for o in got)
    seen = await sup.wait_for(lambda f: f["type"] == "alert" and f["alert"]["id"] == alert_id, WAIT)
    view = seen["alert"]
    assert view["urgent"] and view["origin"] == "crew_help"
    assert view["help_crew_id"] == caller.session["crew_id"]
    assert (view["lat"], view["lon"]) == CENTRE
    assert view["note"].startswith(f"Crew {caller.callsign} needs help: two of them")
    # The caller sees its own call (and who comes); it is never offered it.
    await caller.wait_for(lambda f: f["type"] == "alert" and f["alert"]["id"] == alert_id, WAIT)
    offers = [o for o in await server.rows(Offer) if o.alert_id == alert_id]
    assert caller.session["crew_id"] not in {o.crew_id for o in offers}
    assert far.session["crew_id"] not in {o.crew_id for o in offers}

    # A resend of the same id changes nothing.
    again = await ok(caller, "crew.help", alert_id=alert_id)
    assert again["result"]["created"] is False
    assert len([a for a in await server.rows(Alert) if a.id == alert_id]) == 1
    # Another crew may not use that id; an officer may not call a crew's help at all.
    taken = await far.request("crew.help", alert_id=alert_id, timeout=WAIT)
    assert taken["code"] == "conflict"
    refused = await officer.request("crew.help", alert_id=uuid.uuid4().hex, timeout=WAIT)
    assert refused["code"] == "forbidden"

    # The nearest accepts: the caller and it see each other move.
    await ok(near, "offer.accept", offer_id=got[0]["id"])
    await caller.position(*north_of(CENTRE, 20))
    moved = await near.wait_for(
        lambda f: f["type"] == "position" and f["subject_id"] == caller.session["crew_id"], WAIT
    )
    assert moved["alert_id"] == alert_id
    await near.position(*north_of(CENTRE, 100))
    await caller.wait_for(
        lambda f: f["type"] == "position" and f["subject_id"] == near.session["crew_id"], WAIT
    )
    # Messages on it reach the caller too.
    await ok(sup, "message.send", alert_id=alert_id, quick="on_my_way")
    await caller.wait_for(lambda f: f["type"] == "message", WAIT)

    # Her own alert comes after all that: nothing of the crew's call came before it.
    mine = (await officer.raise_alert(north_of(CENTRE, 5000)))["result"]["alert_id"]
    await officer.wait_for(lambda f: f["type"] == "alert" and f["alert"]["id"] == mine, WAIT)
    assert all(
        f.get("alert", {}).get("id") != alert_id and f.get("type") not in ("message",)
        for f in officer.frames
    )
    assert all(f.get("type") != "position" or f["role"] == "officer" for f in officer.frames)
    her = await server.connect(officer.session["username"])
    snapshot = next(f for f in her.frames if f["type"] == "snapshot")
    assert [a["id"] for a in snapshot["alerts"]] == [mine]


async def test_a_call_with_no_position_known_is_refused_with_a_sentence(
    server: RunningServer,
) -> None:
    callsign = await server.add_crew(CrewMode.CAR)
    crew = await server.connect(await server.add_user(Role.CREW, crew=callsign))
    refused = await crew.request("crew.help", alert_id=uuid.uuid4().hex, timeout=WAIT)
    assert refused["code"] == "invalid" and "position" in refused["message"]
    assert [a for a in await server.rows(Alert) if a.origin == "crew_help"] == []

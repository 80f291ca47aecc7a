"""An officer's PINs: the cancel PIN cancels, a wrong PIN changes nothing, and the duress
PIN escalates her alert while answering her exactly as a cancel would.

Real server on loopback, real websocket clients, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from dispatch.people import add_user
from dispatch.storage.db import Database
from dispatch.storage.models import Alert, User
from schemas.common import CrewMode, Role
from tests.support import CENTRE, PASSWORD, Client, RunningServer, north_of

CANCEL_PIN, DURESS_PIN = "2468", "1357"


async def officer_with_pins(server: RunningServer) -> Client:
    username = f"pinned{next(server._counter)}"
    db = Database(server.settings.database.url)
    try:
        await add_user(
            db,
            username=username,
            password=PASSWORD,
            role=Role.OFFICER,
            now=datetime.now(UTC),
            cancel_pin=CANCEL_PIN,
            duress_pin=DURESS_PIN,
        )
    finally:
        await db.close()
    return await server.connect(username)


async def stored(server: RunningServer, alert_id: str) -> Alert:
    (alert,) = [a for a in await server.rows(Alert) if a.id == alert_id]
    return alert


def cancel_ack_shape(ack: dict[str, Any]) -> dict[str, Any]:
    return {"type": ack["type"], "keys": sorted(ack["result"]), "state": ack["result"]["state"]}


async def test_the_right_pin_cancels(server: RunningServer) -> None:
    officer = await officer_with_pins(server)
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]

    ack = await officer.request("alert.cancel", alert_id=alert_id, pin=CANCEL_PIN)

    assert ack["type"] == "ack", ack
    assert ack["result"] == {"alert_id": alert_id, "state": "cancelled"}
    await officer.wait_for(lambda f: f["type"] == "alert" and f["alert"]["state"] == "cancelled")
    assert (await stored(server, alert_id)).state == "cancelled"


async def test_a_wrong_or_missing_pin_is_refused_and_changes_nothing(
    server: RunningServer,
) -> None:
    officer = await officer_with_pins(server)
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    await officer.wait_for(lambda f: f["type"] == "alert" and f["alert"]["id"] == alert_id)
    before = (await stored(server, alert_id)).model_dump()

    wrong = await officer.request("alert.cancel", alert_id=alert_id, pin="0000")
    missing = await officer.request("alert.cancel", alert_id=alert_id)
    not_a_pin = await officer.request("alert.cancel", alert_id=alert_id, pin="12a4")

    assert (wrong["type"], wrong["code"]) == ("error", "forbidden"), wrong
    assert "PIN" in wrong["message"]
    assert (missing["type"], missing["code"]) == ("error", "invalid"), missing
    assert "pin" in missing["message"]
    assert (not_a_pin["type"], not_a_pin["code"]) == ("error", "invalid"), not_a_pin
    assert (await stored(server, alert_id)).model_dump() == before
    # and the right one still works afterwards
    ack = await officer.request("alert.cancel", alert_id=alert_id, pin=CANCEL_PIN)
    assert ack["result"]["state"] == "cancelled"
    (user,) = [u for u in await server.rows(User) if u.id == officer.session["user_id"]]
    assert user.pin_failures == 0


async def test_repeated_wrong_pins_lock_cancelling_but_not_the_duress_pin(
    server: RunningServer,
) -> None:
    officer = await officer_with_pins(server)
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    for _ in range(server.settings.auth.max_failed_logins):
        assert (await officer.request("alert.cancel", alert_id=alert_id, pin="9999"))[
            "code"
        ] == "forbidden"

    locked = await officer.request("alert.cancel", alert_id=alert_id, pin=CANCEL_PIN)
    duress = await officer.request("alert.cancel", alert_id=alert_id, pin=DURESS_PIN)

    assert (locked["type"], locked["code"]) == ("error", "forbidden"), locked
    assert "locked" in locked["message"]
    assert duress["type"] == "ack", duress
    alert = await stored(server, alert_id)
    assert alert.state != "cancelled" and alert.urgent


async def test_the_duress_pin_escalates_and_is_answered_like_a_cancel(
    server: RunningServer,
) -> None:
    supervisor = await server.supervisor()
    near = await server.crew(CrewMode.FOOT, north_of(CENTRE, 200))
    second = await server.crew(CrewMode.FOOT, north_of(CENTRE, 600))
    officer = await officer_with_pins(server)
    real = await officer_with_pins(server)
    real_id = (await real.raise_alert(north_of(CENTRE, 5000)))["result"]["alert_id"]
    real_ack = await real.request("alert.cancel", alert_id=real_id, pin=CANCEL_PIN)
    alert_id = (await officer.raise_alert(CENTRE, category="following"))["result"]["alert_id"]
    await near.offer()

    ack = await officer.request("alert.cancel", alert_id=alert_id, pin=DURESS_PIN)

    # Her phone is told exactly what a real cancel is told.
    assert cancel_ack_shape(ack) == cancel_ack_shape(real_ack)
    assert ack["result"] == {"alert_id": alert_id, "state": "cancelled"}
    # But the alert is open, urgent and marked for the supervisors, and takes more crews.
    seen = await supervisor.wait_for(
        lambda f: (
            f["type"] == "alert"
            and f["alert"]["id"] == alert_id
            and f["alert"]["urgent"]
            and "DURESS" in (f["alert"]["note"] or "")
        )
    )
    assert seen["alert"]["state"] not in ("cancelled", "resolved")
    assert seen["alert"]["crews_needed"] == server.settings.dispatch.urgent_crews
    offer = await second.wait_for(
        lambda f: (
            f["type"] == "offer"
            and f["offer"]["alert_id"] == alert_id
            and f["offer"]["state"] == "offered"
        )
    )
    assert offer["offer"]["urgent"]
    alert = await stored(server, alert_id)
    assert alert.state != "cancelled" and alert.urgent and alert.close_reason is None
    # Her position keeps reaching the supervisors, tagged with the open alert.
    await officer.position(*north_of(CENTRE, 30))
    await supervisor.wait_for(
        lambda f: (
            f["type"] == "position"
            and f["role"] == "officer"
            and f.get("alert_id") == alert_id
            and abs(f["lat"] - north_of(CENTRE, 30)[0]) < 1e-9
        )
    )


async def test_without_pins_a_cancel_needs_none_and_a_supervisor_needs_none(
    server: RunningServer,
) -> None:
    plain = await server.officer()
    supervisor = await server.supervisor()
    pinned = await officer_with_pins(server)
    plain_id = (await plain.raise_alert(CENTRE))["result"]["alert_id"]
    pinned_id = (await pinned.raise_alert(CENTRE))["result"]["alert_id"]

    assert (await plain.request("alert.cancel", alert_id=plain_id))["type"] == "ack"
    ack = await supervisor.request("alert.cancel", alert_id=pinned_id, reason="Checked by radio")
    assert ack["result"]["state"] == "cancelled"


def alert_frames(client: Client, alert_id: str) -> list[dict[str, Any]]:
    return [
        f["alert"] for f in client.frames if f["type"] == "alert" and f["alert"]["id"] == alert_id
    ]


def masked(view: dict[str, Any]) -> dict[str, Any]:
    """A view without what differs between any two alerts (ids, times, places)."""
    drop = {"id", "officer_id", "raised_at", "updated_at", "lat", "lon", "accuracy", "category"}
    return {k: v for k, v in view.items() if k not in drop}


async def test_after_her_duress_pin_her_phone_sees_exactly_what_a_real_cancel_shows(
    server: RunningServer,
) -> None:
    supervisor = await server.supervisor()
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 200))
    officer = await officer_with_pins(server)
    real = await officer_with_pins(server)
    real_id = (await real.raise_alert(north_of(CENTRE, 5000)))["result"]["alert_id"]
    await real.request("alert.cancel", alert_id=real_id, pin=CANCEL_PIN)
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    offer = await crew.offer()

    mark = len(crew.frames)
    await officer.request("alert.cancel", alert_id=alert_id, pin=DURESS_PIN)
    await supervisor.wait_for(lambda f: f["type"] == "alert" and f["alert"]["urgent"])
    # The truth goes on: the crew accepts (its offer made again, urgent), a supervisor
    # takes it in hand.
    offer = await crew.wait_for(
        lambda f: f["type"] == "offer" and f["offer"]["state"] == "offered", start=mark
    )
    accepted = await crew.request("offer.accept", offer_id=offer["offer"]["id"])
    assert accepted["type"] == "ack", accepted
    assert (await supervisor.request("alert.take", alert_id=alert_id))["type"] == "ack"
    await supervisor.wait_for(lambda f: f["type"] == "alert" and f["alert"]["taken_by"])
    await officer.position(*north_of(CENTRE, 10))  # a round trip: her frames are all in

    hers = alert_frames(officer, alert_id)
    theirs = alert_frames(real, real_id)
    assert [masked(v) for v in hers] == [masked(v) for v in theirs], (hers, theirs)
    assert hers[-1]["state"] == "cancelled" and hers[-1]["status"] == "cancelled"
    for frame in officer.frames:
        text = json.dumps(frame)
        assert "DURESS" not in text and "unassigned" not in text
    # A fresh snapshot lists it no more than a cancelled alert.
    again = await server.connect(officer.session["username"])
    snapshot = next(f for f in again.frames if f["type"] == "snapshot")
    assert snapshot["alerts"] == []
    # And acting on it answers as a cancelled alert would.
    for kind in ("alert.escalate", "alert.cancel"):
        refused = await officer.request(kind, alert_id=alert_id, pin=CANCEL_PIN)
        gone = await real.request(kind, alert_id=real_id, pin=CANCEL_PIN)
        assert (refused["code"], refused["message"]) == (gone["code"], gone["message"])


async def test_her_frames_never_say_unassigned_or_who_took_it(server: RunningServer) -> None:
    supervisor = await server.supervisor()
    officer = await server.officer()
    ack = await officer.raise_alert(CENTRE)  # no crew: unassigned
    assert ack["result"]["state"] == "dispatching"
    alert_id = ack["result"]["alert_id"]
    assert (await supervisor.request("alert.take", alert_id=alert_id))["type"] == "ack"
    await supervisor.wait_for(lambda f: f["type"] == "alert" and f["alert"]["taken_by"])
    await officer.position(*CENTRE)
    views = alert_frames(officer, alert_id)
    assert views and all(v["state"] == "dispatching" and v["taken_by"] is None for v in views)
    again = await server.connect(officer.session["username"])
    snapshot = next(f for f in again.frames if f["type"] == "snapshot")
    assert [(v["state"], v["taken_by"], v["crews"]) for v in snapshot["alerts"]] == [
        ("dispatching", None, [])
    ]

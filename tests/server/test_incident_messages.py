"""Incident messages (issue 14 item 6): supervisors and the crews on an alert exchange
short messages; the officer gets none of them, only a supervisor's vibration code; crews
on one alert see each other's positions. Real server, real websocket clients, SQLite and
PostgreSQL."""

from __future__ import annotations

from typing import Any

from dispatch.storage.models import AlertNote, IncidentMessage
from schemas.common import CrewMode
from tests.support import CENTRE, Client, RunningServer, north_of

WAIT = 15  # generous: the machine is shared


async def ok(client: Client, type_: str, **body: Any) -> dict[str, Any]:
    reply = await client.request(type_, timeout=WAIT, **body)
    assert reply["type"] == "ack", reply
    return reply


async def assigned_alert(officer: Client, crew: Client) -> str:
    """The officer raises; the crew accepts: the alert id."""
    alert_id: str = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    offer = await crew.offer(WAIT)
    await ok(crew, "offer.accept", offer_id=offer["id"])
    return alert_id


def messages(client: Client) -> list[dict[str, Any]]:
    return [f["message"] for f in client.frames if f.get("type") == "message"]


async def test_a_supervisors_message_reaches_the_alerts_crews_and_supervisors_only(
    server: RunningServer,
) -> None:
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    other = await server.crew(CrewMode.FOOT, north_of(CENTRE, 5000), on_duty=False)
    sup, sup2 = await server.supervisor(), await server.supervisor()
    officer = await server.officer()
    alert_id = await assigned_alert(officer, crew)

    await ok(
        sup, "message.send", alert_id=alert_id, quick="stand_by", text="  two  men\tby the gate "
    )
    got = await crew.wait_for(lambda f: f["type"] == "message", WAIT)
    assert got["message"]["text"] == "Stand by: two men by the gate"
    assert got["message"]["role"] == "supervisor" and got["message"]["quick"] == "stand_by"
    await sup2.wait_for(lambda f: f["type"] == "message", WAIT)

    # The crew replies with a quick reply; every supervisor sees it, with its callsign.
    await ok(crew, "message.send", alert_id=alert_id, quick="on_scene")
    reply = await sup2.wait_for(
        lambda f: f["type"] == "message" and f["message"]["role"] == "crew", WAIT
    )
    assert reply["message"]["author"] == crew.callsign
    assert reply["message"]["text"] == "On scene"

    # Something the officer does see comes after both: nothing of them came before it.
    await ok(crew, "assignment.status", alert_id=alert_id, status="on_scene")
    await officer.wait_for(
        lambda f: f["type"] == "alert" and f["alert"]["status"] == "crew_on_scene", WAIT
    )
    assert messages(officer) == [] and messages(other) == []
    assert all(f.get("type") != "message" for f in officer.frames)
    rows = [m for m in await server.rows(IncidentMessage) if m.alert_id == alert_id]
    assert sorted(m.text for m in rows) == ["On scene", "Stand by: two men by the gate"]


async def test_bad_messages_are_refused_with_a_sentence_and_change_nothing(
    server: RunningServer,
) -> None:
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    outsider = await server.crew(CrewMode.FOOT, north_of(CENTRE, 9000), on_duty=False)
    sup = await server.supervisor()
    officer = await server.officer()
    alert_id = await assigned_alert(officer, crew)

    empty = await sup.request("message.send", alert_id=alert_id, text="   ")
    assert empty["type"] == "error" and empty["code"] == "invalid", empty
    long = await sup.request("message.send", alert_id=alert_id, text="x" * 281)
    assert long["code"] == "invalid" and "280" in long["message"]
    unknown = await sup.request("message.send", alert_id=alert_id, quick="launch_missiles")
    assert unknown["code"] == "invalid" and "quick" in unknown["message"]
    not_hers = await officer.request("message.send", alert_id=alert_id, text="hello")
    assert not_hers["code"] == "forbidden"
    not_its = await outsider.request("message.send", alert_id=alert_id, text="hello")
    assert not_its["code"] == "not_found"
    assert [m for m in await server.rows(IncidentMessage) if m.alert_id == alert_id] == []


async def test_replay_after_a_reconnect_includes_the_messages_as_a_fresh_snapshot_has_them(
    server: RunningServer,
) -> None:
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    sup = await server.supervisor()
    officer = await server.officer()
    alert_id = await assigned_alert(officer, crew)
    await ok(sup, "message.send", alert_id=alert_id, text="first")
    await crew.wait_for(lambda f: f["type"] == "message", WAIT)
    seen = crew.state.seq
    before = [m["text"] for m in messages(crew)]
    await crew.close()

    await ok(sup, "message.send", alert_id=alert_id, quick="need_backup")
    await ok(sup, "message.send", alert_id=alert_id, text="second")
    again = await server.connect(crew.session["username"], last_seq=seen)
    replayed = [m["text"] for m in messages(again)]
    assert replayed == ["Need backup", "second"]

    fresh = await server.connect(crew.session["username"])
    snapshot = next(f for f in fresh.frames if f["type"] == "snapshot")
    assert [m["text"] for m in snapshot["messages"]] == before + replayed

    # The officer's snapshot has none; the supervisor's has them all.
    her = await server.connect(officer.session["username"])
    assert next(f for f in her.frames if f["type"] == "snapshot")["messages"] == []
    board = await server.connect(sup.session["username"])
    on_board = next(f for f in board.frames if f["type"] == "snapshot")["messages"]
    assert [m["text"] for m in on_board] == ["first", "Need backup", "second"]


async def test_the_officer_gets_a_vibration_code_and_nothing_else(server: RunningServer) -> None:
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    sup = await server.supervisor()
    officer = await server.officer()
    alert_id = await assigned_alert(officer, crew)

    await ok(sup, "officer.signal", alert_id=alert_id, code="help_close")
    signal = await officer.wait_for(lambda f: f["type"] == "signal", WAIT)
    assert signal["signal"]["code"] == "help_close"
    assert signal["signal"]["pattern"] == [120, 80, 120, 80, 120]
    assert isinstance(signal["seq"], int)
    bad = await sup.request("officer.signal", alert_id=alert_id, code="sing")
    assert bad["code"] == "invalid"
    by_crew = await crew.request("officer.signal", alert_id=alert_id, code="help_close")
    assert by_crew["code"] == "forbidden"
    # The crew and the other supervisors see no signal; the timeline keeps it.
    await ok(crew, "assignment.status", alert_id=alert_id, status="on_scene")
    await sup.wait_for(lambda f: f["type"] == "alert" and f["alert"]["state"] == "on_scene", WAIT)
    assert all(f.get("type") != "signal" for f in crew.frames + sup.frames)
    notes = [n.action for n in await server.rows(AlertNote) if n.alert_id == alert_id]
    assert "signal" in notes


async def test_crews_on_one_alert_see_each_others_positions(server: RunningServer) -> None:
    first = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    second = await server.crew(CrewMode.FOOT, north_of(CENTRE, 200))
    lone = await server.crew(CrewMode.FOOT, north_of(CENTRE, 6000), on_duty=False)
    officer = await server.officer()
    alert_id: str = (await officer.raise_alert(CENTRE, urgent=True))["result"]["alert_id"]
    for crew in (first, second):
        offer = await crew.offer(WAIT)
        await ok(crew, "offer.accept", offer_id=offer["id"])
    await first.wait_for(lambda f: f["type"] == "alert" and len(f["alert"]["crews"]) == 2, WAIT)

    await second.position(*north_of(CENTRE, 150))
    beside = await first.wait_for(lambda f: f["type"] == "position" and f["role"] == "crew", WAIT)
    assert beside["subject_id"] == second.session["crew_id"]
    assert beside["alert_id"] == alert_id
    # A fresh snapshot of the first crew has the second one's position too.
    again = await server.connect(first.session["username"])
    snapshot = next(f for f in again.frames if f["type"] == "snapshot")
    crews_seen = {p["subject_id"] for p in snapshot["positions"] if p["role"] == "crew"}
    assert crews_seen == {second.session["crew_id"]}
    await lone.position(*north_of(CENTRE, 6000))
    await officer.position(*CENTRE)
    await first.wait_for(lambda f: f["type"] == "position" and f["role"] == "officer", WAIT)
    assert all(
        f["subject_id"] != lone.session["crew_id"]
        for f in first.frames
        if f.get("type") == "position"
    )
    assert all(f.get("type") != "position" or f["role"] != "crew" for f in officer.frames)

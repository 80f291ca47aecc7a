"""Officer welfare on a real server with real websocket clients, on a clock the test
moves: missed check-ins become warnings and then alerts raised by the system, escort
timers that run out raise alerts, silent phones (an officer's, a crew's on an
assignment) put warnings on the board, and all of it survives a restart."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from dispatch.auth.pins import hash_pin
from dispatch.auth.sessions import Viewer
from dispatch.storage.db import Database
from dispatch.storage.models import (
    Alert,
    AlertNote,
    EscortTimer,
    Event,
    Heard,
    User,
    WelfareWarning,
)
from schemas.common import CrewMode, Role
from tests.ops_console.incident_support import Scene, live_operation
from tests.support import (
    CENTRE,
    Client,
    ManualClock,
    RunningServer,
    north_of,
    settings_for,
    start_server,
)

WAIT = 20  # seconds: a generous bound on a busy machine, never a measured time
T0 = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
HER = north_of(CENTRE, 250)
SETTINGS = {
    "dispatch.offer_timeout_s": 900,
    "dispatch.position_fresh_s": 86400,  # the clock moves by minutes: fixes stay fresh
    "scheduler.brief_lead_min": 60,
    "welfare.sweep_s": 0.1,
    "welfare.heard_every_s": 1,
    "welfare.checkin_grace_s": 120,
    "welfare.checkin_alert_after_s": 300,
    "welfare.silent_after_s": 180,
}


async def clocked(db_url: str) -> tuple[RunningServer, ManualClock]:
    clock = ManualClock(T0)
    return await start_server(settings_for(db_url, **SETTINGS), clock), clock


async def ok(client: Client, type_: str, **body: Any) -> dict[str, Any]:
    reply = await client.request(type_, timeout=WAIT, **body)
    assert reply["type"] == "ack", reply
    result: dict[str, Any] = reply["result"]
    return result


def warnings_of(client: Client) -> dict[str, dict[str, Any]]:
    """The warnings a client holds from its snapshot and events (docs/protocol.md)."""
    held: dict[str, dict[str, Any]] = {}
    for f in client.frames:
        if f["type"] == "snapshot":
            held = {w["id"]: w for w in f.get("warnings", [])}
        elif f["type"] == "welfare.warning":
            held[f["warning"]["id"]] = f["warning"]
        elif f["type"] == "welfare.clear":
            held.pop(f["warning"]["id"], None)
    return held


async def warning(client: Client, frame_type: str, start: int = 0, **match: Any) -> dict[str, Any]:
    frame = await client.wait_for(
        lambda f: (
            f["type"] == frame_type and all(f["warning"].get(k) == v for k, v in match.items())
        ),
        WAIT,
        start,
    )
    view: dict[str, Any] = frame["warning"]
    return view


async def fresh_snapshot(server: RunningServer, username: str) -> dict[str, Any]:
    client = await server.connect(username)  # synced from nothing: a snapshot
    try:
        return await client.wait_for(lambda f: f["type"] == "snapshot", WAIT)
    finally:
        await client.close()


def no_warnings_to(*clients: Client) -> None:
    for c in clients:
        kinds = {f["type"] for f in c.frames}
        assert not kinds & {"welfare.warning", "welfare.clear"}, c.frames[-5:]
        assert all(not f.get("warnings") for f in c.frames if f["type"] == "snapshot")


async def scene_with_checkins(server: RunningServer, clock: ManualClock, minutes: int) -> Scene:
    scene = await live_operation(server, clock, f"Check-ins {uuid.uuid4().hex[:6]}")
    view = await scene.api.call(
        "PUT",
        f"/api/operations/{scene.operation['id']}/checkins",
        json={"checkin_interval_min": minutes},
    )
    assert view["checkin_interval_min"] == minutes
    await scene.officer.position(*HER)
    return scene


async def test_missed_checkin_warns_then_raises_an_alert_for_her(db_url: str) -> None:
    server, clock = await clocked(db_url)
    try:
        scene = await scene_with_checkins(server, clock, 20)
        officer, sup, crew = scene.officer, scene.supervisor, scene.crew
        live_from = clock.now
        state = await ok(officer, "welfare.state")
        due = datetime.fromisoformat(state["checkin"]["due_at"])
        assert due == live_from + timedelta(minutes=20)
        assert state["checkin"]["interval_s"] == 1200 and state["escort"] is None

        # Due, and within the grace: nothing on the board.
        clock.set(due + timedelta(seconds=60))
        await asyncio.sleep(1)
        assert warnings_of(sup) == {}

        # Past the grace: a warning with her name and last position.
        clock.set(due + timedelta(seconds=121))
        seen = await warning(sup, "welfare.warning", kind="checkin_missed")
        assert seen["subject_id"] == officer.session["user_id"]
        assert seen["role"] == "officer" and seen["name"]
        assert (seen["lat"], seen["lon"]) == HER
        assert datetime.fromisoformat(seen["since"]) == due
        assert seen["alert_id"] is None

        # Past the second grace: an alert raised by the system from her last position,
        # offered to a crew; the warning names it.
        start = len(crew.frames)
        clock.set(due + timedelta(seconds=421))
        frame = await sup.wait_for(
            lambda f: f["type"] == "alert" and f["alert"]["origin"] == "checkin", WAIT
        )
        alert = frame["alert"]
        assert alert["officer_id"] == officer.session["user_id"]
        assert (alert["lat"], alert["lon"]) == HER
        assert alert["note"].startswith("Raised by the system: missed check-in")
        offer = await crew.offer(WAIT, start=start)
        assert offer["alert_id"] == alert["id"]
        named = await warning(sup, "welfare.warning", kind="checkin_missed", alert_id=alert["id"])
        assert named["id"] == seen["id"]
        # Old state + events == a fresh snapshot, with the warning on the board.
        snap = await fresh_snapshot(server, sup.session["username"])
        assert snap["warnings"] == list(warnings_of(sup).values()) == [named]
        story = await scene.api.call("GET", f"/api/console/alerts/{alert['id']}")
        raised = next(e for e in story["timeline"] if e["kind"] == "raised")
        assert raised["text"].startswith("Raised by the system (missed check-in)")
        # One alert, however many sweeps pass.
        await asyncio.sleep(1)
        rows = [a for a in await server.rows(Alert) if a.origin == "checkin"]
        assert [a.id for a in rows] == [alert["id"]]

        # Her check-in clears the warning and sets the next due.
        checked = await ok(officer, "checkin")
        assert datetime.fromisoformat(checked["checkin"]["due_at"]) == clock.now + timedelta(
            minutes=20
        )
        cleared = await warning(sup, "welfare.clear", id=seen["id"])
        assert cleared["cleared_by"] == "checkin"
        assert warnings_of(sup) == {}

        # Old state + events == a fresh snapshot; officers and crews never see warnings.
        snap = await fresh_snapshot(server, sup.session["username"])
        assert snap["warnings"] == list(warnings_of(sup).values())
        no_warnings_to(officer, crew)
    finally:
        await server.stop()


async def test_checkin_needs_a_live_deployment_that_asks_for_them(db_url: str) -> None:
    server, clock = await clocked(db_url)
    try:
        lone = await server.officer()
        reply = await lone.request("checkin")
        assert (reply["type"], reply["code"]) == ("error", "illegal_transition")
        scene = await live_operation(server, clock, "No check-ins")
        reply = await scene.officer.request("checkin")
        assert (reply["type"], reply["code"]) == ("error", "illegal_transition")
        assert (await ok(scene.officer, "welfare.state"))["checkin"] is None
        bad = await scene.api.call(
            "PUT",
            f"/api/operations/{scene.operation['id']}/checkins",
            422,
            json={"checkin_interval_min": 2},
        )
        assert bad["code"] == "invalid"
    finally:
        await server.stop()


async def test_escort_timer_runs_out_and_raises_her_alert(db_url: str) -> None:
    server, clock = await clocked(db_url)
    try:
        officer = await server.officer()
        crew = await server.crew(CrewMode.CAR, north_of(HER, 300))
        sup = await server.supervisor()
        await officer.position(*HER)
        escort_id = uuid.uuid4().hex
        started = await ok(
            officer, "escort.start", alert_id=escort_id, duration_s=600, label="to the car"
        )
        assert started["escort"]["alert_id"] == escort_id
        assert datetime.fromisoformat(started["escort"]["due_at"]) == T0 + timedelta(minutes=10)

        clock.set(T0 + timedelta(seconds=599))
        await asyncio.sleep(1)
        assert await server.rows(Alert) == []

        clock.set(T0 + timedelta(seconds=600))
        frame = await sup.wait_for(lambda f: f["type"] == "alert", WAIT)
        alert = frame["alert"]
        assert (alert["id"], alert["origin"]) == (escort_id, "escort")
        assert (alert["lat"], alert["lon"]) == HER
        assert "to the car" in alert["note"]
        offer = await crew.offer(WAIT)
        assert offer["alert_id"] == escort_id
        # Her phone raising the same id (it could not tell the server) is the same alert.
        again = await ok(officer, "alert.raise", alert_id=escort_id, origin="escort")
        assert again["created"] is False
        assert [a.id for a in await server.rows(Alert)] == [escort_id]
        assert (await ok(officer, "welfare.state"))["escort"] is None
        refused = await officer.request("escort.stop", alert_id=escort_id)
        assert (refused["type"], refused["code"]) == ("error", "illegal_transition")
    finally:
        await server.stop()


async def test_escort_stopped_raises_nothing_and_the_phone_may_raise_first(db_url: str) -> None:
    server, clock = await clocked(db_url)
    try:
        officer = await server.officer()
        await officer.position(*HER)
        first = uuid.uuid4().hex
        await ok(officer, "escort.start", alert_id=first, duration_s=300)
        stopped = await ok(officer, "escort.stop", alert_id=first)
        assert stopped["escort"] is None
        assert (await ok(officer, "escort.stop", alert_id=first))["escort"] is None  # again
        clock.set(T0 + timedelta(minutes=30))
        await asyncio.sleep(1)
        assert await server.rows(Alert) == []

        # Offline, her phone raised it when it ran out; the server's sweep then finds the
        # same id: one alert, marked escort.
        second = uuid.uuid4().hex
        await ok(officer, "escort.start", alert_id=second, duration_s=60)
        raised = await ok(
            officer,
            "alert.raise",
            alert_id=second,
            origin="escort",
            position={"lat": HER[0], "lon": HER[1]},
        )
        assert raised["created"] is True
        clock.advance(timedelta(minutes=2))
        await asyncio.sleep(1)
        rows = await server.rows(Alert)
        assert [(a.id, a.origin) for a in rows] == [(second, "escort")]
        # A resend of a start (no answer came) keeps its start, never runs out later.
        third = uuid.uuid4().hex
        first_start = await ok(officer, "escort.start", alert_id=third, duration_s=600)
        clock.advance(timedelta(seconds=60))
        resent = await ok(officer, "escort.start", alert_id=third, duration_s=540)
        assert resent["escort"] == first_start["escort"]
        later = await ok(officer, "escort.start", alert_id=third, duration_s=900)
        assert later["escort"]["due_at"] == first_start["escort"]["due_at"]
        await ok(officer, "escort.stop", alert_id=third)
        # A start with an id already used by an alert is refused.
        reply = await officer.request("escort.start", alert_id=second, duration_s=60)
        assert (reply["type"], reply["code"]) == ("error", "conflict")
        reply = await officer.request("escort.start", alert_id="x", duration_s=5)
        assert (reply["type"], reply["code"]) == ("error", "invalid")
    finally:
        await server.stop()


async def test_silent_officer_warns_and_her_return_clears(db_url: str) -> None:
    server, clock = await clocked(db_url)
    try:
        scene = await live_operation(server, clock, "Silent officer")
        officer, sup = scene.officer, scene.supervisor
        await officer.position(*HER)
        await asyncio.sleep(0.5)  # a sweep hears her
        await officer.close()
        await asyncio.sleep(0.5)
        gone_at = clock.now
        clock.advance(timedelta(seconds=179))
        await asyncio.sleep(1)
        assert warnings_of(sup) == {}
        clock.advance(timedelta(seconds=2))
        seen = await warning(sup, "welfare.warning", kind="silent", role="officer")
        assert seen["subject_id"] == officer.session["user_id"]
        assert (seen["lat"], seen["lon"]) == HER
        assert datetime.fromisoformat(seen["since"]) <= gone_at
        # Another supervisor connecting now sees it in the snapshot.
        snap = await fresh_snapshot(server, sup.session["username"])
        assert [w["id"] for w in snap["warnings"]] == [seen["id"]]

        back = await Client.open(server.ws_url, officer.session)
        await back.sync()
        cleared = await warning(sup, "welfare.clear", id=seen["id"])
        assert cleared["cleared_by"] == "back"
        no_warnings_to(back, scene.crew)
        await back.close()
    finally:
        await server.stop()


async def test_silent_crew_on_an_assignment_warns(db_url: str) -> None:
    server, clock = await clocked(db_url)
    try:
        officer = await server.officer()
        crew = await server.crew(CrewMode.CAR, north_of(HER, 300))
        sup = await server.supervisor()
        ack = await officer.raise_alert(HER)
        alert_id = ack["result"]["alert_id"]
        offer = await crew.offer(WAIT)
        await ok(crew, "offer.accept", offer_id=offer["id"])
        await asyncio.sleep(0.5)
        await crew.close()
        await asyncio.sleep(0.5)
        clock.advance(timedelta(seconds=181))
        seen = await warning(sup, "welfare.warning", kind="silent", role="crew")
        assert (seen["subject_id"], seen["alert_id"]) == (crew.session["crew_id"], alert_id)
        assert seen["name"] == crew.callsign
        assert seen["lat"] is not None
        back = await Client.open(server.ws_url, crew.session)
        await back.sync()
        cleared = await warning(sup, "welfare.clear", id=seen["id"])
        assert cleared["cleared_by"] == "back"
        # Its position is kept only while it is watched: resolved, the row goes.
        key = f"crew:{crew.session['crew_id']}"
        assert [h.subject for h in await server.rows(Heard)] == [key]
        await ok(back, "assignment.status", alert_id=alert_id, status="resolved", outcome="other")
        for _ in range(int(WAIT / 0.2)):
            if not await server.rows(Heard):
                break
            await asyncio.sleep(0.2)
        assert await server.rows(Heard) == []
        await back.close()
    finally:
        await server.stop()


async def test_a_restart_keeps_the_escort_timer_and_the_checkin_due(db_url: str) -> None:
    server, clock = await clocked(db_url)
    settings = server.settings
    try:
        scene = await scene_with_checkins(server, clock, 30)
        officer = scene.officer
        before = await ok(officer, "welfare.state")
        escort_id = uuid.uuid4().hex
        await ok(officer, "escort.start", alert_id=escort_id, duration_s=900)
        session, sup_name = officer.session, scene.supervisor.session["username"]
        await scene.api.close()
    finally:
        await server.stop()

    server = await start_server(settings, clock)
    try:
        officer = await Client.open(server.ws_url, session)
        await officer.sync()
        after = await ok(officer, "welfare.state")
        assert after["checkin"]["due_at"] == before["checkin"]["due_at"]
        assert after["escort"]["alert_id"] == escort_id
        sup = await server.connect(sup_name)
        clock.advance(timedelta(seconds=901))
        frame = await sup.wait_for(
            lambda f: f["type"] == "alert" and f["alert"]["id"] == escort_id, WAIT
        )
        assert frame["alert"]["origin"] == "escort"
    finally:
        await server.stop()


async def rows_until(server: RunningServer, model: Any, predicate: Any) -> list[Any]:
    for _ in range(int(WAIT / 0.2)):
        rows = [r for r in await server.rows(model) if predicate(r)]
        if rows:
            return rows
        await asyncio.sleep(0.2)
    raise AssertionError(f"no {model.__name__} row in {WAIT}s")


async def test_two_processes_on_one_database_judge_silence_alike_and_warn_once(
    db_url: str,
) -> None:
    """Two servers on one database (each sweeping it): the one her phone is not connected
    to does not call her silent, and once she is, there is one warning and one clear."""
    first, clock = await clocked(db_url)
    second = None
    try:
        scene = await live_operation(first, clock, "Two processes")
        officer = scene.officer
        await officer.position(*HER)
        second = await start_server(first.settings, clock)
        # Time passes by steps, as it does: the first writes when it heard her, the second
        # reads it and never judges her silent.
        for _ in range(12):
            clock.advance(timedelta(seconds=20))
            await asyncio.sleep(0.4)
        assert await first.rows(WelfareWarning) == []

        await officer.close()
        await asyncio.sleep(0.5)
        clock.advance(timedelta(seconds=181))
        [row] = await rows_until(first, WelfareWarning, lambda r: r.kind == "silent")
        await asyncio.sleep(1)  # both go on sweeping
        warned = [e for e in await first.rows(Event) if e.kind == "welfare.warning"]
        assert [e.entity_id for e in warned] == [row.id]

        # Back, on the other process: cleared once.
        back = await Client.open(second.ws_url, officer.session)
        await back.sync()
        for _ in range(int(WAIT / 0.2)):
            if not await second.rows(WelfareWarning):
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1)
        assert await second.rows(WelfareWarning) == []
        cleared = [e for e in await first.rows(Event) if e.kind == "welfare.clear"]
        assert [e.entity_id for e in cleared] == [row.id]
        await back.close()
    finally:
        if second is not None:
            await second.stop()
        await first.stop()


CANCEL_PIN, DURESS_PIN = "2468", "1357"


async def give_pins(server: RunningServer, user_id: str) -> None:
    db = Database(server.settings.database.url)
    try:
        async with db.session() as s:
            user = (await s.exec(select(User).where(User.id == user_id))).one()
            user.cancel_pin_hash, user.duress_pin_hash = hash_pin(CANCEL_PIN), hash_pin(DURESS_PIN)
            s.add(user)
            await s.commit()
    finally:
        await db.close()


async def test_after_a_duress_cancel_her_missed_checkin_and_escort_raise_nothing_she_sees(
    db_url: str,
) -> None:
    """She "cancels" with her duress PIN (her phone shows a cancel; the alert is really
    open and urgent). Her check-in then falls overdue and her escort timer runs out: no
    second alert is raised (her phone would show it as help coming); each is noted on
    her open alert for the supervisors, and the board's warning names that alert."""
    server, clock = await clocked(db_url)
    try:
        scene = await scene_with_checkins(server, clock, 20)
        officer, sup = scene.officer, scene.supervisor
        await give_pins(server, officer.session["user_id"])
        due = datetime.fromisoformat((await ok(officer, "welfare.state"))["checkin"]["due_at"])
        escort_id = uuid.uuid4().hex
        await ok(officer, "escort.start", alert_id=escort_id, duration_s=1800, label="to the car")
        alert_id = (await officer.raise_alert(HER))["result"]["alert_id"]
        cover = await officer.request("alert.cancel", alert_id=alert_id, pin=DURESS_PIN)
        assert cover["type"] == "ack" and cover["result"]["state"] == "cancelled", cover
        await sup.wait_for(
            lambda f: (
                f["type"] == "alert" and f["alert"]["id"] == alert_id and f["alert"]["duress"]
            ),
            WAIT,
        )
        mark = len(officer.frames)

        # Her check-in overdue past both graces: the warning names her (duress) alert.
        clock.set(due + timedelta(seconds=421))
        named = await warning(sup, "welfare.warning", kind="checkin_missed", alert_id=alert_id)
        assert named["subject_id"] == officer.session["user_id"]
        # Her escort timer runs out: it ends, noted on the same alert.
        clock.set(clock.now + timedelta(minutes=20))
        for _ in range(int(WAIT / 0.2)):
            if not await server.rows(EscortTimer):
                break
            await asyncio.sleep(0.2)
        assert await server.rows(EscortTimer) == []
        await asyncio.sleep(1)  # more sweeps: still nothing raised

        assert [a.id for a in await server.rows(Alert)] == [alert_id]
        notes = [n for n in await server.rows(AlertNote) if n.alert_id == alert_id]
        by_action = {n.action: n.text for n in notes}
        assert by_action["checkin"].startswith("Also: missed check-in")
        assert by_action["escort"].startswith("Also: her escort timer ran out (to the car)")
        story = await scene.api.call("GET", f"/api/console/alerts/{alert_id}")
        texts = [e["text"] for e in story["timeline"]]
        assert any("missed check-in" in t for t in texts), texts
        # Her phone: no alert frame since the cancel, none in a fresh snapshot.
        await officer.position(*HER)  # a round trip: her frames are all in
        assert [f for f in officer.frames[mark:] if f["type"] == "alert"] == []
        snap = await fresh_snapshot(server, officer.session["username"])
        assert snap["alerts"] == []
        assert (await ok(officer, "welfare.state"))["escort"] is None
    finally:
        await server.stop()


async def test_checkins_turned_on_or_lowered_on_a_live_deployment_count_from_then(
    db_url: str,
) -> None:
    server, clock = await clocked(db_url)
    try:
        scene = await live_operation(server, clock, f"Late check-ins {uuid.uuid4().hex[:6]}")
        officer, sup = scene.officer, scene.supervisor
        await officer.position(*HER)
        url = f"/api/operations/{scene.operation['id']}/checkins"
        # Live for 40 minutes, then every 20 min: her first is due 20 min from now.
        clock.advance(timedelta(minutes=40))
        set_at = clock.now
        await scene.api.call("PUT", url, json={"checkin_interval_min": 20})
        state = await ok(officer, "welfare.state")
        assert datetime.fromisoformat(state["checkin"]["due_at"]) == set_at + timedelta(minutes=20)
        await asyncio.sleep(1)  # many sweeps
        assert await server.rows(WelfareWarning) == [] and await server.rows(Alert) == []

        # She checks in; 19 min later the interval is lowered to 5: due 5 min from then.
        clock.advance(timedelta(minutes=10))
        await ok(officer, "checkin")
        clock.advance(timedelta(minutes=19))
        lowered_at = clock.now
        await scene.api.call("PUT", url, json={"checkin_interval_min": 5})
        state = await ok(officer, "welfare.state")
        due = datetime.fromisoformat(state["checkin"]["due_at"])
        assert due == lowered_at + timedelta(minutes=5)
        await asyncio.sleep(1)
        assert await server.rows(WelfareWarning) == [] and await server.rows(Alert) == []
        # From then the rules run as ever.
        clock.set(due + timedelta(seconds=121))
        seen = await warning(sup, "welfare.warning", kind="checkin_missed")
        assert datetime.fromisoformat(seen["since"]) == due
    finally:
        await server.stop()


async def test_an_escort_timer_with_a_blank_label_runs_out_too(db_url: str) -> None:
    server, clock = await clocked(db_url)
    try:
        officer = await server.officer()
        sup = await server.supervisor()
        await officer.position(*HER)
        escort_id = uuid.uuid4().hex
        started = await ok(officer, "escort.start", alert_id=escort_id, duration_s=600, label="")
        clock.set(T0 + timedelta(seconds=600))
        frame = await sup.wait_for(
            lambda f: f["type"] == "alert" and f["alert"]["id"] == escort_id, WAIT
        )
        assert frame["alert"]["origin"] == "escort"
        assert frame["alert"]["note"] == "Raised by the system: her escort timer ran out."
        assert started["escort"]["label"] is None  # a blank label is none
    finally:
        await server.stop()


async def test_after_a_restart_the_phones_have_a_grace_to_come_back(db_url: str) -> None:
    """An outage longer than both check-in graces and the silence: on restart nothing
    goes up at once (the phones reconnect first); past `welfare.startup_grace_s` (180 s),
    a phone still silent and a check-in still missed do."""
    server, clock = await clocked(db_url)
    settings = server.settings
    try:
        scene = await scene_with_checkins(server, clock, 20)
        state = await ok(scene.officer, "welfare.state")
        due = datetime.fromisoformat(state["checkin"]["due_at"])
        await asyncio.sleep(0.5)  # a sweep writes when it heard her
        sup_name = scene.supervisor.session["username"]
        await scene.api.close()
    finally:
        await server.stop()

    clock.set(due + timedelta(minutes=30))
    server = await start_server(settings, clock)
    try:
        sup = await server.connect(sup_name)
        await asyncio.sleep(1)  # many sweeps
        clock.advance(timedelta(seconds=179))
        await asyncio.sleep(1)
        assert await server.rows(WelfareWarning) == [] and await server.rows(Alert) == []
        assert warnings_of(sup) == {}

        clock.advance(timedelta(seconds=2))
        await warning(sup, "welfare.warning", kind="silent", role="officer")
        await warning(sup, "welfare.warning", kind="checkin_missed")
        frame = await sup.wait_for(
            lambda f: f["type"] == "alert" and f["alert"]["origin"] == "checkin", WAIT
        )
        assert frame["alert"]["officer_id"] == scene.officer.session["user_id"]
    finally:
        await server.stop()


async def test_an_escort_stopped_just_before_its_raise_raises_nothing(db_url: str) -> None:
    """Her stop lands between the sweep reading her run-out timer and raising its alert:
    the raise looks for the timer in its own transaction, and finds none."""
    server, clock = await clocked(db_url)
    try:
        officer = await server.officer()
        await officer.position(*HER)
        escort_id = uuid.uuid4().hex
        await ok(officer, "escort.start", alert_id=escort_id, duration_s=300)
        welfare = server.services.dispatcher.welfare
        alerts = welfare.alerts
        raise_for_officer = alerts.raise_for_officer
        her = Viewer(officer.session["user_id"], "", Role.OFFICER, None, T0, "")
        stopped: list[bool] = []

        async def stop_first(*args: Any, **kw: Any) -> Any:
            await welfare.escort_stop(her, escort_id)  # her "I am safe", just in time
            stopped.append(True)
            return await raise_for_officer(*args, **kw)

        alerts.raise_for_officer = stop_first  # type: ignore[method-assign]
        clock.set(T0 + timedelta(seconds=301))
        for _ in range(int(WAIT / 0.2)):
            if stopped:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1)  # more sweeps
        assert stopped and await server.rows(Alert) == [] and await server.rows(EscortTimer) == []
    finally:
        await server.stop()

"""Drills (issue 14 item 4) and false alarms (item 8) on a real server, SQLite and
PostgreSQL, with a clock the test moves: an exercise operation's alert is offered as usual
and marked exercise in events, snapshots and its CAP message (`Exercise`), and left out of
the real reports (reported apart); a supervisor marks a single alert an exercise; false
alarms are counted per officer and per operation over the last 12 months."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import pytest

from schemas.common import CrewMode
from tests.cap.support import cap_schema, text
from tests.operations.support import Api, api_for, operation_body
from tests.ops_console.incident_support import INCIDENT_SETTINGS, ok
from tests.support import (
    CENTRE,
    Client,
    ManualClock,
    RunningServer,
    north_of,
    settings_for,
    start_server,
)

T0 = datetime(2027, 3, 1, 18, 0, tzinfo=UTC)
WAIT = 15


@pytest.fixture
async def clocked(db_url: str) -> AsyncIterator[tuple[RunningServer, ManualClock]]:
    clock = ManualClock(T0)
    # Sessions outlive a clock moved by months.
    settings = settings_for(db_url, **INCIDENT_SETTINGS, **{"auth.session_ttl_s": 10**9})
    server = await start_server(settings, clock)
    try:
        yield server, clock
    finally:
        await server.stop()


async def exercise_live(
    server: RunningServer, clock: ManualClock, api: Api, officer: Client, crew: Client
) -> dict[str, Any]:
    """An exercise operation whose one deployment (the officer, the crew) is live now."""
    body = operation_body(
        "Drill at the castle",
        clock.now + timedelta(hours=2),
        days=0.25,
        officers=[officer.session["user_id"]],
        crews=[crew.session["crew_id"]],
        count=1,
        n_places=1,
        min_duration_min=60,
        max_duration_min=60,
        exercise=True,
    )
    op: dict[str, Any] = await api.call("POST", "/api/operations", 201, json=body)
    assert op["exercise"] is True
    await api.call("POST", f"/api/operations/{op['id']}/generate")
    dep = (await api.call("POST", f"/api/operations/{op['id']}/publish"))["deployments"][0]
    clock.set(datetime.fromisoformat(dep["starts_at"]))
    await server.services.scheduler.run_due()
    live = await officer.wait_for(
        lambda f: f["type"] == "deployment" and f["deployment"]["state"] == "live", WAIT
    )
    assert live["deployment"]["exercise"] is True
    await crew.wait_for(lambda f: f["type"] == "crew" and f["crew"]["state"] == "available", WAIT)
    await crew.position(*north_of(CENTRE, 300))
    return op


async def cap_root(server: RunningServer, token: str, alert_id: str) -> ET.Element:
    async with httpx.AsyncClient(base_url=server.base) as http:
        response = await http.get(
            f"/api/console/alerts/{alert_id}.cap", headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 200, response.text
    cap_schema().validate(response.content)
    return ET.fromstring(response.content)


async def csv_rows(api: Api, path: str, **params: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(await api.call("GET", path, params=params))))


async def test_an_exercise_operations_alert_is_offered_marked_and_kept_out_of_real_reports(
    clocked: tuple[RunningServer, ManualClock],
) -> None:
    server, clock = clocked
    officer = await server.officer()
    crew = await server.crew(CrewMode.CAR, north_of(CENTRE, 300), on_duty=False)
    sup = await server.supervisor()
    api = await api_for(server, sup.session["username"])
    op = await exercise_live(server, clock, api, officer, crew)

    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    offer = await crew.offer(WAIT)  # offered as usual, marked
    assert offer["alert_id"] == alert_id and offer["exercise"] is True
    seen = await sup.wait_for(lambda f: f["type"] == "alert" and f["alert"]["id"] == alert_id)
    assert seen["alert"]["exercise"] is True
    hers = await officer.wait_for(lambda f: f["type"] == "alert" and f["alert"]["id"] == alert_id)
    assert hers["alert"]["exercise"] is True
    await ok(crew, "offer.accept", offer_id=offer["id"])
    fresh = await server.connect(sup.session["username"])
    snapshot = next(f for f in fresh.frames if f["type"] == "snapshot")
    assert [a["exercise"] for a in snapshot["alerts"] if a["id"] == alert_id] == [True]
    root = await cap_root(server, sup.session["token"], alert_id)
    assert text(root, "cap:status") == "Exercise"
    assert (text(root, "cap:info/cap:headline") or "").startswith("EXERCISE")

    clock.advance(timedelta(minutes=5))
    await ok(crew, "assignment.status", alert_id=alert_id, status="resolved", outcome="false_alarm")
    report = await api.call("GET", f"/api/console/operations/{op['id']}/report")
    assert (report["alerts"], report["exercise_alerts"], report["rows"]) == (0, 1, [])
    drills = await api.call(
        "GET", f"/api/console/operations/{op['id']}/report", params={"exercises": "exercise"}
    )
    assert drills["alerts"] == 1 and drills["rows"][0]["exercise"] is True
    assert drills["outcomes"] == {"false_alarm": 1}
    assert await csv_rows(api, f"/api/console/operations/{op['id']}/report.csv") == []
    every = await csv_rows(api, f"/api/console/operations/{op['id']}/report.csv", exercises="all")
    assert [(r["alert_id"], r["exercise"]) for r in every] == [(alert_id, "yes")]
    # The drill's crew calling for help: an exercise too.
    help_id = (await ok(crew, "crew.help", alert_id="drill-help-1"))["result"]["alert_id"]
    called = await sup.wait_for(
        lambda f: f["type"] == "alert" and f["alert"]["id"] == help_id, WAIT
    )
    assert called["alert"]["exercise"] is True and called["alert"]["origin"] == "crew_help"
    root = await cap_root(server, sup.session["token"], help_id)
    assert text(root, "cap:status") == "Exercise"
    assert text(root, "cap:info/cap:event") == "Police crew requests assistance"
    # A drill's false alarm never counts against her.
    counted = await api.call("GET", "/api/console/false-alarms")
    assert counted["officers"] == [] and counted["operations"] == []
    bad = await api.call(
        "GET", f"/api/console/operations/{op['id']}/report", 422, params={"exercises": "some"}
    )
    assert bad
    await api.close()


async def test_a_supervisor_marks_a_single_alert_an_exercise_with_a_reason(
    clocked: tuple[RunningServer, ManualClock],
) -> None:
    server, clock = clocked
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    sup = await server.supervisor()
    officer = await server.officer()
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    offer = await crew.offer(WAIT)
    assert offer["exercise"] is False
    start = len(crew.frames)

    reply = await sup.request(
        "alert.exercise", alert_id=alert_id, exercise=True, reason="Planned drill, told by radio"
    )
    assert reply["type"] == "ack" and reply["result"]["exercise"] is True
    marked = await sup.wait_for(
        lambda f: f["type"] == "alert" and f["alert"]["id"] == alert_id and f["alert"]["exercise"]
    )
    assert marked["alert"]["exercise"] is True
    again = await crew.wait_for(lambda f: f["type"] == "offer", WAIT, start)
    assert again["offer"]["exercise"] is True  # the open offer goes out again, marked
    await officer.wait_for(
        lambda f: f["type"] == "alert" and f["alert"]["id"] == alert_id and f["alert"]["exercise"]
    )
    no_reason = await sup.request("alert.exercise", alert_id=alert_id, exercise=False, reason="")
    assert no_reason["code"] == "invalid"
    not_hers = await officer.request(
        "alert.exercise", alert_id=alert_id, exercise=False, reason="x"
    )
    assert not_hers["code"] == "forbidden"

    clock.advance(timedelta(minutes=1))
    await ok(sup, "alert.cancel", alert_id=alert_id, reason="drill over")
    api = await api_for(server, sup.session["username"])
    day = {"since": "2027-03-01T00:00:00Z", "until": "2027-03-02T00:00:00Z"}
    report = await api.call("GET", "/api/console/report", params=day)
    assert (report["alerts"], report["exercise_alerts"]) == (0, 1)
    counted = await api.call("GET", "/api/console/false-alarms")
    assert counted["officers"] == []
    await api.close()


async def cancel(officer: Client, clock: ManualClock, at: datetime) -> str:
    clock.set(at)
    alert_id: str = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    clock.advance(timedelta(seconds=30))
    await ok(officer, "alert.cancel", alert_id=alert_id)
    return alert_id


async def test_false_alarms_are_counted_over_the_last_twelve_months_and_three_flag_her(
    clocked: tuple[RunningServer, ManualClock],
) -> None:
    server, clock = clocked
    # The clock only moves forward (sessions are not made in the future).
    now = datetime(2028, 4, 15, 12, 0, tzinfo=UTC)
    assert now - timedelta(days=400) > clock.now
    often, once = await server.officer(), await server.officer()
    # Thirteen months ago: out of the window. Then two cancels of hers within it, and an
    # alert a supervisor closes as a false alarm: three in twelve months.
    await cancel(often, clock, now - timedelta(days=400))
    await cancel(often, clock, now - timedelta(days=300))
    await cancel(often, clock, now - timedelta(days=100))
    clock.set(now - timedelta(days=20))
    sup = await server.supervisor()  # signed in now: a console session lasts a year at most
    closed = (await often.raise_alert(CENTRE))["result"]["alert_id"]
    await ok(sup, "alert.close", alert_id=closed, outcome="false_alarm", reason="by radio: no one")
    # The other officer: one cancel, and one resolved for real (not counted).
    await cancel(once, clock, now - timedelta(days=10))
    clock.set(now - timedelta(days=5))
    real = (await once.raise_alert(CENTRE))["result"]["alert_id"]
    await ok(sup, "alert.close", alert_id=real, outcome="arrest", reason="by radio: arrest")

    clock.set(now)
    api = await api_for(server, sup.session["username"])
    report = await api.call("GET", "/api/console/false-alarms")
    assert report["since"].startswith("2027-04-15T12:00:00")
    assert (report["limit"], report["months"]) == (3, 12)
    rows = [
        (o["id"], o["cancelled"], o["false_alarm_outcomes"], o["false_alarms"], o["flagged"])
        for o in report["officers"]
    ]
    assert rows == [
        (often.session["user_id"], 2, 1, 3, True),
        (once.session["user_id"], 1, 0, 1, False),
    ]
    outside = report["operations"]
    assert [(o["id"], o["false_alarms"]) for o in outside] == [(None, 4)]

    # A month later the oldest of hers has left the window: two, no longer flagged.
    clock.set(now + timedelta(days=70))
    later = await api.call("GET", "/api/console/false-alarms")
    first = next(o for o in later["officers"] if o["id"] == often.session["user_id"])
    assert (first["false_alarms"], first["flagged"]) == (2, False)
    await api.call("GET", "/api/console/false-alarms", 200)
    await api.close()
    officer_api = await api_for(server, often.session["username"])
    await officer_api.call("GET", "/api/console/false-alarms", 403)
    await officer_api.close()

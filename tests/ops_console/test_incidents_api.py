"""The incident log, each alert's timeline and an operation's report, over REST, from
alerts played out by real clients: searchable, in order, with the right figures."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.operations.support import Api, api_for
from tests.ops_console.incident_support import (
    Scene,
    accepted_and_resolved,
    clocked_server,
    declined_then_assigned_by_hand,
    fresh_fix,
    live_operation,
    ok,
)
from tests.support import CENTRE, ManualClock, RunningServer, settings_for, start_server

T0 = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)  # London is on GMT: local hour = UTC hour


@pytest.fixture
async def clocked(db_url: str) -> AsyncIterator[tuple[RunningServer, ManualClock]]:
    async with clocked_server(db_url, T0) as running:
        yield running


async def three_alerts(scene: Scene) -> dict[str, str]:
    """Resolved by the crew; escalated, assigned by hand and closed; cancelled."""
    first = await accepted_and_resolved(
        scene,
        note="man in grey hoodie",
        accept_after_s=40,
        on_scene_after_s=240,
        outcome="arrest",
    )
    scene.clock.advance(timedelta(minutes=3))
    second = await declined_then_assigned_by_hand(scene)
    scene.clock.advance(timedelta(minutes=3))
    await fresh_fix(scene)
    start = len(scene.crew.frames)
    ack = await scene.officer.raise_alert(CENTRE, note="sorry, pressed by mistake")
    third: str = ack["result"]["alert_id"]
    await scene.crew.offer(start=start)
    scene.clock.advance(timedelta(seconds=20))
    await ok(scene.officer, "alert.cancel", alert_id=third)
    return {"first": first, "second": second, "third": third}


async def log(api: Api, **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = await api.call("GET", "/api/console/alerts", params=params)
    return result


def ids(page: dict[str, Any]) -> list[str]:
    return [row["id"] for row in page["alerts"]]


async def test_log_timeline_and_report_of_an_operation(
    clocked: tuple[RunningServer, ManualClock],
) -> None:
    server, clock = clocked
    scene = await live_operation(server, clock, "Jog on Castle")
    alerts = await three_alerts(scene)
    first, second, third = alerts["first"], alerts["second"], alerts["third"]
    # An alert outside any operation: an officer not deployed.
    stray = await server.officer()
    clock.advance(timedelta(minutes=1))
    outside = (await stray.raise_alert(CENTRE))["result"]["alert_id"]
    api = scene.api
    place = scene.deployment["place_name"]
    callsign = scene.crew.callsign
    officer_name = scene.officer.session["username"]

    # The log: newest first, with names, crews and response times.
    everything = await log(api)
    assert ids(everything) == [outside, third, second, first]
    assert everything["next_cursor"] is None
    row = {r["id"]: r for r in everything["alerts"]}
    assert row[first] | {"raised_at": None, "closed_at": None} == {
        "id": first,
        "raised_at": None,
        "closed_at": None,
        "officer": officer_name,
        "state": "resolved",
        "urgent": False,
        "category": "following",
        "outcome": "arrest",
        "crews": [callsign],
        "operation": "Jog on Castle",
        "place": place,
        "accept_s": 40.0,
        "on_scene_s": 240.0,
        "exercise": False,
    }
    assert (row[second]["accept_s"], row[second]["on_scene_s"]) == (60.0, 300.0)
    assert row[second]["outcome"] == "offender_not_found"
    assert (row[third]["state"], row[third]["accept_s"], row[third]["crews"]) == (
        "cancelled",
        None,
        [],
    )
    assert (row[outside]["operation"], row[outside]["place"]) == (None, None)

    # Search: any case, every word, over the things a supervisor remembers.
    searches = {
        callsign.lower(): [third, second, first],
        officer_name.upper(): [third, second, first],
        "grey HOODIE": [first],
        "grey bench": [],
        "offender not found": [second],
        "arrest": [first],
        "intimidation": [second],
        "castle": [third, second, first],
        place: [third, second, first],
        first[:10]: [first],
        "%": [],
        "_": [second],  # offender_not_found: the underscore is taken literally
    }
    for q, expected in searches.items():
        assert ids(await log(api, q=q)) == expected, q

    # Filters and paging.
    assert ids(await log(api, state="open")) == [outside]
    assert ids(await log(api, state="resolved")) == [second, first]
    by_name = await log(api, operation="Jog on Castle")
    assert ids(by_name) == ids(await log(api, operation=scene.operation["id"]))
    assert ids(by_name) == [third, second, first]
    second_raised = row[second]["raised_at"]
    assert ids(await log(api, since=second_raised)) == [outside, third, second]
    assert ids(await log(api, until=second_raised)) == [first]
    page = await log(api, limit=2)
    assert ids(page) == [outside, third] and page["next_cursor"]
    rest = await log(api, limit=2, cursor=page["next_cursor"])
    assert ids(rest) == [second, first] and rest["next_cursor"] is None

    # The timelines: each step, in order, with who and why.
    story = await api.call("GET", f"/api/console/alerts/{first}")
    kinds = [e["kind"] for e in story["timeline"]]
    assert kinds == ["raised", "offered", "accepted", "on_scene", "resolved"]
    steps = {e["kind"]: e for e in story["timeline"]}
    assert steps["raised"]["who"] == officer_name and place in steps["raised"]["text"]
    assert steps["offered"]["crew"] == callsign
    assert steps["resolved"]["text"] == "Resolved: arrest (offender identified)"
    assert story["alert"]["accept_s"] == 40.0 and isinstance(story["track_points"], int)
    times = [datetime.fromisoformat(e["at"]) for e in story["timeline"]]
    assert times == sorted(times) and times[0].utcoffset() == timedelta(0)

    story = await api.call("GET", f"/api/console/alerts/{second}")
    kinds = [e["kind"] for e in story["timeline"]]
    assert kinds == [
        "raised",
        "offered",
        "declined",
        "unassigned",
        "assigned",
        "on_scene",
        "resolved",
    ]
    steps = {e["kind"]: e for e in story["timeline"]}
    supervisor_name = scene.supervisor.session["username"]
    assert steps["declined"]["text"] == f"{callsign} declined: wrong side of the river"
    assert steps["assigned"]["text"] == (
        f"{callsign} assigned by hand by {supervisor_name}: reached by radio"
    )
    assert steps["resolved"]["who"] == supervisor_name
    assert "crew reported by radio" in steps["resolved"]["text"]
    assert story["taken_by"] == supervisor_name

    story = await api.call("GET", f"/api/console/alerts/{third}")
    assert [e["kind"] for e in story["timeline"]][-2:] == ["withdrawn", "cancelled"]

    # The report: counts, response times, outcomes, hours, places; and its CSV.
    report = await api.call("GET", "/api/console/operations/Jog on Castle/report")
    assert report["alerts"] == 3 and report["timezone"] == "Europe/London"
    assert report["by_state"] == {"resolved": 2, "cancelled": 1}
    assert report["outcomes"] == {"arrest": 1, "offender_not_found": 1}
    assert report["accept"] == {"count": 2, "median_s": 50.0, "p90_s": 60.0}
    assert report["on_scene"] == {"count": 2, "median_s": 270.0, "p90_s": 300.0}
    hours = [0] * 24
    for alert_id in (first, second, third):
        hours[datetime.fromisoformat(row[alert_id]["raised_at"]).hour] += 1  # GMT in March
    assert report["by_hour"] == hours
    counts = {p["place"]: p["alerts"] for p in report["by_place"]}
    assert counts[place] == 3 and len(counts) == 2 and sum(counts.values()) == 3
    assert [r["id"] for r in report["rows"]] == [third, second, first]
    assert "nearest rank" in report["method"]

    table = await api.call("GET", f"/api/console/operations/{scene.operation['id']}/report.csv")
    rows = list(csv.DictReader(io.StringIO(table)))
    assert [r["alert_id"] for r in rows] == [first, second, third]
    assert (rows[0]["accept_s"], rows[0]["on_scene_s"], rows[0]["crews"]) == (
        "40.0",
        "240.0",
        callsign,
    )
    assert rows[2]["accept_s"] == "" and rows[2]["state"] == "cancelled"
    await api.close()


async def test_bad_requests_are_refused_with_a_sentence(sqlite_url: str) -> None:
    server = await start_server(settings_for(sqlite_url))
    try:
        api = await api_for(server, (await server.supervisor()).session["username"])
        refused = {
            "state=bogus": "state",
            "limit=0": "limit",
            "limit=501": "limit",
            "since=2026-11-24T20:00:00": "since",
            "since=yesterday": "since",
            "since=2026-11-24T20:00:00Z&until=2026-11-24T19:00:00Z": "until",
            "cursor=not-a-cursor": "cursor",
            "operation=Nowhere": "operation",
            "q=" + "+".join("abcdefghi"): "q",
        }
        for query, field in refused.items():
            response = await api.http.get(f"/api/console/alerts?{query}")
            assert response.status_code == 422, (query, response.text)
            body = response.json()
            assert body["code"] == "invalid" and body["message"].startswith(field), body
        for path in (
            "/api/console/alerts/nope",
            "/api/console/operations/Nowhere/report",
            "/api/console/operations/Nowhere/report.csv",
        ):
            response = await api.http.get(path)
            assert response.status_code == 404 and response.json()["code"] == "not_found"
        await api.close()

        officer = await server.officer()
        async with httpx.AsyncClient(base_url=server.base) as http:
            for path in ("/api/console/alerts", "/api/console/operations/x/report"):
                as_officer = await http.get(
                    path, headers={"Authorization": f"Bearer {officer.session['token']}"}
                )
                assert as_officer.status_code == 403
                assert (await http.get(path)).status_code == 401
    finally:
        await server.stop()

"""Reports over any date range, with or without an operation, over REST: an alert raised
outside every operation (and closed by a supervisor on the radio) is in the range's
report, its figures and its CSV; an alert raised outside the range is not. Real server, real
websocket clients, a clock the test moves, SQLite and PostgreSQL."""

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
    accepted_and_resolved,
    clocked_server,
    fresh_fix,
    live_operation,
    ok,
)
from tests.support import CENTRE, ManualClock, RunningServer, settings_for, start_server

DAY = datetime(2027, 3, 1, tzinfo=UTC)  # the day the report is asked for; London is on GMT
T0 = DAY - timedelta(minutes=30)  # the evening before: an alert outside the day's range
OPERATION = "Jog on Castle"


@pytest.fixture
async def clocked(db_url: str) -> AsyncIterator[tuple[RunningServer, ManualClock]]:
    async with clocked_server(db_url, T0) as running:
        yield running


def wire(at: datetime) -> str:
    """An instant as the console sends it: UTC, ISO 8601."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def get_report(api: Api, **params: str) -> dict[str, Any]:
    result: dict[str, Any] = await api.call("GET", "/api/console/report", params=params)
    return result


async def get_csv(api: Api, **params: str) -> list[dict[str, str]]:
    text = await api.call("GET", "/api/console/report.csv", params=params)
    return list(csv.DictReader(io.StringIO(text)))


async def test_a_date_range_reports_alerts_outside_operations_and_nothing_outside_the_range(
    clocked: tuple[RunningServer, ManualClock],
) -> None:
    server, clock = clocked
    # The evening before, an officer on no deployment raises an alert no crew is there
    # for; a supervisor closes it on the radio's word.
    stray = await server.officer()
    boss = await server.supervisor()
    early = (await stray.raise_alert(CENTRE))["result"]["alert_id"]
    await ok(boss, "alert.close", alert_id=early, outcome="false_alarm", reason="Radioed: fine")
    scene = await live_operation(server, clock, OPERATION)
    assert clock.now > DAY
    api = scene.api
    inside = await accepted_and_resolved(
        scene, note="followed", accept_after_s=40, on_scene_after_s=240, outcome="arrest"
    )

    # On the day she raises another: outside every operation. The crew declines it, and a
    # supervisor closes it on the radio's word.
    clock.advance(timedelta(minutes=5))
    await fresh_fix(scene)
    start = len(scene.crew.frames)
    outside = (await stray.raise_alert(CENTRE))["result"]["alert_id"]
    offer = await scene.crew.offer(start=start)
    clock.advance(timedelta(seconds=15))
    await ok(scene.crew, "offer.decline", offer_id=offer["id"])
    await scene.supervisor.wait_for(
        lambda f: (
            f["type"] == "alert"
            and f["alert"]["id"] == outside
            and f["alert"]["state"] == "unassigned"
        ),
        20,
    )
    clock.advance(timedelta(minutes=2))
    await ok(
        scene.supervisor,
        "alert.close",
        alert_id=outside,
        outcome="words_of_advice",
        reason="She radioed: spoken to, moved on",
    )

    day = {"since": wire(DAY), "until": wire(DAY + timedelta(days=1))}
    raised = {r["id"]: r for r in (await api.call("GET", "/api/console/alerts"))["alerts"]}
    assert set(raised) == {inside, outside, early}
    assert all(
        DAY <= datetime.fromisoformat(raised[a]["raised_at"]) < DAY + timedelta(days=1)
        for a in (inside, outside)
    )

    # The day without an operation: both of its alerts, the one outside operations too.
    report = await get_report(api, **day)
    assert (report["operation_id"], report["operation"]) == (None, None)
    assert datetime.fromisoformat(report["since"]) == DAY
    assert datetime.fromisoformat(report["until"]) == DAY + timedelta(days=1)
    assert report["timezone"] == "Europe/London"  # planning.timezone when none is asked
    assert report["alerts"] == 2 and report["rows_total"] == 2
    assert [r["id"] for r in report["rows"]] == [outside, inside]  # newest first
    row = {r["id"]: r for r in report["rows"]}
    assert (row[outside]["operation"], row[outside]["place"]) == (None, None)
    assert row[outside]["outcome"] == "words_of_advice"
    assert row[inside]["operation"] == OPERATION
    assert report["by_state"] == {"resolved": 2}
    assert report["outcomes"] == {"arrest": 1, "words_of_advice": 1}
    assert report["accept"] == {"count": 1, "median_s": 40.0, "p90_s": 40.0}
    places = {p["place"]: p["alerts"] for p in report["by_place"]}
    assert places == {scene.deployment["place_name"]: 1, "(no place)": 1}
    hours = [0] * 24
    for alert_id in (inside, outside):
        hours[datetime.fromisoformat(raised[alert_id]["raised_at"]).hour] += 1  # GMT
    assert report["by_hour"] == hours
    assert early not in row

    # Its CSV: the same two alerts, oldest first; the one outside operations has none.
    table = await get_csv(api, **day)
    assert [r["alert_id"] for r in table] == [inside, outside]
    assert (table[0]["operation"], table[0]["accept_s"]) == (OPERATION, "40.0")
    assert (table[1]["operation"], table[1]["place"], table[1]["outcome"]) == (
        "",
        "",
        "words_of_advice",
    )
    assert (table[1]["state"], table[1]["accept_s"]) == ("resolved", "")

    # The same day with the operation: only the operation's alert.
    mine = await get_report(api, **day, operation=OPERATION)
    assert (mine["operation_id"], mine["operation"]) == (scene.operation["id"], OPERATION)
    assert [r["id"] for r in mine["rows"]] == [inside]
    assert [r["alert_id"] for r in await get_csv(api, **day, operation=OPERATION)] == [inside]
    # The operation without a range is the operation's report of old.
    whole = await get_report(api, operation=scene.operation["id"])
    old = await api.call("GET", f"/api/console/operations/{scene.operation['id']}/report")
    assert whole == old and [r["id"] for r in whole["rows"]] == [inside]

    # The day before: only the early alert; the day's two are not in it.
    before = {"since": wire(DAY - timedelta(days=1)), "until": wire(DAY)}
    report = await get_report(api, **before)
    assert [r["id"] for r in report["rows"]] == [early]
    assert report["outcomes"] == {"false_alarm": 1}
    assert [r["alert_id"] for r in await get_csv(api, **before)] == [early]

    # The hours on another clock, when asked: Kolkata is 5 h 30 ahead of UTC.
    kolkata = await get_report(api, **day, tz="Asia/Kolkata")
    assert kolkata["timezone"] == "Asia/Kolkata"
    shifted = [0] * 24
    for alert_id in (inside, outside):
        at = datetime.fromisoformat(raised[alert_id]["raised_at"]) + timedelta(hours=5, minutes=30)
        shifted[at.hour] += 1
    assert kolkata["by_hour"] == shifted
    await api.close()


async def test_bad_ranges_are_refused_with_a_sentence(sqlite_url: str) -> None:
    server = await start_server(settings_for(sqlite_url))
    try:
        api = await api_for(server, (await server.supervisor()).session["username"])
        refused = {
            "": "since",  # neither a range nor an operation
            "since=2027-03-01T00:00:00Z": "since",  # a range needs both ends
            "since=2027-03-01T00:00:00&until=2027-03-02T00:00:00Z": "since",  # no zone
            "since=2027-03-01T00:00:00Z&until=2027-03-02T00:00:00": "until",
            "since=2027-03-02T00:00:00Z&until=2027-03-01T00:00:00Z": "until",
            "since=2027-03-01T00:00:00Z&until=2027-03-01T00:00:00Z": "until",
            "since=yesterday&until=2027-03-01T00:00:00Z": "since",
            "since=2027-03-01T00:00:00Z&until=2027-03-02T00:00:00Z&tz=Mars/Olympus": "tz",
            "operation=Nowhere": "operation",
        }
        for path in ("/api/console/report", "/api/console/report.csv"):
            for query, field in refused.items():
                response = await api.http.get(f"{path}?{query}")
                assert response.status_code == 422, (path, query, response.text)
                body = response.json()
                assert body["code"] == "invalid" and body["message"].startswith(field), body
        await api.close()

        officer = await server.officer()
        day = "since=2027-03-01T00:00:00Z&until=2027-03-02T00:00:00Z"
        async with httpx.AsyncClient(base_url=server.base) as http:
            for path in (f"/api/console/report?{day}", f"/api/console/report.csv?{day}"):
                as_officer = await http.get(
                    path, headers={"Authorization": f"Bearer {officer.session['token']}"}
                )
                assert as_officer.status_code == 403
                assert (await http.get(path)).status_code == 401
    finally:
        await server.stop()

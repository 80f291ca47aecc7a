"""The console end to end, as the issue tells it: a supervisor signs in, creates an
operation with five places, generates and publishes its plan; during its live deployment
an officer's alert (a websocket client) reaches the board live; with no crew free it is
escalated and rings until she assigns a crew by hand; the incident's timeline and the
operation's report show it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.async_api import Browser, expect

from dispatch.storage.models import Alert, Crew, Deployment
from schemas.common import CrewMode, Role
from tests.e2e.conftest import ServerFactory
from tests.e2e.console_steps import console_desk, sign_in_console
from tests.e2e.planning_steps import PlaceSpec, create_operation_with_places, generate_and_publish
from tests.e2e.report_steps import chart_facts, open_report, open_timeline
from tests.operations.support import api_for
from tests.support import CENTRE, north_of

NAME = "Jog On - Castle Green"
PLACES = [
    PlaceSpec("Castle Green", *north_of(CENTRE, -400), risk=4.0),
    PlaceSpec("Bishop's Meadow", *north_of(CENTRE, -700), risk=3.0),
    PlaceSpec("Old Market", *north_of(CENTRE, 200), risk=2.0),
    PlaceSpec("Widemarsh Street", *north_of(CENTRE, 500), risk=1.5),
    PlaceSpec("Station approach", *north_of(CENTRE, 800), risk=1.0),
]


async def test_plan_publish_then_an_escalated_alert_is_assigned_by_hand_and_reported(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve(**{"scheduler.brief_lead_min": 0.05})  # briefed 3 s before the start
    supervisor = await server.add_user(Role.SUPERVISOR)
    officer_name = await server.add_user(Role.OFFICER)
    callsign = await server.add_crew(CrewMode.CAR)
    crew_user = await server.add_user(Role.CREW, crew=callsign)
    desk = await console_desk(browser, server)
    page = desk.page
    await sign_in_console(desk, supervisor)

    # Plan: one deployment in the next few hours, so that the test can start it now.
    op_id = await create_operation_with_places(
        desk,
        NAME,
        PLACES,
        [officer_name],
        [callsign],
        start=datetime.now(UTC) - timedelta(minutes=30),
        days=0.25,
        deployments=1,
    )
    assert await generate_and_publish(desk) == 1
    api = await api_for(server, supervisor)
    plan = await api.call("GET", f"/api/operations/{op_id}/plan")
    assert plan["operation"]["state"] == "published" and len(plan["operation"]["places"]) == 5
    # Bring its start forward to a few seconds from now (a move a supervisor may make).
    dep = plan["deployments"][0]
    start = datetime.now(UTC) + timedelta(seconds=6)
    await api.call(
        "PATCH",
        f"/api/operations/{op_id}/deployments/{dep['id']}",
        json={"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat()},
    )
    await page.click("#tabs button[data-tab=board]")
    await expect(page.locator("#live-deployments")).to_contain_text(NAME, timeout=20_000)

    # Her alert arrives live. The deployment put the crew on duty, but its phone is not
    # connected: no crew is free, so the alert is escalated and the console rings.
    officer = await server.connect(officer_name)
    alert_id = (await officer.raise_alert(north_of(CENTRE, -400), category="following"))["result"][
        "alert_id"
    ]
    card = page.locator(f'.alert-card[data-alert="{alert_id}"]')
    await expect(card).to_have_attribute("data-state", "unassigned")
    await expect(page.locator("#banner")).to_contain_text("1 unassigned alert needs a supervisor")
    await expect(page.locator("body")).to_have_attribute("data-beeps", re.compile(r"^[1-9]"))
    await desk.shot("console-board-escalated")

    await card.click()
    crew_id = next(c for c in await server.rows(Crew) if c.callsign == callsign).id
    await page.select_option("#assign-crew", crew_id)
    await page.click("#assign")
    await page.fill("#reason-text", "Car 1 raised on the radio, two minutes away")
    await page.click("#reason-ok")
    await expect(card).to_have_attribute("data-state", "assigned")
    await expect(page.locator("#banner")).to_be_hidden()
    await desk.shot("console-board")

    # The crew's phone connects, sees its assignment, arrives and resolves it.
    crew = await server.connect(crew_user)
    snapshot = next(f for f in crew.frames if f["type"] == "snapshot")
    assert [a["id"] for a in snapshot["alerts"]] == [alert_id]
    await crew.request("assignment.status", alert_id=alert_id, status="on_scene")
    ack = await crew.request(
        "assignment.status", alert_id=alert_id, status="resolved", outcome="arrest"
    )
    assert ack["result"]["state"] == "resolved"
    await expect(card).to_have_count(0)
    stored = next(a for a in await server.rows(Alert) if a.id == alert_id)
    assert stored.deployment_id == dep["id"]
    assert next(d for d in await server.rows(Deployment) if d.id == dep["id"]).state == "live"

    # The incident's timeline tells the story, with the supervisor's reason.
    entries = await open_timeline(desk, officer_name)
    story = " | ".join(await entries.all_inner_texts())
    for step in (
        "Raised",
        "escalated to supervisors",
        f"{callsign} assigned by hand",
        "Car 1 raised on the radio, two minutes away",
        f"{callsign} on scene",
        "Resolved: Arrest",
    ):
        assert step.lower() in story.lower(), (step, story)

    # The operation's report counts it, by hour and by place.
    report = await open_report(desk, NAME)
    await expect(report).to_contain_text(dep["place_name"])
    charts = await chart_facts(desk)
    assert charts["chart-hour"]["drawn"] and charts["chart-hour"]["total"] == 1
    assert charts["chart-place"]["drawn"] and charts["chart-place"]["total"] == 1
    await api.close()
    await desk.context.close()

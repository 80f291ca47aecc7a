"""Drills and false alarms in a real Chromium (issue 14 items 4, 8): the planning form
makes an operation an exercise; the Reports tab leaves exercises out (and says how many),
shows them apart on request, and lists false alarms per officer over twelve months with
the officer at three flagged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.async_api import Browser, expect

from tests.e2e.conftest import ServerFactory
from tests.e2e.console_steps import console_desk, sign_in_console
from tests.e2e.planning_steps import local_input, open_planning
from tests.operations.support import api_for
from tests.support import CENTRE, Client

WAIT = 20_000


async def ok(client: Client, type_: str, **body: Any) -> dict[str, Any]:
    reply = await client.request(type_, timeout=20, **body)
    assert reply["type"] == "ack", reply
    return reply


async def raised_and_cancelled(officer: Client) -> str:
    alert_id: str = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    await ok(officer, "alert.cancel", alert_id=alert_id)
    return alert_id


async def test_an_exercise_operation_from_the_form_and_drills_kept_out_of_the_reports(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve()
    boss = await server.supervisor()
    officer = await server.officer()
    desk = await console_desk(browser, server)
    await sign_in_console(desk, boss.session["username"])
    page = desk.page

    # The planning form: "Exercise" ticked makes the operation a drill.
    await open_planning(desk)
    await page.click("#op-new")
    await page.fill("#op-name", "Castle drill")
    start = datetime.now(UTC) + timedelta(days=2)
    await page.fill("#op-start", local_input(start))
    await page.fill("#op-end", local_input(start + timedelta(days=3)))
    await page.fill("#op-count", "2")
    await page.fill("#op-crews-per", "0")
    await page.check(f"input[name=officer][data-key='{officer.session['username']}']")
    await page.check("#op-exercise")
    await page.click("#op-create")
    await expect(page.locator("#op-title")).to_have_text("Castle drill", timeout=WAIT)
    await expect(page.locator("#op-exercise-mark")).to_contain_text("EXERCISE")
    api = await api_for(server, boss.session["username"])
    [op] = await api.call("GET", "/api/operations")
    assert op["exercise"] is True

    # Three false alarms of hers, and a drill that was cancelled too.
    for _ in range(3):
        await raised_and_cancelled(officer)
    drill = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    await ok(boss, "alert.exercise", alert_id=drill, exercise=True, reason="Drill")
    await ok(officer, "alert.cancel", alert_id=drill)

    await page.click("#tabs button[data-tab=reports]")
    await page.locator("#report-operation").select_option(value="")
    await expect(page.locator("#report-alerts")).to_have_text("3", timeout=WAIT)
    await expect(page.locator("[data-testid=report-alerts]")).to_contain_text("1 exercise left out")
    flagged = page.locator("#false-alarms-officers tr.flagged")
    await expect(flagged).to_have_count(1, timeout=WAIT)
    await expect(flagged).to_contain_text("3+ in 12 months")
    await expect(flagged.locator("td").nth(3)).to_have_text("3")  # the drill is not counted
    await page.locator("#false-alarms").scroll_into_view_if_needed()
    await desk.shot("console-report-false-alarms")

    await page.locator("#report-exercises").select_option(value="exercise")
    await expect(page.locator("#report-alerts")).to_have_text("1", timeout=WAIT)
    await expect(page.locator("#report-rows .pill.exercise")).to_have_count(1)
    await api.close()
    await desk.context.close()

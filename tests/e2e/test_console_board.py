"""The live board in a real browser: an alert nobody can take rings until a supervisor
assigns a crew by hand; the board follows every change live and resyncs after a drop."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from dispatch.storage.models import AlertNote, Offer
from schemas.common import CrewMode, Role
from tests.e2e.conftest import ServerFactory
from tests.e2e.console_steps import console_desk, sign_in_console
from tests.support import CENTRE, PASSWORD, north_of


async def test_an_unassigned_alert_rings_until_a_supervisor_assigns_a_crew_by_hand(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve()
    supervisor = await server.add_user(Role.SUPERVISOR)
    busy = await server.crew(CrewMode.CAR, north_of(CENTRE, 300))
    resting = await server.crew(CrewMode.BIKE, north_of(CENTRE, 500), on_duty=False)
    officer = await server.officer()
    desk = await console_desk(browser, server)
    await sign_in_console(desk, supervisor)
    page = desk.page
    await expect(page.locator("#queue")).to_contain_text("No open alerts")
    # The browser keeps the page silent until it is clicked: the header says so.
    await expect(page.locator("#sound")).to_be_visible()
    # A real click on the button. Any press turns the sound on and hides the button at
    # once, so the click is made at its place rather than waited on as a target (on a
    # busy machine the button may be gone before the press is over).
    box = await page.locator("#sound").bounding_box()
    assert box is not None
    await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await expect(page.locator("#sound")).to_be_hidden()

    # The car takes a first alert; a second finds no crew free and is escalated.
    first = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    offer = await busy.offer()
    await busy.request("offer.accept", offer_id=offer["id"])
    second = (await officer.raise_alert(north_of(CENTRE, 80)))["result"]["alert_id"]

    card = page.locator(f'.alert-card[data-alert="{second}"]')
    await expect(card).to_have_attribute("data-state", "unassigned")
    await expect(page.locator("#banner")).to_contain_text("1 unassigned alert needs a supervisor")
    await expect(page.locator(".alert-card").first).to_have_attribute("data-alert", second)
    await expect(page.locator(f'.alert-card[data-alert="{first}"]')).to_contain_text(busy.callsign)

    await card.click()
    # Where she is, to read out on the radio.
    await expect(page.locator("#detail-where")).to_contain_text("52.05")
    option = page.locator("#assign-crew option", has_text=resting.callsign)
    await expect(option).to_contain_text("off duty")
    await page.select_option("#assign-crew", await option.get_attribute("value"))
    await page.click("#assign")
    await page.fill("#reason-text", "Raised on the radio, coming from the station")
    await page.click("#reason-ok")

    await expect(card).to_have_attribute("data-state", "assigned")
    await expect(card).to_contain_text(resting.callsign)
    await expect(page.locator("#banner")).to_be_hidden()
    await expect(page.locator("#detail-taken")).not_to_have_text("nobody yet")
    await resting.wait_for(lambda f: f["type"] == "alert" and f["alert"]["id"] == second)
    notes = [(n.action, n.text) for n in await server.rows(AlertNote) if n.alert_id == second]
    assert ("assign", "Raised on the radio, coming from the station") in notes
    assert any(o.assigned_by for o in await server.rows(Offer) if o.alert_id == second)

    # A dropped connection: the board resyncs and shows what changed meanwhile.
    await desk.context.set_offline(True)
    await expect(page.locator("#link")).not_to_have_attribute("data-link", "synced")
    await busy.request("assignment.status", alert_id=first, status="resolved", outcome="arrest")
    await desk.context.set_offline(False)
    await expect(page.locator("#link")).to_have_attribute("data-link", "synced")
    await expect(page.locator(f'.alert-card[data-alert="{first}"]')).to_have_count(0)
    await expect(page.locator(f'.alert-card[data-alert="{second}"]')).to_be_visible()
    await desk.context.close()


async def test_the_console_turns_away_anyone_but_a_supervisor(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve()
    officer = await server.add_user(Role.OFFICER)
    desk = await console_desk(browser, server)
    page = desk.page
    await page.goto("/console")
    await page.fill("#username", officer)
    await page.fill("#password", PASSWORD)
    await page.click("#signin-form button[type=submit]")
    await expect(page.locator("#signin-error")).to_have_text("The console is for supervisors only.")
    await expect(page.locator("#tabs")).to_be_hidden()
    # Her session was ended, and the console's APIs refuse her in any case.
    assert (await page.request.get("/api/console/people")).status == 401
    await desk.context.close()


async def test_a_card_pressed_across_a_redraw_still_opens_its_alert(
    browser: Browser, serve: ServerFactory
) -> None:
    """The board redraws every second (ages) and on every change: a supervisor's click,
    button down then up, spans a redraw on a busy night, and must not be lost."""
    server = await serve()
    supervisor = await server.add_user(Role.SUPERVISOR)
    crew = await server.crew(CrewMode.CAR, north_of(CENTRE, 300))
    officer = await server.officer()
    desk = await console_desk(browser, server)
    await sign_in_console(desk, supervisor)
    page = desk.page
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    await crew.request("offer.accept", offer_id=(await crew.offer())["id"])
    card = page.locator(f'.alert-card[data-alert="{alert_id}"]')
    await expect(card).to_contain_text(crew.callsign)
    box = await card.bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    age = await card.locator(".age").text_content()
    await page.mouse.down()
    await expect(card.locator(".age")).not_to_have_text(age or "")  # a redraw, held down
    await page.mouse.up()
    await expect(card).to_have_class(re.compile(r"\bselected\b"))
    await expect(page.locator("#detail")).to_contain_text(crew.callsign)

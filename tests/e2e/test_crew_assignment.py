"""The crew's assignment in a real Chromium: the map keeps the officer in view while she
moves (until the crew moves it by hand), says how far and which way she is, labels its
markers, starts en route at the accept; a crew taken off an alert is told why; duress
cannot be missed."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect

from dispatch.storage.models import Offer
from schemas.common import CrewMode, Role
from tests.e2e.conftest import ServerFactory
from tests.e2e.console_steps import console_desk, sign_in_console
from tests.e2e.test_phones import DURESS_PIN, Phone, crew_page, hold, officer_page
from tests.support import CENTRE, RunningServer, north_of

# Every vibration the page asks for, kept where the test can read it.
RECORD_VIBRATIONS = """
window.__buzz = [];
Object.defineProperty(Navigator.prototype, "vibrate", {
  configurable: true,
  value(pattern) { window.__buzz.push(pattern); return true; },
});
"""
STOOD_DOWN_BUZZ = "[200,100,200,100,200,100,800]"

OFFICER_IN_VIEW = """() => {
    const map = document.getElementById('map').getBoundingClientRect();
    const dot = document.querySelector('path.officer-marker').getBoundingClientRect();
    // Leaflet draws a marker that is out of view as an empty path.
    return dot.width > 0 && dot.left >= map.left && dot.right <= map.right
        && dot.top >= map.top && dot.bottom <= map.bottom;
}"""


async def recording(p: Phone) -> Phone:
    await p.context.add_init_script(RECORD_VIBRATIONS)
    await p.page.reload()
    await expect(p.page.locator("#dot")).to_have_attribute("data-link", "online")
    return p


async def buzzed(page: Page, pattern: str) -> None:
    await page.wait_for_function(
        "(p) => window.__buzz.some((b) => JSON.stringify(b) === p)", arg=pattern
    )


async def accept(crew: Phone) -> None:
    await expect(crew.page.locator("#offer")).to_be_visible()
    await crew.page.click("#offer-accept")
    await expect(crew.page.locator("#assignment")).to_be_visible()


async def test_the_map_keeps_her_in_view_says_where_she_is_and_follows_again_on_request(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve()
    crew = await crew_page(browser, server, north_of(CENTRE, 300))
    officer = await officer_page(browser, server)
    await hold(officer.page)
    await accept(crew)
    page = crew.page

    # She is 300 m south of the crew; both markers are labelled.
    await expect(page.locator("#officer-line")).to_have_text(
        re.compile(r"^Officer 300 m S, \d+ s ago$")
    )
    await expect(page.locator(".leaflet-tooltip.officer-label")).to_have_text("Officer")
    await expect(page.locator(".leaflet-tooltip.crew-label")).to_have_text("You")
    # Accepting is setting off: en route from the accept, with no button to say it again.
    await expect(page.locator("#assignment-step")).to_have_text(re.compile(r"^En route since"))
    await expect(page.locator(".status-buttons [data-status=en_route]")).to_have_count(0)
    await expect(page.locator("#follow")).to_have_attribute("aria-pressed", "true")

    # She runs 1.5 km south: the map widens to keep her in view.
    await officer.move_to(north_of(CENTRE, -1500))
    await expect(page.locator("#officer-line")).to_have_text(
        re.compile(r"^Officer 1\.8 km S, \d+ s ago$")
    )
    await page.wait_for_function(OFFICER_IN_VIEW)
    await crew.shot("crew-assignment-follow")

    # The crew drags the map away: it stays where the crew put it while she moves on.
    box = await page.locator("#map").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    await page.mouse.move(x, y)
    await page.mouse.down()
    await page.mouse.move(x + 40, y + 40, steps=4)
    await page.mouse.move(x + 80, y + 300, steps=8)
    await page.mouse.up()
    await expect(page.locator("#follow")).to_have_attribute("aria-pressed", "false")
    await officer.move_to(north_of(CENTRE, -6000))
    await expect(page.locator("#officer-line")).to_have_text(re.compile(r"^Officer 6\.3 km S"))
    assert not await page.evaluate(OFFICER_IN_VIEW)

    # "Follow" brings both back into view, and keeps them there.
    await page.click("#follow")
    await expect(page.locator("#follow")).to_have_attribute("aria-pressed", "true")
    await page.wait_for_function(OFFICER_IN_VIEW)

    # On scene is the next step.
    await page.click("[data-status=on_scene]")
    await expect(page.locator("#assignment-step")).to_have_text("On scene")


async def test_the_two_labels_never_overlap_when_she_is_next_to_the_crew(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve()
    crew = await crew_page(browser, server, north_of(CENTRE, 2))
    officer = await server.officer()
    await officer.raise_alert(CENTRE)
    await accept(crew)
    page = crew.page
    await expect(page.locator(".leaflet-tooltip.crew-label")).to_be_visible()
    await expect(page.locator(".leaflet-tooltip.officer-label")).to_be_visible()
    await page.wait_for_function(
        """() => {
            const [a, b] = [...document.querySelectorAll('.leaflet-tooltip.map-label')]
                .map((l) => l.getBoundingClientRect());
            return !(a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom);
        }"""
    )
    await officer.close()


async def test_a_crew_is_told_why_it_was_stood_down(browser: Browser, serve: ServerFactory) -> None:
    server = await serve()
    crew = await recording(await crew_page(browser, server, north_of(CENTRE, 300)))
    await expect(crew.page.locator("#crew-state")).to_have_text("On duty")
    officer = await server.officer()
    supervisor = await server.supervisor()
    page, sign = crew.page, crew.page.locator("#stood-down")

    # She cancels.
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    await accept(crew)
    await expect(sign).to_be_hidden()
    assert (await officer.request("alert.cancel", alert_id=alert_id))["type"] == "ack"
    await expect(sign).to_be_visible()
    await expect(page.locator("#stood-down-text")).to_have_text(
        "Stood down: cancelled by the officer"
    )
    await buzzed(page, STOOD_DOWN_BUZZ)
    await crew.shot("crew-stood-down")
    await page.click("#stood-down-ok")
    await expect(sign).to_be_hidden()

    # A supervisor cancels, with a reason.
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    await accept(crew)
    await expect(sign).to_be_hidden()
    answer = await supervisor.request(
        "alert.cancel", alert_id=alert_id, reason="Handled on the radio"
    )
    assert answer["type"] == "ack", answer
    await expect(page.locator("#stood-down-text")).to_have_text(
        "Stood down: cancelled by a supervisor: Handled on the radio"
    )

    # A supervisor releases the crew from an alert that carries on.
    await page.click("#stood-down-ok")
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    await accept(crew)
    offer_id = await accepted_offer(server, alert_id)
    answer = await supervisor.request(
        "offer.withdraw", offer_id=offer_id, reason="Needed elsewhere"
    )
    assert answer["type"] == "ack", answer
    await expect(page.locator("#stood-down-text")).to_have_text(
        re.compile(r"^Stood down by a supervisor")
    )
    await expect(page.locator("#duty")).to_be_visible()
    await officer.close()
    await supervisor.close()


async def accepted_offer(server: RunningServer, alert_id: str) -> str:
    """The accepted offer that attaches the crew to this alert (what a release withdraws)."""
    (offer,) = [o for o in await server.rows(Offer) if o.alert_id == alert_id and o.accepted_at]
    return str(offer.id)


async def test_duress_cannot_be_missed_on_the_offer_the_assignment_and_the_board(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve()
    desk = await console_desk(browser, server)
    await sign_in_console(desk, await server.add_user(Role.SUPERVISOR))
    officer = await officer_page(browser, server, pins=True)
    await hold(officer.page)  # no crew on duty: it waits for one
    await officer.page.click("#cancel")
    for digit in DURESS_PIN:
        await officer.page.click(f"[data-digit='{digit}']")
    await expect(officer.page.locator("#cancelled")).to_be_visible()
    await expect(officer.page.locator("body")).not_to_contain_text("DURESS")

    card = desk.page.locator(".alert-card .duress")
    await expect(card).to_be_visible()
    await expect(card).to_have_text("DURESS")
    await desk.shot("console-board-duress")

    crew = await crew_page(browser, server, north_of(CENTRE, 300), mode=CrewMode.BIKE)
    await expect(crew.page.locator("#offer")).to_be_visible()
    await expect(crew.page.locator("#offer-duress")).to_be_visible()
    await expect(crew.page.locator("#offer-duress")).to_have_text("DURESS")
    await crew.shot("crew-offer-duress")
    await crew.page.click("#offer-accept")
    await expect(crew.page.locator("#assignment-duress")).to_be_visible()
    await crew.shot("crew-assignment-duress")
    await desk.context.close()

"""The officer's page when no crew comes: after `pages.no_crew_after_s` with her alert
open and no crew on it, a discreet sign and its own vibration; gone once a crew accepts.
Her header never says "Off" while her alert is open."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from schemas.common import CrewMode
from tests.e2e.conftest import ServerFactory
from tests.e2e.test_crew_assignment import buzzed, recording
from tests.e2e.test_phones import hold, officer_page
from tests.support import CENTRE, north_of

NO_CREW_BUZZ = "[250,250,250,250,700]"


async def test_she_is_told_when_no_crew_is_coming_until_one_accepts(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve(**{"pages.no_crew_after_s": 2})
    officer = await recording(await officer_page(browser, server))
    page = officer.page
    await expect(page.locator("#deployment")).to_have_text("Off")

    await hold(page)  # no crew is on duty: the alert waits for one

    await expect(page.locator("#deployment")).to_have_text("Sharing location")
    sign = page.locator("#no-crew")
    await expect(sign).to_be_visible()
    await expect(sign).to_have_text("No crew yet: use your radio")
    await expect(page.locator("#status")).to_have_attribute("data-status", "received")
    await buzzed(page, NO_CREW_BUZZ)
    await expect(page.locator("body")).not_to_contain_text("olice")
    await officer.shot("officer-no-crew")

    crew = await server.crew(CrewMode.CAR, north_of(CENTRE, 300))
    offer = await crew.offer(timeout=15)
    assert (await crew.request("offer.accept", offer_id=offer["id"]))["type"] == "ack"

    await expect(page.locator("#status")).to_have_attribute("data-status", "crew_assigned")
    await expect(sign).to_be_hidden()
    await crew.close()

"""The public's report page in Chromium at phone size: a report with a pin, one with her
location, bad input refused with a sentence and nothing stored, nothing loaded from
outside, and the language switch."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Browser, BrowserContext, Page, expect

from dispatch.public_reports.models import PublicReport, PublicReportContact
from tests.e2e.conftest import PHONE, ServerFactory, screenshot_path
from tests.e2e.test_maps import gone_out, watch
from tests.support import CENTRE, RunningServer

HERS = (52.05512, -2.71234)  # stored as (52.055, -2.712)
LONDON = (51.5074, -0.1278)


async def phone(browser: Browser, server: RunningServer) -> BrowserContext:
    return await browser.new_context(
        base_url=server.base,
        viewport=PHONE,
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        geolocation={"latitude": HERS[0], "longitude": HERS[1], "accuracy": 8},
        permissions=["geolocation"],
        locale="en-GB",
        timezone_id="Europe/London",
    )


async def send(page: Page) -> None:
    await page.get_by_role("button", name="Send report").click()


async def refused(page: Page, sentence: str) -> None:
    await expect(page.locator("#problem")).to_contain_text(sentence)
    await expect(page.locator("#form-screen")).to_be_visible()


async def received(page: Page) -> str:
    await expect(page.locator("#done")).to_be_visible()
    reference = (await page.locator("#reference").inner_text()).removeprefix("Your reference: ")
    await page.get_by_role("button", name="Report something else").click()
    await expect(page.locator("#form-screen")).to_be_visible()
    return reference


async def test_reports_from_a_pin_and_from_her_location_are_stored_rounded(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve(**{"public_reports.pow_bits": 8})
    context = await phone(browser, server)
    seen = watch(context)
    page = await context.new_page()
    await page.goto("/report")
    await expect(page.locator(".emergency").first).to_contain_text("call 999")
    await expect(page.locator(".what")).to_contain_text("What happens to your report")
    await expect(page.locator("#map .leaflet-tile").first).to_be_visible()  # the drawn grid

    # A pin in the middle of the map (the town centre), a few words and a contact.
    await page.get_by_text("Following", exact=True).click()
    box = await page.locator("#map").bounding_box()
    assert box is not None
    await page.locator("#map").click(position={"x": box["width"] / 2, "y": box["height"] / 2})
    await expect(page.locator("#where-status")).to_have_text("Place marked on the map.")
    await page.fill("#description", "Man followed me from the bridge to the car park.")
    await page.fill("#contact", "07700 900123")
    await page.screenshot(path=str(screenshot_path("public-report-form")), full_page=True)
    await send(page)
    await expect(page.locator("#done")).to_be_visible()
    await page.screenshot(path=str(screenshot_path("public-report-received")))
    first = await received(page)

    # Her location, from a vehicle, an hour ago.
    await page.get_by_text("From a vehicle", exact=True).click()
    await page.get_by_role("button", name="Use my location").click()
    await expect(page.locator("#where-status")).to_have_text("Your location is marked on the map.")
    await page.get_by_text("Earlier", exact=True).click()
    an_hour_ago = datetime.now(ZoneInfo("Europe/London")) - timedelta(hours=1)
    await page.fill("#when-at", an_hour_ago.strftime("%Y-%m-%dT%H:%M"))
    await page.fill("#vehicle-reg", "ab12 cde")
    await send(page)
    second = await received(page)

    rows = {r.id: r for r in await server.rows(PublicReport)}
    assert set(rows) == {first, second}
    pinned, located = rows[first], rows[second]
    assert pinned.kind == "following"
    assert (round(pinned.lat, 3), round(pinned.lon, 3)) == (pinned.lat, pinned.lon)
    assert abs(pinned.lat - CENTRE[0]) < 0.003 and abs(pinned.lon - CENTRE[1]) < 0.003
    assert (located.lat, located.lon, located.kind) == (52.055, -2.712, "vehicle")
    assert located.vehicle_reg == "AB12CDE"
    assert timedelta(minutes=55) < located.received_at - located.occurred_at < timedelta(minutes=65)
    assert [(c.report_id, c.contact) for c in await server.rows(PublicReportContact)] == [
        (first, "07700 900123")
    ]
    assert gone_out(seen) == []
    await context.close()


async def test_bad_input_gets_a_sentence_and_stores_nothing(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve(**{"public_reports.pow_bits": 8})
    context = await phone(browser, server)
    seen = watch(context)
    page = await context.new_page()
    await page.goto("/report")
    await page.get_by_text("Catcalling or comments", exact=True).click()

    # A pin far away: zoomed out, near the map's top right corner (tens of kilometres off).
    scale = page.locator(".leaflet-control-scale")
    await expect(scale).to_have_text("500 m")
    for shown in ("1 km", "3 km", "5 km", "10 km", "30 km"):  # each zoom done before the next
        await page.locator(".leaflet-control-zoom-out").click()
        await expect(scale).to_have_text(shown)
    box = await page.locator("#map").bounding_box()
    assert box is not None
    await page.locator("#map").click(position={"x": box["width"] - 12, "y": 12})
    await expect(page.locator("#where-status")).to_have_text("Place marked on the map.")
    await send(page)
    await refused(page, "outside the area")

    # A time in the future.
    await page.get_by_role("button", name="Use my location").click()
    await expect(page.locator("#where-status")).to_have_text("Your location is marked on the map.")
    await page.get_by_text("Earlier", exact=True).click()
    tomorrow = datetime.now(ZoneInfo("Europe/London")) + timedelta(days=1)
    await page.fill("#when-at", tomorrow.strftime("%Y-%m-%dT%H:%M"))
    await send(page)
    await refused(page, "That time is in the future")

    # A description over the limit: the counter says so, and so does the answer.
    await page.get_by_text("Just now", exact=True).click()
    await page.fill("#description", "x" * 501)
    await expect(page.locator("#description-count")).to_have_text("501 of 500 characters")
    await send(page)
    await refused(page, "The description is too long: at most 500 characters.")

    # Her location in London: outside the force's area too.
    await page.fill("#description", "")
    await context.set_geolocation({"latitude": LONDON[0], "longitude": LONDON[1]})
    await page.get_by_role("button", name="Use my location").click()
    await expect(page.locator("#where-status")).to_have_text("Your location is marked on the map.")
    await send(page)
    await refused(page, "outside the area")

    assert await server.rows(PublicReport) == []
    assert gone_out(seen) == []
    await context.close()


async def test_the_page_switches_language_and_sends_in_it(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve(**{"public_reports.pow_bits": 8})
    context = await phone(browser, server)
    seen = watch(context)
    page = await context.new_page()
    await page.goto("/report")
    await page.get_by_role("button", name="Polski").click()
    await expect(page.locator("h1")).to_have_text("Zgłoś nękanie na ulicy")
    await expect(page.locator("html")).to_have_attribute("lang", "pl")
    await page.get_by_text("Śledzenie", exact=True).click()
    await page.get_by_role("button", name="Użyj mojej lokalizacji").click()
    await expect(page.locator("#where-status")).to_have_text(
        "Twoja lokalizacja jest zaznaczona na mapie."
    )
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(screenshot_path("public-report-polish")))
    await page.get_by_role("button", name="Wyślij zgłoszenie").click()
    await expect(page.locator("#received")).to_have_text("Dziękujemy: zgłoszenie zostało przyjęte.")
    [row] = await server.rows(PublicReport)
    assert (row.language, row.kind) == ("pl", "following")
    assert gone_out(seen) == []
    await context.close()

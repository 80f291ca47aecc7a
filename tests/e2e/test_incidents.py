"""Issue 14 in a real Chromium: the console and the crew page exchange messages on an
alert (the officer's page shows none of them, and feels a supervisor's vibration code);
a crew member holds "crew needs help" and the nearest other crew is offered it while the
console rings; an alert marked as an exercise says EXERCISE on the officer's page, the
crew's page and the console."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from schemas.common import CrewMode, Role
from tests.e2e.conftest import ServerFactory
from tests.e2e.console_steps import console_desk, sign_in_console
from tests.e2e.test_crew_assignment import accept, buzzed, recording
from tests.e2e.test_phones import crew_page, hold, officer_page
from tests.support import CENTRE, north_of

WAIT = 20_000  # ms: the machine is shared


async def open_card(page: Page) -> None:
    await page.locator(".alert-card").first.click()
    await expect(page.locator("#incident-panel")).to_be_visible(timeout=WAIT)


async def test_the_console_and_the_crew_exchange_messages_and_the_officer_only_feels_a_code(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve()
    desk = await console_desk(browser, server)
    await sign_in_console(desk, await server.add_user(Role.SUPERVISOR))
    crew = await crew_page(browser, server, north_of(CENTRE, 300))
    officer = await recording(await officer_page(browser, server))
    await hold(officer.page)
    await accept(crew)
    console = desk.page
    await open_card(console)

    # A quick reply from the console reaches the crew's page.
    await console.click("#incident-panel [data-quick=stand_by]")
    await expect(crew.page.locator("#message-list")).to_contain_text("Stand by", timeout=WAIT)
    # The crew answers in its own words, and with a quick reply.
    await crew.page.fill("#message-text", "Two men by the gate, one in a red coat")
    await crew.page.click("#message-form button[type=submit]")
    await expect(crew.page.locator("#message-text")).to_have_value("")
    await crew.page.click("#quick-replies [data-quick=on_my_way]")
    messages = console.locator("#incident-messages")
    await expect(messages).to_contain_text("Two men by the gate, one in a red coat", timeout=WAIT)
    await expect(messages).to_contain_text("On my way", timeout=WAIT)
    await expect(crew.page.locator("#message-list li")).to_have_count(3, timeout=WAIT)
    await crew.shot("crew-messages")

    # Her phone: a vibration pattern for "help is close", and no words of any of it.
    await console.click("#incident-panel [data-signal=help_close]")
    await buzzed(officer.page, "[120,80,120,80,120]")
    body = officer.page.locator("body")
    for words in ("Stand by", "red coat", "On my way", "Help is close", "help_close"):
        await expect(body).not_to_contain_text(words)
    await desk.shot("console-incident-messages")
    await officer.shot("officer-signal")
    await desk.context.close()


async def test_a_crew_holds_crew_needs_help_and_the_nearest_other_crew_is_offered_it(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve()
    desk = await console_desk(browser, server)
    await sign_in_console(desk, await server.add_user(Role.SUPERVISOR))
    caller = await crew_page(browser, server, CENTRE)
    helper = await crew_page(browser, server, north_of(CENTRE, 250), mode=CrewMode.BIKE)
    officer = await officer_page(browser, server, north_of(CENTRE, 600))

    # A tap is not enough: the button is held.
    button = caller.page.locator("#help-hold")
    await expect(button).to_be_visible()
    await button.click()
    await expect(caller.page.locator("#help-status")).to_be_hidden()
    box = await button.bounding_box()
    assert box is not None
    await caller.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await caller.page.mouse.down()
    await expect(caller.page.locator("#help-status")).to_contain_text("HELP CALLED", timeout=WAIT)
    await caller.page.mouse.up()

    # The other crew is offered it, as a crew's call; the caller never is.
    await expect(helper.page.locator("#offer")).to_be_visible(timeout=WAIT)
    await expect(helper.page.locator("#offer-title")).to_have_text("CREW NEEDS HELP")
    await expect(caller.page.locator("#offer")).to_be_hidden()
    await helper.shot("crew-offer-crew-help")
    # Every console rings: urgent, nobody has taken it.
    await expect(desk.page.locator(".alert-card .pill.crew-help")).to_be_visible(timeout=WAIT)
    await expect(desk.page.locator("body")).to_have_class("alarming", timeout=WAIT)
    await desk.shot("console-board-crew-help")

    await helper.page.click("#offer-accept")
    await expect(helper.page.locator("#assignment")).to_be_visible(timeout=WAIT)
    await expect(helper.page.locator("#officer-line")).to_contain_text("Crew in need")
    await expect(caller.page.locator("#help-status")).to_contain_text(
        "1 crew on the way", timeout=WAIT
    )
    await caller.shot("crew-help-called")
    # The officer's page knows nothing of it.
    await expect(officer.page.locator("body")).not_to_contain_text("help", ignore_case=True)
    await desk.context.close()


async def test_an_alert_marked_as_an_exercise_says_so_on_every_screen(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve()
    desk = await console_desk(browser, server)
    await sign_in_console(desk, await server.add_user(Role.SUPERVISOR))
    officer = await officer_page(browser, server)
    await hold(officer.page)  # no crew on duty yet
    console = desk.page
    await open_card(console)
    await expect(officer.page.locator("#exercise")).to_be_hidden()

    await console.click("#incident-exercise")
    await console.fill("#reason-text", "Planned drill with the Castle team")
    await console.click("#reason-ok")
    await expect(console.locator(".alert-card .pill.exercise")).to_have_text(
        "EXERCISE", timeout=WAIT
    )
    await expect(console.locator("#detail-exercise")).to_be_visible()
    await expect(officer.page.locator("#exercise")).to_be_visible(timeout=WAIT)
    await expect(officer.page.locator("#exercise")).to_have_text("EXERCISE")

    crew = await crew_page(browser, server, north_of(CENTRE, 300))
    await expect(crew.page.locator("#offer-exercise")).to_be_visible(timeout=WAIT)
    await expect(crew.page.locator("#exercise-banner")).to_be_visible()
    await crew.shot("crew-offer-exercise")
    await accept(crew)
    await expect(crew.page.locator("#exercise-banner")).to_be_visible()
    await officer.shot("officer-exercise")
    await desk.shot("console-board-exercise")
    await desk.context.close()

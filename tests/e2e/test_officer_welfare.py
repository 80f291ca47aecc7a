"""Her welfare in the browser: the check-in her live deployment asks for appears when it
is due and clears the board's warning; her escort timer starts and stops, and when it
runs out while her phone is offline the page raises the alert (the timer's id, marked
escort) the moment it is back online; a Bluetooth remote's key, chosen in settings and
held for the hold time, raises the alert. Real server, Chromium, the server's clock moved
by the test (and the page's by Playwright where a timer must run out)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import Browser, expect

from dispatch.storage.models import Alert, EscortTimer
from tests.e2e.conftest import ServerFactory
from tests.e2e.console_steps import console_desk, sign_in_console
from tests.e2e.test_phones import add_officer, officer_page, phone, sign_in
from tests.ops_console.incident_support import live_operation
from tests.support import CENTRE, ManualClock, north_of, settings_for, start_server

HER = north_of(CENTRE, 250)
SETTINGS = {
    "dispatch.offer_timeout_s": 900,
    "dispatch.position_fresh_s": 86400,
    "scheduler.brief_lead_min": 60,
    "realtime.position_flush_s": 0.2,
    "welfare.sweep_s": 0.2,
    "welfare.heard_every_s": 1,
}


async def test_checkin_appears_when_due_and_clears_the_boards_warning(
    browser: Browser, sqlite_url: str
) -> None:
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    server = await start_server(settings_for(sqlite_url, **SETTINGS), clock)
    try:
        scene = await live_operation(server, clock, "Check-in walk")
        live_from = clock.now
        await scene.officer.position(*HER)  # her last known position
        desk = await console_desk(browser, server)
        await sign_in_console(desk, scene.supervisor.session["username"])
        board = desk.page

        # The supervisor sets check-ins every 20 minutes on the published operation.
        await board.goto(f"/console#planning/{scene.operation['id']}")
        await board.reload()
        await board.fill("#op-checkin-edit", "20")
        await board.click("#op-checkin-save")
        await expect(board.locator("#op-checkins")).to_have_text("every 20 min")

        # Her check-in is due and missed past the grace: a warning on the board.
        clock.set(live_from + timedelta(minutes=20, seconds=130))
        officer = await phone(browser, server, HER)
        await sign_in(officer, "/officer", scene.officer.session["username"])
        button = officer.page.locator("#checkin")
        await expect(button).to_be_visible()
        await officer.shot("officer-checkin-due")

        await board.click('[data-tab="board"]')
        card = board.locator('.warning-card[data-kind="checkin_missed"]')
        await expect(card).to_contain_text("CHECK-IN MISSED")
        await expect(card).to_contain_text("due ")
        await expect(card).to_contain_text("last position")
        await expect(board.locator("path.warning-dot")).to_have_count(1)
        await desk.shot("console-board-welfare-warning")

        # One tap: checked in; the warning clears and the button goes until the next due.
        await button.click()
        await expect(button).to_be_hidden()
        await expect(card).to_have_count(0)
        await officer.context.close()
        await desk.context.close()
    finally:
        await server.stop()


async def test_escort_timer_starts_stops_and_runs_out_offline(
    browser: Browser, sqlite_url: str
) -> None:
    # The server's clock stands still: only her phone can see this timer run out.
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    server = await start_server(settings_for(sqlite_url, **SETTINGS), clock)
    try:
        officer = await phone(browser, server, HER)
        page = officer.page
        await page.clock.install()
        await sign_in(officer, "/officer", await add_officer(server))

        await page.click('#escort-presets [data-minutes="10"]')
        await expect(page.locator("#escort-running")).to_be_visible()
        await expect(page.locator("#escort-left")).to_contain_text("10:00")
        await page.wait_for_function("JSON.parse(localStorage.getItem('officer.escort')).told")
        [timer] = await server.rows(EscortTimer)
        await officer.shot("officer-escort-running")
        await page.click("#escort-stop")
        await expect(page.locator("#escort-choose")).to_be_visible()
        await page.wait_for_function("localStorage.getItem('officer.escort') === null")
        assert await server.rows(EscortTimer) == []

        # "Walking to the car, 1 min": told to the server, then her phone loses signal.
        await page.fill("#escort-label", "car")
        await page.fill("#escort-minutes", "1")
        await page.click("#escort-form button[type=submit]")
        await page.wait_for_function("JSON.parse(localStorage.getItem('officer.escort')).told")
        [timer] = await server.rows(EscortTimer)
        await officer.context.set_offline(True)
        await expect(page.locator("#dot")).not_to_have_attribute("data-link", "online")
        await page.clock.fast_forward("01:05")
        await expect(page.locator("#status")).to_have_attribute("data-status", "sending")
        assert await server.rows(Alert) == []

        # Back online: the alert goes at once, with the timer's id, marked escort.
        await officer.context.set_offline(False)
        await expect(page.locator("#status")).to_have_attribute("data-status", "received")
        [alert] = await server.rows(Alert)
        assert (alert.id, alert.origin) == (timer.alert_id, "escort")
        await officer.context.close()
    finally:
        await server.stop()


async def test_a_remote_buttons_key_held_raises_the_alert(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve(**{"pages.hold_to_alert_s": 0.6})
    officer = await officer_page(browser, server, HER)
    page = officer.page

    # Settings: "press it now" captures the remote's key (a volume key here).
    await page.click("#settings-open")
    await page.click("#trigger-set")
    await expect(page.locator("#trigger-key")).to_have_text("press the button now")
    await page.keyboard.press("AudioVolumeUp")
    await expect(page.locator("#trigger-key")).to_have_text("AudioVolumeUp")
    await officer.shot("officer-settings-remote")
    await page.click("#settings-done")
    await expect(page.locator("#hold")).to_be_visible()

    # A short press sends nothing; another key sends nothing.
    await page.keyboard.down("AudioVolumeUp")
    await page.wait_for_timeout(100)
    await page.keyboard.up("AudioVolumeUp")
    await page.keyboard.down("Enter")
    await page.wait_for_timeout(900)
    await page.keyboard.up("Enter")
    await expect(page.locator("#status")).to_have_attribute("data-status", "idle")

    # Held for the hold time: the alert goes.
    await page.keyboard.down("AudioVolumeUp")
    await expect(page.locator("#status")).to_have_attribute("data-status", "received")
    await page.keyboard.up("AudioVolumeUp")
    [alert] = await server.rows(Alert)
    assert alert.origin == "officer"
    await officer.context.close()


async def test_an_alert_the_server_raised_for_her_is_followed_on_her_page(
    browser: Browser, sqlite_url: str
) -> None:
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    server = await start_server(settings_for(sqlite_url, **SETTINGS), clock)
    try:
        officer = await phone(browser, server, HER)
        page = officer.page
        await sign_in(officer, "/officer", await add_officer(server))
        await page.click('#escort-presets [data-minutes="20"]')
        await page.wait_for_function("JSON.parse(localStorage.getItem('officer.escort')).told")
        [timer] = await server.rows(EscortTimer)

        # The server's timer runs out first (its clock moved on; her phone's has not).
        clock.advance(timedelta(minutes=21))
        await expect(page.locator("#status")).to_have_attribute("data-status", "received")
        assert await page.evaluate("JSON.parse(localStorage.getItem('officer.alert')).id") == (
            timer.alert_id
        )
        await expect(page.locator("#details")).to_be_visible()  # she can cancel it
        await expect(page.locator("#escort-running")).to_be_hidden()  # the timer is over
        [alert] = await server.rows(Alert)
        assert (alert.id, alert.origin) == (timer.alert_id, "escort")
        await officer.context.close()
    finally:
        await server.stop()

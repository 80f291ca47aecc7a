"""An officer whose phone has never had a fix raises at once: her page sends the alert
without a position, with when she pressed and its clock's offset; the supervisors' board
shows it as "position unknown" with the press time and the times from it."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from dispatch.storage.models import Alert
from schemas.common import Role
from tests.e2e.conftest import PHONE, ServerFactory
from tests.e2e.console_steps import console_desk, sign_in_console
from tests.e2e.test_phones import Phone, add_officer, hold, sign_in


async def test_she_raises_with_no_fix_and_the_board_shows_when_she_pressed(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve()
    desk = await console_desk(browser, server)
    await sign_in_console(desk, await server.add_user(Role.SUPERVISOR))
    board = desk.page

    # A phone that never gets a fix: the page is not allowed to know where it is.
    context = await browser.new_context(
        base_url=server.base,
        viewport=PHONE,
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
        timezone_id="Europe/London",
    )
    officer = Phone(context, await context.new_page())
    page = officer.page
    await sign_in(officer, "/officer", await add_officer(server))
    # Her link has measured her phone's clock against the server's (on its sync).
    await page.wait_for_function("localStorage.getItem('link.clockOffsetMs') !== null")
    assert await page.evaluate("localStorage.getItem('officer.fix')") is None

    await hold(page)  # acknowledged: "Sent", with no fix at all

    [row] = await server.rows(Alert)
    assert row.position_source == "unknown"
    assert row.pressed_at is not None and row.pressed_at <= row.raised_at
    assert row.clock_offset_ms is not None and row.phone_pressed_at is not None

    card = board.locator(f'.alert-card[data-alert="{row.id}"]')
    await expect(card).to_contain_text("position unknown")
    await expect(card).to_have_attribute("data-state", "unassigned")
    await card.click()
    await expect(board.locator("#detail-where")).to_have_text(
        "position unknown: no fix from her phone yet"
    )
    pressed = board.locator("#detail-pressed")
    await expect(pressed).to_have_text(re.compile(r"^\d\d:\d\d:\d\d: received \+\d+ s$"))
    await desk.shot("console-board-no-fix")
    await context.close()
    await desk.context.close()

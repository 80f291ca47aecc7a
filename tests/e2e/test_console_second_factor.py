"""The console's second factor in Chromium: a supervisor's first sign-in enrols an
authenticator (QR code, key, recovery codes shown once); the next asks for a code; a
wrong code is refused with a sentence; after the code the board is live."""

from __future__ import annotations

import time

import pyotp
from playwright.async_api import Browser, expect

from schemas.common import Role
from tests.e2e.conftest import ServerFactory
from tests.e2e.console_steps import console_desk
from tests.support import PASSWORD


async def test_a_supervisor_enrols_then_signs_in_with_a_code(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve(**{"auth.supervisor_second_factor": True})
    boss = await server.add_user(Role.SUPERVISOR)
    desk = await console_desk(browser, server)
    page = desk.page

    await page.goto("/console")
    await page.fill("#username", boss)
    await page.fill("#password", PASSWORD)
    await page.click("#signin-form button[type=submit]")
    await expect(page.locator("#enrol-qr svg")).to_be_visible()
    secret = (await page.locator("#enrol-secret").text_content() or "").strip()
    totp = pyotp.TOTP(secret)
    await page.fill("#code", "12345")
    await page.click("#code-form button[type=submit]")
    await expect(page.locator("#code-error")).to_contain_text("Wrong code")
    await page.fill("#code", totp.now())
    await page.click("#code-form button[type=submit]")
    await expect(page.locator("#recovery-codes li")).to_have_count(10)
    await page.click("#recovery-done")
    await expect(page.locator("#link")).to_have_attribute("data-link", "synced")

    await page.click("#sign-out")
    await expect(page.locator("#signin")).to_be_visible()
    await page.fill("#username", boss)
    await page.fill("#password", PASSWORD)
    await page.click("#signin-form button[type=submit]")
    await expect(page.locator("#code-form")).to_be_visible()
    await expect(page.locator("#enrol")).to_be_hidden()
    await page.fill("#code", totp.at(time.time() + 30))  # a newer step than the one used
    await page.click("#code-form button[type=submit]")
    await expect(page.locator("#link")).to_have_attribute("data-link", "synced")
    await desk.context.close()

"""Steps the console's browser tests share: a desktop browser page and signing in."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests.e2e.conftest import screenshot_path
from tests.support import PASSWORD, RunningServer

DESKTOP: ViewportSize = {"width": 1400, "height": 900}


@dataclass
class Desk:
    context: BrowserContext
    page: Page

    async def shot(self, name: str) -> None:
        await self.page.screenshot(path=str(screenshot_path(name)))


async def console_desk(browser: Browser, server: RunningServer) -> Desk:
    context = await browser.new_context(
        base_url=server.base,
        viewport=DESKTOP,
        device_scale_factor=1,
        locale="en-GB",
        timezone_id="Europe/London",
    )
    return Desk(context, await context.new_page())


async def sign_in_console(desk: Desk, username: str, password: str = PASSWORD) -> None:
    """Open /console, sign in, and wait until the board's websocket is live."""
    page = desk.page
    await page.goto("/console")
    await expect(page.locator("#signin")).to_be_visible()
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#signin-form button[type=submit]")
    await expect(page.locator("#link")).to_have_attribute("data-link", "synced")


async def sign_in_auditor(desk: Desk, username: str, password: str = PASSWORD) -> None:
    """Open /console and sign in as an auditor: the Audit view shows its newest rows (an
    auditor has no board and no live link)."""
    page = desk.page
    await page.goto("/console")
    await expect(page.locator("#signin")).to_be_visible()
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#signin-form button[type=submit]")
    await expect(page.locator("#screen-audit")).to_be_visible()
    await expect(page.locator("#audit-rows")).to_have_attribute("data-page", "0")

"""The console's People screen in Chromium: add a crew and a member into it, reset a
password (the new one signs in), disable an officer (she can no longer sign in)."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, expect

from schemas.common import Role
from tests.e2e.conftest import ServerFactory
from tests.e2e.console_steps import console_desk, sign_in_console
from tests.support import PASSWORD


async def test_a_supervisor_manages_people(browser: Browser, serve: ServerFactory) -> None:
    server = await serve()
    boss = await server.add_user(Role.SUPERVISOR)
    officer = await server.add_user(Role.OFFICER)
    desk = await console_desk(browser, server)
    page = desk.page
    await sign_in_console(desk, boss)
    await page.click("#tabs button[data-tab=people]")
    users = page.locator("#people-users")
    await expect(users.locator(f"tr[data-user='{officer}']")).to_be_visible()

    # A crew, then a crew member in it with a generated password.
    await page.fill("#new-callsign", "Alpha 7")
    await page.select_option("#new-mode", "bike")
    await page.click("#add-crew-submit")
    crew_row = page.locator("#people-crews tr[data-crew='Alpha 7']")
    await expect(crew_row).to_contain_text("Bike")
    await page.fill("#new-callsign", "alpha 7")
    await page.click("#add-crew-submit")
    await expect(page.locator("#add-crew-problem")).to_contain_text("is taken")
    await page.fill("#new-callsign", "")
    await expect(page.locator("#add-crew-problem")).to_be_empty()

    await page.select_option("#new-role", "crew")
    await expect(page.locator("#new-pins")).to_be_hidden()
    await page.select_option("#new-crew", label="Alpha 7")
    await page.fill("#new-username", "kim.rider")
    await page.fill("#new-display", "Kim Rider")
    await page.click("#add-user-submit")
    first = await page.locator("#new-password-value").text_content()
    assert first and len(first) >= 12
    await page.click("#password-done")
    await expect(crew_row).to_contain_text("Kim Rider")
    member = users.locator("tr[data-user='kim.rider']")
    await expect(member.locator("select[data-action=crew]")).to_have_value(
        (await server.sign_in("kim.rider", first))["crew_id"]
    )

    # Reset her password: the dialog shows the new one once, and it signs in.
    await member.locator("button[data-action=reset]").click()
    await page.click("#confirm-ok")
    dialog = page.locator("#password-dialog")
    await expect(dialog).to_be_visible()
    new = (await page.locator("#new-password-value").text_content()) or ""
    assert len(new) >= 12 and new != first
    await page.click("#password-done")
    assert (await server.sign_in("kim.rider", new))["username"] == "kim.rider"

    # Disable the officer: her row says so, and she cannot sign in.
    row = users.locator(f"tr[data-user='{officer}']")
    await row.locator("button[data-action=disable]").click()
    await page.click("#confirm-ok")
    await expect(row).to_contain_text("disabled")
    await expect(row.locator("button[data-action=enable]")).to_be_visible()
    async with httpx.AsyncClient(base_url=server.base) as http:
        refused = await http.post("/api/session", json={"username": officer, "password": PASSWORD})
    assert refused.json()["code"] == "account_disabled"
    await desk.shot("console-people")
    await desk.context.close()

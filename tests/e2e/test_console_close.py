"""Closing an alert handled by radio from the board, in a real browser: an alert with no
crew (unassigned) closes with its outcome and reason in one dialog."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from dispatch.storage.models import Alert, AlertNote
from schemas.common import Role
from tests.e2e.conftest import ServerFactory
from tests.e2e.console_steps import console_desk, sign_in_console
from tests.support import CENTRE


async def test_an_unassigned_alert_closes_from_the_board_in_one_dialog(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve()
    supervisor = await server.add_user(Role.SUPERVISOR)
    officer = await server.officer()
    desk = await console_desk(browser, server)
    await sign_in_console(desk, supervisor)
    page = desk.page
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    card = page.locator(f'.alert-card[data-alert="{alert_id}"]')
    await expect(card).to_have_attribute("data-state", "unassigned")

    await card.click()
    await page.click("#close-alert")
    dialog = page.locator("#close-dialog")
    await expect(dialog).to_be_visible()
    await expect(page.locator("dialog[open]")).to_have_count(1)
    await expect(dialog).to_contain_text("No crew is on it.")

    # Without a reason nothing is sent: the dialog says why and stays open.
    await page.select_option("#close-outcome", "words_of_advice")
    await page.click("#close-ok")
    await expect(dialog.locator(".problem")).to_contain_text("A reason is needed")
    await expect(card).to_be_visible()

    await page.fill("#close-reason", "Handled by radio: Bravo 2 met her at the bus station")
    await desk.shot("console-close-dialog")
    await page.click("#close-ok")

    # One dialog: confirming it closes the alert, no second question follows.
    await expect(page.locator("dialog[open]")).to_have_count(0)
    await expect(card).to_have_count(0)
    await expect(page.locator("#toasts")).to_contain_text("Alert closed.")
    await officer.wait_for(lambda f: f["type"] == "alert" and f["alert"]["status"] == "resolved")
    row = next(a for a in await server.rows(Alert) if a.id == alert_id)
    assert (row.state, row.outcome) == ("resolved", "words_of_advice")
    notes = [(n.action, n.text) for n in await server.rows(AlertNote) if n.alert_id == alert_id]
    assert ("close", "Handled by radio: Bravo 2 met her at the bus station") in notes
    await desk.context.close()

"""Planning in a real browser: places added by typing or pasting their coordinates (not
only by clicking a blank grid), and a timeline whose labels are never cut off and whose
last day is all there."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import Browser, expect

from schemas.common import CrewMode, Role
from tests.e2e.conftest import ServerFactory
from tests.e2e.console_steps import Desk, console_desk, sign_in_console
from tests.e2e.planning_steps import create_operation_with_places

LABELS_WHOLE = """() => {
    const timeline = document.getElementById('plan-timeline').getBoundingClientRect();
    const blocks = [...document.querySelectorAll('#plan-timeline .tl-block')];
    return blocks.length > 0 && blocks.every((b) => {
        const label = b.querySelector('.tl-label').getBoundingClientRect();
        const clip = getComputedStyle(b).overflow === 'visible'
            ? timeline : b.getBoundingClientRect();
        return label.width > 0 && label.left >= clip.left - 1 && label.right <= clip.right + 1;
    });
}"""

LAST_DAY_WHOLE = """() => {
    const timeline = document.getElementById('plan-timeline');
    timeline.scrollTop = timeline.scrollHeight;
    const rows = timeline.querySelectorAll('.tl-row');
    const last = rows[rows.length - 1].getBoundingClientRect();
    const box = timeline.getBoundingClientRect();
    return last.height > 0 && last.bottom <= box.top + timeline.clientHeight + 1;
}"""


async def add_place_by_coordinates(desk: Desk, name: str, where: str) -> None:
    page = desk.page
    await page.click("#place-add")
    await expect(page.locator("#place-dialog")).to_be_visible()
    await page.fill("#place-where", where)
    await page.fill("#place-name", name)
    await page.click("#place-dialog-ok")
    await expect(page.locator("#place-dialog")).to_have_count(0)


async def test_places_by_coordinates_and_a_timeline_that_shows_every_label(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve()
    officers = [await server.add_user(Role.OFFICER) for _ in range(2)]
    crew = await server.add_crew(CrewMode.CAR)
    desk = await console_desk(browser, server)
    page = desk.page
    await sign_in_console(desk, await server.add_user(Role.SUPERVISOR))
    start = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    await create_operation_with_places(
        desk, "Typed places", [], officers, [crew], start=start, days=14, deployments=14
    )
    rows = page.locator("#places-table [data-testid=place-row]")

    # Nonsense is refused in the dialog; typed and pasted forms are taken.
    await page.click("#place-add")
    await page.fill("#place-where", "the market")
    await page.fill("#place-name", "Market")
    await page.click("#place-dialog-ok")
    await expect(page.locator("#place-dialog-problem")).to_contain_text("latitude and longitude")
    await page.fill("#place-where", "52.0565, -2.7160")
    await page.click("#place-dialog-ok")
    await expect(page.locator("#place-dialog")).to_have_count(0)
    await add_place_by_coordinates(desk, "Castle Green, by the bandstand", "52.0538 -2.7132")
    await add_place_by_coordinates(desk, "Widemarsh Street north end", "52.0601;-2.7189")
    await expect(rows).to_have_count(3)
    await expect(rows.locator(".place-name")).to_have_text(
        ["Castle Green, by the bandstand", "Market", "Widemarsh Street north end"]
    )

    await page.click("#plan-generate")
    await expect(page.locator("#plan-timeline [data-testid=deployment]").first).to_be_visible()
    await page.wait_for_function(LABELS_WHOLE)
    await page.wait_for_function(LAST_DAY_WHOLE)
    await desk.shot("console-planning-timeline")
    await desk.context.close()

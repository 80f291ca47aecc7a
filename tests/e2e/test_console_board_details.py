"""Smaller things on the live board, in a real browser: no red "offline" before anyone
signs in, a banner that agrees in number, position ages red only where a fresh fix
matters, map labels that do not overlap, and toasts that leave the map's legend clear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.async_api import Browser, Page, expect

from schemas.common import CrewMode, Role
from tests.e2e.conftest import ServerFactory
from tests.e2e.console_steps import console_desk, sign_in_console
from tests.support import CENTRE, north_of

# (A label being removed fades out: Leaflet keeps it a moment at opacity 0.)
LABELS_APART = """(names) => {
    const labels = [...document.querySelectorAll('#board-map .leaflet-tooltip.map-label')]
        .filter((l) => l.style.opacity !== '0');
    if (!names.every((n) => labels.some((l) => l.textContent.startsWith(n + ' ')))) return false;
    const boxes = labels.map((l) => l.getBoundingClientRect());
    return boxes.every((a, i) => boxes.every((b, j) => i === j
        || !(a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom)));
}"""


async def rects_overlap(page: Page, one: str, other: str) -> bool:
    result = await page.evaluate(
        """([one, other]) => {
            const a = document.querySelector(one).getBoundingClientRect();
            const b = document.querySelector(other).getBoundingClientRect();
            return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
        }""",
        [one, other],
    )
    return bool(result)


async def test_the_board_reads_right_and_keeps_its_labels_and_legend_clear(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve()
    desk = await console_desk(browser, server)
    page = desk.page

    # Before anyone has signed in there is no link to be offline.
    await page.goto("/console")
    await expect(page.locator("#signin")).to_be_visible()
    await expect(page.locator("#link")).to_be_hidden()
    await sign_in_console(desk, await server.add_user(Role.SUPERVISOR))
    await expect(page.locator("#link")).to_have_text("live")

    # Two crews side by side, and one off duty whose fix is old (no alarm: it is off).
    old = datetime.now(UTC) - timedelta(minutes=5)
    car = await server.crew(CrewMode.CAR, north_of(CENTRE, 400))
    bike = await server.crew(CrewMode.BIKE, north_of(CENTRE, 402))
    resting = await server.crew(CrewMode.FOOT, north_of(CENTRE, 900), on_duty=False, fix_at=old)
    stale = await server.crew(CrewMode.FOOT, north_of(CENTRE, 1200), fix_at=old)
    await page.reload()  # crews made after the sync come with a fresh snapshot
    await expect(page.locator("#link")).to_have_text("live")
    resting_age = page.locator(f'tr[data-crew="{resting.callsign}"] td.num')
    stale_age = page.locator(f'tr[data-crew="{stale.callsign}"] td.num')
    await expect(resting_age).to_contain_text("min")
    await expect(stale_age).to_contain_text("min")
    await expect(stale_age).to_have_class("num stale")
    await expect(resting_age).to_have_class("num")

    # An urgent alert offered to the car, and another with no crew free: the banner
    # counts each in its own number.
    officer = await server.officer()
    await officer.raise_alert(CENTRE, urgent=True)
    await car.offer()
    await bike.offer()
    other = await server.officer()
    await other.raise_alert(north_of(CENTRE, 60))
    await expect(page.locator("#banner")).to_contain_text(
        "1 unassigned alert and 1 urgent alert need a supervisor"
    )

    # Labels of crews standing together do not cover each other.
    await page.wait_for_function(LABELS_APART, arg=[car.callsign, bike.callsign])

    # An error toast, however long, leaves the map's legend in view.
    await page.evaluate(
        """() => import('/console/static/console.js').then((m) => m.toast(
            'Not connected: nothing was done. Try again when the link is live, or use the '
            + 'radio and note it on the alert afterwards.', 'error'))"""
    )
    await expect(page.locator(".toast.error")).to_be_visible()
    assert not await rects_overlap(page, ".toast.error", ".board .legend")
    await desk.shot("console-board-details")
    for client in (car, bike, resting, stale, officer, other):
        await client.close()
    await desk.context.close()

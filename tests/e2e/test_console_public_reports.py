"""In a real browser: the console's Public reports tab shows reports written into the
database as clusters on the map and in the heat table, opens one with its contact and
marks it spam; in Planning, "Derive from reports" shows the derived numbers beside the
typed ones, and accepting them changes the operation's places."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.async_api import Browser, expect

from schemas.common import Role
from tests.e2e.conftest import ServerFactory
from tests.e2e.console_steps import Desk, console_desk, sign_in_console
from tests.operations.support import Api, api_for, operation_body
from tests.public_reports.console_support import (
    CASTLE,
    MEADOW,
    Made,
    insert_reports,
    two_places,
)
from tests.support import RunningServer, north_of

LONDON = ZoneInfo("Europe/London")
FAR = north_of(CASTLE, 3000)
CONTACT = "call Sam on 07700 900456"


def last_monday_at(hour: int, minute: int = 30) -> datetime:
    """The latest Monday at least two days ago, at this London time (UTC, aware)."""
    day = datetime.now(LONDON) - timedelta(days=2)
    day -= timedelta(days=day.weekday())
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0).astimezone(UTC)


async def signed_in(browser: Browser, server: RunningServer) -> tuple[Desk, Api]:
    username = await server.add_user(Role.SUPERVISOR)
    desk = await console_desk(browser, server)
    await sign_in_console(desk, username)
    return desk, await api_for(server, username)


async def an_operation(server: RunningServer, api: Api) -> dict[str, Any]:
    officer = (await server.sign_in(await server.add_user(Role.OFFICER)))["user_id"]
    body = operation_body(
        "Castle and Meadow",
        (datetime.now(UTC) + timedelta(days=3)).replace(minute=0, second=0, microsecond=0),
        days=7,
        officers=[officer],
        crews=[],
        count=4,
        crews_per_deployment=0,
        places=two_places(),
    )
    op: dict[str, Any] = await api.call("POST", "/api/operations", 201, json=body)
    return op


async def test_reports_show_as_clusters_and_in_the_heat_table(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve()
    monday = last_monday_at(18)  # hour of the week 18 on the London clock
    made = [Made(CASTLE, monday + timedelta(minutes=i)) for i in range(5)]
    made += [Made(MEADOW, monday + timedelta(days=2, hours=3), "following") for _ in range(2)]
    made.append(Made(FAR, monday + timedelta(days=1), "vehicle", contact=CONTACT))
    await insert_reports(server.settings.database.url, made)
    desk, api = await signed_in(browser, server)
    page = desk.page
    try:
        await an_operation(server, api)
        await page.click("#tabs button[data-tab=public-reports]")
        mapped = page.locator("#pr-map")
        # Five at the castle and two at the meadow are clusters; the far one a dot.
        await expect(mapped).to_have_attribute("data-clusters", "2")
        await expect(mapped).to_have_attribute("data-singles", "1")
        await expect(page.locator(".pr-cluster", has_text="5")).to_be_visible()
        await expect(page.locator(".pr-cluster", has_text="2")).to_be_visible()
        await expect(page.locator("#pr-count")).to_have_text("8 reports")

        # No operation: squares of 500 m, the busiest first.
        rows = page.locator("#pr-heat-table tbody tr")
        await expect(rows).to_have_count(3)
        castle_row = rows.nth(0)
        await expect(castle_row.locator("td.pr-total")).to_have_text("5")
        await expect(castle_row.locator("td[data-hour='18']")).to_have_attribute("data-count", "5")
        await expect(castle_row.locator("td.hot")).to_have_count(1)

        # The operation's places instead: the far report is in neither.
        await page.select_option("#pr-operation", label="Castle and Meadow (draft)")
        await expect(rows).to_have_count(2)
        await expect(page.locator("#pr-heat-note")).to_contain_text("every place it is within")
        meadow = page.locator("#pr-heat-table tbody tr", has_text="Bishop's Meadow")
        # Wednesday 21:30 London: 2 x 24 + 21 = 69.
        await expect(meadow.locator("td[data-hour='69']")).to_have_attribute("data-count", "2")
        await desk.shot("console-public-reports")

        # The far one's detail, with its contact; marked spam, it leaves the map.
        await page.locator("path.pr-report").click()
        await expect(page.locator("#pr-contact")).to_have_text(CONTACT)
        await expect(page.locator("#pr-detail-title")).to_have_text("vehicle")
        await desk.shot("console-public-reports-detail")
        await page.click("#pr-mark-spam")
        await expect(page.locator("#pr-detail .pill.pr-spam")).to_be_visible()
        await expect(mapped).to_have_attribute("data-singles", "0")
        await expect(page.locator("#pr-count")).to_have_text("7 reports")

        # A cluster at one spot lists its reports; a duplicate of itself is refused.
        await page.locator(".pr-cluster", has_text="5").click()
        await expect(page.locator("ul.pr-spot li")).to_have_count(5)
        await page.locator("ul.pr-spot li button").first.click()
        own_id = (await page.locator("#pr-id").inner_text()).strip()
        await page.fill("#pr-duplicate-of", own_id)
        await page.click("#pr-mark-duplicate")
        await expect(page.locator("#pr-mark-problem")).to_have_text(
            "duplicate_of: a report cannot be a duplicate of itself."
        )
    finally:
        await api.close()
        await desk.context.close()


async def test_deriving_risk_in_planning_shows_both_and_accepting_changes_the_places(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve()
    monday = last_monday_at(18)
    made = [Made(CASTLE, monday - timedelta(days=7 * i)) for i in range(4)]
    made.append(Made(MEADOW, monday + timedelta(hours=3)))
    await insert_reports(server.settings.database.url, made)
    desk, api = await signed_in(browser, server)
    page = desk.page
    try:
        op = await an_operation(server, api)
        await page.click("#tabs button[data-tab=planning]")
        await page.click(f"tr[data-op-id='{op['id']}']")
        await expect(page.locator("#op-title")).to_have_text("Castle and Meadow")
        await page.click("#op-derive")
        dialog = page.locator("#derive-dialog")
        await expect(dialog.locator("#derive-summary")).to_contain_text("5 reports")
        castle = dialog.locator("tr[data-testid=derive-row]", has_text="Castle Green")
        meadow = dialog.locator("tr[data-testid=derive-row]", has_text="Bishop's Meadow")
        # What the server derived, beside the typed numbers (1 and flat).
        since = (datetime.now(LONDON) - timedelta(days=364)).date()
        until = datetime.now(LONDON).date() + timedelta(days=1)
        expected = await api.call(
            "GET",
            "/api/console/public-reports/risk",
            params={
                "operation": op["id"],
                "since": datetime(since.year, since.month, since.day, tzinfo=LONDON).isoformat(),
                "until": datetime(until.year, until.month, until.day, tzinfo=LONDON).isoformat(),
            },
        )
        derived = {p["name"]: p for p in expected["places"]}
        castle_risk = derived["Castle Green"]["risk"]
        assert castle_risk > derived["Bishop's Meadow"]["risk"]
        await expect(castle.locator(".derive-typed-risk")).to_have_text("1")
        await expect(castle.locator(".derive-risk")).to_have_text(str(castle_risk))
        await expect(castle.locator(".derive-reports")).to_have_text("4")
        await expect(meadow.locator(".derive-reports")).to_have_text("1")
        await expect(castle.locator(".hour-bars")).to_have_attribute(
            "data-hourly", " ".join(_js_number(w) for w in derived["Castle Green"]["hourly"])
        )
        await desk.shot("console-planning-derive")

        # Keep Bishop's Meadow's typed numbers; accept Castle Green's.
        await meadow.locator(".derive-take").uncheck()
        await page.click("#derive-dialog-ok")
        await expect(dialog).to_have_count(0)
        row = page.locator("tr[data-testid=place-row]", has_text="Castle Green")
        await expect(row.locator("td.num").first).to_have_text(str(castle_risk))
        await expect(row).to_contain_text("by hour")
        await expect(page.locator("#op-edit-note")).to_contain_text("generate the plan again")
        now = await api.call("GET", f"/api/operations/{op['id']}")
        places = {p["name"]: p for p in now["places"]}
        assert places["Castle Green"]["risk"] == castle_risk
        assert places["Castle Green"]["hourly"] == derived["Castle Green"]["hourly"]
        assert (places["Bishop's Meadow"]["risk"], places["Bishop's Meadow"]["hourly"]) == (1, None)
    finally:
        await api.close()
        await desk.context.close()


def _js_number(value: float) -> str:
    """A number as JavaScript's String() writes it (1.0 -> '1')."""
    return str(int(value)) if float(value).is_integer() else repr(value)

"""In a real browser: a report of a date range without an operation. An alert raised
outside every operation, and closed by a supervisor on the radio, is in the range's
report and its CSV; one raised before the range is not, until the range takes it in."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.async_api import Browser, expect

from schemas.common import CrewMode
from tests.e2e.console_steps import console_desk, sign_in_console
from tests.operations.support import api_for, operation_body
from tests.support import CENTRE, ManualClock, north_of, settings_for, start_server

DAY = datetime(2030, 3, 1, tzinfo=UTC)  # London is on GMT: its days are UTC days
OPERATION = "Quay nights"


async def test_a_report_of_a_date_range_without_an_operation(
    browser: Browser, sqlite_url: str
) -> None:
    clock = ManualClock(DAY - timedelta(days=9) + timedelta(hours=21))  # 20 Feb, 21:00
    settings = settings_for(sqlite_url, **{"realtime.position_flush_s": 0.2})
    server = await start_server(settings, clock)
    desk = None
    try:
        # 20 February: an alert nobody answers, outside any operation.
        before = (await (await server.officer()).raise_alert(CENTRE))["result"]["alert_id"]

        # 1 March: an operation is planned (not live), and an officer on no deployment
        # raises an alert that a supervisor closes on the radio's word.
        clock.set(DAY + timedelta(hours=22, minutes=15))
        officer = await server.officer()
        crew = await server.crew(CrewMode.CAR, north_of(CENTRE, 400), on_duty=False)
        boss = await server.supervisor()
        api = await api_for(server, boss.session["username"])
        body = operation_body(
            OPERATION,
            DAY + timedelta(days=10),
            days=1,
            officers=[officer.session["user_id"]],
            crews=[crew.session["crew_id"]],
            count=1,
        )
        await api.call("POST", "/api/operations", 201, json=body)
        await api.close()
        alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
        closed = await boss.request(
            "alert.close",
            alert_id=alert_id,
            outcome="words_of_advice",
            reason="Radioed: spoken to, moved on",
        )
        assert closed["type"] == "ack", closed

        desk = await console_desk(browser, server)
        page = desk.page
        await sign_in_console(desk, boss.session["username"])
        await page.click("#tabs button[data-tab=reports]")
        # The latest operation comes first; none of these alerts is in it.
        await expect(page.locator("#report-title")).to_contain_text(OPERATION)
        await expect(page.locator("#report-alerts")).to_have_text("0")

        # No operation: every alert raised in the dates chosen, on the browser's days.
        await page.select_option("#report-operation", value="")
        await page.fill("#report-from", "2030-03-01")
        await page.fill("#report-to", "2030-03-01")
        await expect(page.locator("#report-range")).to_contain_text("1 Mar 2030")
        await expect(page.locator("#report-title")).to_contain_text("All alerts")
        await expect(page.locator("#report-alerts")).to_have_text("1")
        rows = page.locator("#report-rows tbody tr")
        await expect(rows).to_have_count(1)
        assert await rows.first.get_attribute("data-alert-id") == alert_id
        await expect(rows.first).to_contain_text("outside operations")
        await expect(rows.first).to_contain_text("words of advice")
        await expect(page.locator("#report-outcomes")).to_contain_text("words of advice")
        await desk.shot("console-report-range")

        async with page.expect_download() as info:
            await page.click("#report-csv")
        saved = Path(await (await info.value).path())
        text = await asyncio.to_thread(saved.read_text, encoding="utf-8")
        table = list(csv.DictReader(io.StringIO(text)))
        assert [(r["alert_id"], r["operation"], r["outcome"]) for r in table] == [
            (alert_id, "", "words_of_advice")
        ]

        # A wider range takes in the alert of 20 February too.
        await page.fill("#report-from", "2030-02-20")
        await expect(page.locator("#report-range")).to_contain_text("20 Feb 2030 - 1 Mar 2030")
        await expect(page.locator("#report-alerts")).to_have_text("2")
        await expect(page.locator(f"#report-rows tr[data-alert-id='{before}']")).to_be_visible()

        # A range that ends before it begins is not sent: the page says why.
        await page.fill("#report-to", "2030-02-19")
        await expect(page.locator("#report-problem")).to_contain_text("before the 'from' date")
        await expect(page.locator("#report-csv")).to_be_disabled()
    finally:
        if desk is not None:
            await desk.context.close()
        await server.stop()

"""Steps on the console's Incidents and Reports screens, for browser tests."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Locator, expect

from tests.e2e.console_steps import Desk


async def search_incidents(desk: Desk, text: str) -> Locator:
    """Open the Incidents tab and search the log; returns the rows shown."""
    page = desk.page
    await page.click("#tabs button[data-tab=incidents]")
    await expect(page.locator("#screen-incidents")).to_be_visible()
    await page.fill("#incident-q", text)
    # Wait for the answer to this very search, not an earlier one.
    await expect(page.locator("#incident-log")).to_have_attribute("data-query", text.strip())
    return page.locator("#incident-rows tr")


async def open_timeline(desk: Desk, search_text: str) -> Locator:
    """Search the log, open the first alert found; returns the timeline's entries."""
    page = desk.page
    rows = await search_incidents(desk, search_text)
    await expect(rows.first).to_be_visible()
    alert_id = await rows.first.get_attribute("data-alert-id")
    await rows.first.click()
    panel = page.locator("#incident-timeline")
    await expect(panel).to_be_visible()
    await expect(panel.locator("h2 code")).to_have_attribute("title", alert_id or "")
    return panel.locator("#timeline-entries li")


async def open_report(desk: Desk, operation_name: str) -> Locator:
    """Open the Reports tab on the named operation; returns the report's body."""
    page = desk.page
    await page.click("#tabs button[data-tab=reports]")
    select = page.locator("#report-operation")
    await expect(select.locator("option", has_text=operation_name)).to_have_count(1)
    value = await select.locator("option", has_text=operation_name).get_attribute("value")
    await select.select_option(value=value or "")
    await expect(page.locator("#report-title")).to_contain_text(operation_name)
    return page.locator("#report-body")


async def chart_facts(desk: Desk) -> dict[str, Any]:
    """For each chart: whether Chart.js drew it, its size on screen, and its total."""
    facts: dict[str, Any] = await desk.page.evaluate(
        """() => Object.fromEntries(["chart-hour", "chart-place"].map((id) => {
            const canvas = document.getElementById(id);
            const chart = canvas && Chart.getChart(canvas);
            return [id, {
              drawn: Boolean(chart),
              width: canvas ? canvas.clientWidth : 0,
              height: canvas ? canvas.clientHeight : 0,
              labels: chart ? chart.data.labels : [],
              total: chart ? chart.data.datasets[0].data.reduce((a, b) => a + b, 0) : 0,
            }];
        }))"""
    )
    return facts

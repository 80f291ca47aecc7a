"""In a real browser: a supervisor searches the incident log, reads an alert's timeline,
and opens the operation's report with its figures, both charts and the CSV export."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.async_api import Browser, expect

from tests.e2e.console_steps import console_desk, sign_in_console
from tests.e2e.report_steps import chart_facts, open_report, open_timeline, search_incidents
from tests.ops_console.incident_support import (
    INCIDENT_SETTINGS,
    accepted_and_resolved,
    declined_then_assigned_by_hand,
    live_operation,
)
from tests.support import ManualClock, settings_for, start_server

OPERATION = "Castle Green evenings"


async def test_incident_timeline_and_operation_report(browser: Browser, sqlite_url: str) -> None:
    clock = ManualClock(datetime.now(UTC).replace(second=0, microsecond=0))
    settings = settings_for(sqlite_url, **INCIDENT_SETTINGS, **{"realtime.position_flush_s": 0.2})
    server = await start_server(settings, clock)
    desk = scene = None
    try:
        scene = await live_operation(server, clock, OPERATION)
        clock.advance(timedelta(minutes=7))
        first = await accepted_and_resolved(
            scene,
            note="man in grey hoodie following her",
            accept_after_s=40,
            on_scene_after_s=240,
            outcome="arrest",
        )
        clock.advance(timedelta(minutes=12))
        second = await declined_then_assigned_by_hand(scene)
        callsign = scene.crew.callsign

        desk = await console_desk(browser, server)
        page = desk.page
        await sign_in_console(desk, scene.supervisor.session["username"])

        # The log: both alerts, newest first; a search narrows it.
        rows = await search_incidents(desk, "")
        await expect(rows).to_have_count(2)
        assert await rows.nth(0).get_attribute("data-alert-id") == second
        rows = await search_incidents(desk, "GREY hoodie")
        await expect(rows).to_have_count(1)
        await expect(rows.first).to_contain_text(callsign)

        # Its timeline: offered, accepted, on scene, the outcome.
        entries = await open_timeline(desk, "grey hoodie")
        await expect(entries.first).to_contain_text("man in grey hoodie")
        for kind, text in (
            ("offered", f"Offered to {callsign}"),
            ("accepted", f"{callsign} accepted"),
            ("on_scene", f"{callsign} on scene"),
            ("resolved", "Resolved: arrest"),
        ):
            await expect(page.locator(f"#timeline-entries li[data-kind={kind}]")).to_contain_text(
                text
            )
        assert (await entries.first.get_attribute("data-kind")) == "raised"
        await expect(page.locator("#incident-timeline .facts")).to_contain_text("40 s")

        # The escalated one, for the picture: declined, escalated, assigned by hand, closed.
        await search_incidents(desk, "")
        await page.click(f"#incident-rows tr[data-alert-id='{second}']")
        await expect(page.locator("#timeline-entries li[data-kind=assigned]")).to_contain_text(
            "reached by radio"
        )
        await expect(page.locator("#timeline-entries li[data-kind=unassigned]")).to_be_visible()
        await desk.shot("console-incidents")

        # The report: two alerts; 40 s and 60 s to accept, 240 s and 300 s to on scene.
        body = await open_report(desk, OPERATION)
        await expect(page.locator("#report-alerts")).to_have_text("2")
        await expect(page.locator("#report-accept-median")).to_have_text("50 s")
        await expect(page.locator("#report-accept-p90")).to_have_text("60 s")
        await expect(page.locator("#report-scene-median")).to_have_text("4.5 min")
        await expect(page.locator("#report-scene-p90")).to_have_text("5.0 min")
        await expect(page.locator("#report-outcomes")).to_contain_text("arrest")
        await expect(page.locator("#report-outcomes")).to_contain_text("offender not found")
        await expect(body.locator("#report-rows tbody tr")).to_have_count(2)
        charts = await chart_facts(desk)
        for name, chart in charts.items():
            assert chart["drawn"] and chart["width"] > 100 and chart["height"] > 100, name
            assert chart["total"] == 2, (name, chart)
        assert len(charts["chart-hour"]["labels"]) == 24
        assert scene.deployment["place_name"] in charts["chart-place"]["labels"]
        await desk.shot("console-report")

        async with page.expect_download() as info:
            await page.click("#report-csv")
        saved = Path(await (await info.value).path())
        text = await asyncio.to_thread(saved.read_text, encoding="utf-8")
        table = list(csv.DictReader(io.StringIO(text)))
        assert [(r["alert_id"], r["accept_s"]) for r in table] == [
            (first, "40.0"),
            (second, "60.0"),
        ]

        # A row of the report opens that alert's timeline.
        await page.click(f"#report-rows tr[data-alert-id='{first}']")
        await expect(page.locator("#incident-timeline h2 code")).to_have_attribute("title", first)
    finally:
        if desk is not None:
            await desk.context.close()
        if scene is not None:
            await scene.api.close()
        await server.stop()

"""Steps on the console's Planning screen that browser tests share.

A supervisor is signed in on `desk` (see console_steps). Officers are named by username
and crews by callsign, as the builders return them; places are clicked on the map at
their lat/lon, which must lie in the map's first view (about 1.5 km around Hereford's
centre, `tests.support.CENTRE`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.async_api import expect

from tests.e2e.console_steps import Desk

ZONE = "Europe/London"


@dataclass(frozen=True)
class PlaceSpec:
    """A place to click on the map: where, its name and its risk weight."""

    name: str
    lat: float
    lon: float
    risk: float = 1.0
    radius_m: float = 150.0


def local_input(when: datetime) -> str:
    """An aware datetime as a datetime-local value in the operation's zone."""
    return when.astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%dT%H:%M")


async def open_planning(desk: Desk) -> None:
    await desk.page.click("#tabs button[data-tab=planning]")
    await expect(desk.page.locator("#op-new")).to_be_visible()


async def create_operation_with_places(
    desk: Desk,
    name: str,
    places: list[PlaceSpec],
    officers: list[str],
    crews: list[str],
    *,
    start: datetime,
    days: float = 7,
    deployments: int = 8,
) -> str:
    """Create a draft on the Planning screen (window from `start` for `days`, the given
    officers' usernames and crews' callsigns as its team), then add each place by
    clicking the map. Returns the operation's id."""
    page = desk.page
    await open_planning(desk)
    await page.click("#op-new")
    await page.fill("#op-name", name)
    await page.fill("#op-area", "Hereford town centre")
    await page.fill("#op-start", local_input(start))
    await page.fill("#op-end", local_input(start + timedelta(days=days)))
    await page.fill("#op-count", str(deployments))
    for username in officers:
        await page.check(f"input[name=officer][data-key='{username}']")
    for callsign in crews:
        await page.check(f"input[name=crew][data-key='{callsign}']")
    await page.click("#op-create")
    await expect(page.locator("#op-title")).to_have_text(name)
    await expect(page.locator("#op-state")).to_have_text("draft")
    for place in places:
        await add_place_on_map(desk, place)
    match = re.search(r"#planning/([^/]+)$", page.url)
    assert match, page.url
    return match.group(1)


async def add_place_on_map(desk: Desk, place: PlaceSpec) -> None:
    """Click the map at the place and fill in the dialog."""
    page = desk.page
    rows = page.locator("#places-table [data-testid=place-row]")
    before = await rows.count()
    point = await page.locator("#plan-map").evaluate(
        "(node, at) => { const p = node.planningMap.latLngToContainerPoint(at); "
        "return {x: p.x, y: p.y}; }",
        [place.lat, place.lon],
    )
    await page.locator("#plan-map").click(position=point)
    await expect(page.locator("#place-dialog")).to_be_visible()
    await page.fill("#place-name", place.name)
    await page.fill("#place-risk", str(place.risk))
    await page.fill("#place-radius", str(place.radius_m))
    await page.click("#place-dialog-ok")
    await expect(page.locator("#place-dialog")).to_have_count(0)
    await expect(rows).to_have_count(before + 1)


async def import_places(desk: Desk, path: Path) -> None:
    """Import a .csv or .geojson file of places through the file input."""
    page = desk.page
    rows = page.locator("#places-table [data-testid=place-row]")
    before = await rows.count()
    await page.set_input_files("#places-file", str(path))
    await expect(rows).not_to_have_count(before)


async def generate_plan(desk: Desk) -> int:
    """Generate (or regenerate) the plan; returns how many deployments the timeline shows."""
    page = desk.page
    await page.click("#plan-generate")
    await expect(page.locator("#plan-figures tr[data-figure]")).to_have_count(5)  # M1-M5
    blocks = page.locator("#plan-timeline [data-testid=deployment]")
    await expect(blocks.first).to_be_visible()
    return len(set(await blocks.evaluate_all("bs => bs.map(b => b.dataset.deploymentId)")))


async def pin_deployment(desk: Desk, index: int = 0) -> str:
    """Select the index-th deployment on the timeline and pin it; returns its id."""
    page = desk.page
    block = page.locator("#plan-timeline [data-testid=deployment]").nth(index)
    deployment_id = await block.get_attribute("data-deployment-id")
    assert deployment_id
    await block.click()
    await expect(page.locator("#dep-pin")).to_have_text("Pin")
    await page.click("#dep-pin")
    await expect(page.locator("#dep-pinned")).to_be_visible()
    pinned = page.locator(f"#plan-timeline [data-deployment-id='{deployment_id}']").first
    await expect(pinned).to_have_attribute("data-pinned", "true")
    return deployment_id


async def publish_plan(desk: Desk) -> None:
    """Publish, confirming in the dialog, and wait until the operation shows published."""
    page = desk.page
    await page.click("#plan-publish")
    await expect(page.locator("#confirm")).to_be_visible()
    await page.click("#confirm-ok")
    await expect(page.locator("#op-state")).to_have_text("published")


async def generate_and_publish(desk: Desk) -> int:
    """Generate a plan, pin its first deployment and publish it; returns the number of
    deployments shown."""
    count = await generate_plan(desk)
    await pin_deployment(desk, 0)
    await publish_plan(desk)
    return count

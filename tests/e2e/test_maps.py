"""Street maps and names for places in a real Chromium: the force's own tiles (a small
archive the test makes) on the board, the planning map and the crew's assignment map, with
no request leaving 127.0.0.1; the board names the place nearest an alert; the planning
view finds a place by name, centres the map on it and fills the place form."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import Browser, BrowserContext, Page, expect

from dispatch.maps import gazetteer
from dispatch.maps.naming import NamedPoint
from dispatch.maps.tiles import import_archive
from schemas.common import CrewMode, Role
from tests.e2e.conftest import ServerFactory
from tests.e2e.console_steps import console_desk, sign_in_console
from tests.e2e.planning_steps import open_planning
from tests.e2e.test_crew_assignment import accept
from tests.e2e.test_phones import phone, sign_in
from tests.maps.support import around, make_mbtiles
from tests.operations.support import api_for, operation_body
from tests.support import CENTRE, RunningServer, north_of

GREEN = (52.0530, -2.7120)
TILE_COLOUR = (245, 222, 179)  # not the grid's grey


def watch(context: BrowserContext) -> list[str]:
    """Every URL the pages of this context ask for, kept as they go."""
    seen: list[str] = []
    context.on("request", lambda request: seen.append(request.url))
    return seen


def gone_out(seen: list[str]) -> list[str]:
    """Requests to anywhere but this machine's loopback server."""
    return [
        url
        for url in seen
        if urlsplit(url).scheme in ("http", "https", "ws", "wss")
        and urlsplit(url).hostname != "127.0.0.1"
    ]


async def tiles_shown(page: Page, map_node: str) -> None:
    """The map in `map_node` shows tile images loaded from this server's /tiles/."""
    tiles = page.locator(f"{map_node} .own-tiles img.leaflet-tile-loaded")
    await expect(tiles.first).to_be_visible()
    loaded = await tiles.evaluate_all(
        "(imgs) => imgs.filter((i) => i.complete && i.naturalWidth === 256"
        " && new URL(i.src).pathname.startsWith('/tiles/')).length"
    )
    assert loaded >= 1
    # Faded in (Leaflet's animation): what a screenshot shows is the tiles, not the grid.
    await page.wait_for_function(
        "(node) => [...document.querySelectorAll(node + ' .own-tiles img.leaflet-tile-loaded')]"
        ".some((i) => getComputedStyle(i).opacity === '1')",
        arg=map_node,
    )


async def with_tiles(serve: ServerFactory, tmp_path: Path) -> RunningServer:
    server = await serve(**{"maps.dir": str(tmp_path / "maps")})
    area = around(*CENTRE, range(12, 17), TILE_COLOUR)
    import_archive(make_mbtiles(tmp_path / "area.mbtiles", area), tmp_path / "maps")
    return server


async def new_operation(server: RunningServer, supervisor: str, name: str) -> str:
    officer = (await server.sign_in(await server.add_user(Role.OFFICER)))["user_id"]
    callsign = await server.add_crew(CrewMode.CAR)
    crew = (await server.sign_in(await server.add_user(Role.CREW, crew=callsign)))["crew_id"]
    api = await api_for(server, supervisor)
    try:
        start = datetime(2027, 3, 1, tzinfo=UTC)
        body = operation_body(name, start, days=7, officers=[officer], crews=[crew], count=3)
        body["places"] = []
        op = await api.call("POST", "/api/operations", 201, json=body)
    finally:
        await api.close()
    return str(op["id"])


async def test_the_board_and_planning_maps_show_the_forces_tiles_and_nothing_leaves(
    browser: Browser, serve: ServerFactory, tmp_path: Path
) -> None:
    server = await with_tiles(serve, tmp_path)
    supervisor = await server.add_user(Role.SUPERVISOR)
    op_id = await new_operation(server, supervisor, "Tiles")
    desk = await console_desk(browser, server)
    seen = watch(desk.context)
    await sign_in_console(desk, supervisor)
    page = desk.page
    await tiles_shown(page, "#board-map")
    await expect(page.locator("#board-map .leaflet-control-attribution")).to_contain_text(
        "© OpenStreetMap contributors"
    )

    await open_planning(desk)
    await page.click(f"[data-testid=op-row][data-op-id='{op_id}']")
    await tiles_shown(page, "#plan-map")
    await desk.shot("console-planning-tiles")
    assert any(urlsplit(url).path.startswith("/tiles/") for url in seen)
    assert gone_out(seen) == []
    await desk.context.close()


async def test_the_crews_assignment_map_shows_the_forces_tiles_and_nothing_leaves(
    browser: Browser, serve: ServerFactory, tmp_path: Path
) -> None:
    server = await with_tiles(serve, tmp_path)
    crew = await phone(browser, server, north_of(CENTRE, 300))
    seen = watch(crew.context)
    callsign = await server.add_crew(CrewMode.CAR)
    await sign_in(crew, "/crew", await server.add_user(Role.CREW, crew=callsign))
    await crew.page.click("#duty-toggle")
    await expect(crew.page.locator("#crew-state")).to_have_text("On duty")
    await expect(crew.page.locator("#fix-accuracy")).to_have_text("\u00b16 m")
    officer = await server.officer()
    await officer.raise_alert(CENTRE)
    await accept(crew)
    await tiles_shown(crew.page, "#map")
    await crew.shot("crew-assignment-tiles")
    assert gone_out(seen) == []
    await officer.close()
    await crew.context.close()


async def test_without_tiles_the_maps_draw_the_grid(browser: Browser, serve: ServerFactory) -> None:
    server = await serve()
    supervisor = await server.add_user(Role.SUPERVISOR)
    desk = await console_desk(browser, server)
    seen = watch(desk.context)
    await sign_in_console(desk, supervisor)
    page = desk.page
    await expect(page.locator("#board-map canvas.leaflet-tile").first).to_be_visible()
    await expect(page.locator("#board-map .own-tiles")).to_have_count(0)
    assert not any(urlsplit(url).path.startswith("/tiles/") for url in seen)
    await desk.context.close()


async def test_the_board_names_the_place_nearest_each_alert(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve()
    await gazetteer.replace_all(server.services.db, [NamedPoint("Castle Green", *GREEN)])
    supervisor = await server.add_user(Role.SUPERVISOR)
    desk = await console_desk(browser, server)
    await sign_in_console(desk, supervisor)
    page = desk.page
    officer = await server.officer()
    alert_id = (await officer.raise_alert(north_of(GREEN, 120)))["result"]["alert_id"]
    card = page.locator(f'.alert-card[data-alert="{alert_id}"]')
    await expect(card.locator("[data-testid=near]")).to_have_text("near Castle Green, 120 m N")
    await desk.shot("console-board-near")
    # She moves on: the line follows her.
    await officer.position(*north_of(GREEN, -400))
    await expect(card.locator("[data-testid=near]")).to_have_text("near Castle Green, 400 m S")
    # Out of every known place's reach: no line.
    await officer.position(*north_of(GREEN, 5000))
    await expect(card.locator("[data-testid=near]")).to_have_count(0)
    await officer.close()
    await desk.context.close()


async def test_planning_finds_a_place_by_name_centres_the_map_and_fills_the_form(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve()
    await gazetteer.replace_all(
        server.services.db,
        [NamedPoint("Castle Green", *GREEN), NamedPoint("Greenland Road", 52.0700, -2.7000)],
    )
    supervisor = await server.add_user(Role.SUPERVISOR)
    op_id = await new_operation(server, supervisor, "Search")
    desk = await console_desk(browser, server)
    await sign_in_console(desk, supervisor)
    page = desk.page
    await open_planning(desk)
    await page.click(f"[data-testid=op-row][data-op-id='{op_id}']")
    await expect(page.locator("#place-search")).to_be_visible()

    await page.fill("#place-search", "castle gr")
    hits = page.locator("#place-hits [data-testid=place-hit]")
    await expect(hits).to_have_count(1)
    await expect(hits.first).to_contain_text("Castle Green")
    await hits.first.click()
    await expect(page.locator("#place-dialog")).to_be_visible()
    await expect(page.locator("#place-name")).to_have_value("Castle Green")
    await expect(page.locator("#place-where")).to_have_value("52.053000, -2.712000")
    centre = await page.locator("#plan-map").evaluate(
        "(node) => { const c = node.planningMap.getCenter(); return [c.lat, c.lng]; }"
    )
    assert abs(centre[0] - GREEN[0]) < 1e-4 and abs(centre[1] - GREEN[1]) < 1e-4
    await page.click("#place-dialog-ok")
    await expect(page.locator("#places-table [data-testid=place-row]")).to_have_count(1)
    await expect(page.locator("#places-table")).to_contain_text("Castle Green")

    await page.fill("#place-search", "nowhere at all")
    await page.press("#place-search", "Enter")
    await expect(page.locator("#place-hits")).to_contain_text('No place called "nowhere at all".')
    await desk.context.close()

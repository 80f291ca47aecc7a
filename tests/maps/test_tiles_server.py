"""Tiles over HTTP from a real server: for signed-in users only (cookie or bearer), the
right image type and long cache headers, 404 where there is no tile, MBTiles and PMTiles;
the pages' settings say whether there are tiles, and a new import needs no restart."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from dispatch.maps.tiles import import_archive
from schemas.common import CrewMode, Role
from tests.maps.support import make_mbtiles, make_pmtiles, png
from tests.support import PASSWORD, RunningServer, settings_for, start_server

RED, BLUE = png((200, 0, 0)), png((0, 0, 200))
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60  # the server goes by the first bytes
TILES = {(2, 1, 0): RED, (2, 1, 3): BLUE, (3, 4, 2): JPEG}


@pytest.fixture
async def server(sqlite_url: str, tmp_path: Path) -> AsyncIterator[RunningServer]:
    running = await start_server(settings_for(sqlite_url, **{"maps.dir": str(tmp_path / "maps")}))
    try:
        yield running
    finally:
        await running.stop()


def maps_dir(server: RunningServer) -> Path:
    return Path(server.settings.maps.dir)


async def bearer(server: RunningServer, role: Role = Role.OFFICER) -> dict[str, str]:
    session = await server.sign_in(await server.add_user(role))
    return {"Authorization": f"Bearer {session['token']}"}


def page_config(html: str) -> dict[str, object]:
    found = re.search(r'<script id="config" type="application/json">(.*?)</script>', html, re.S)
    assert found, html[:200]
    config: dict[str, object] = json.loads(found.group(1))
    return config


@pytest.mark.parametrize("build", [make_mbtiles, make_pmtiles])
async def test_a_signed_in_user_gets_tiles_with_their_type_and_a_long_cache(
    server: RunningServer, tmp_path: Path, build: object
) -> None:
    import_archive(build(tmp_path / "area.file", TILES), maps_dir(server))  # type: ignore[operator]
    headers = await bearer(server)
    async with httpx.AsyncClient(base_url=server.base, headers=headers) as http:
        north = await http.get("/tiles/2/1/0")
        assert north.status_code == 200
        assert north.content == RED  # XYZ: y=0 is the north, whatever the archive's rows
        assert north.headers["content-type"] == "image/png"
        assert north.headers["cache-control"] == "private, max-age=2592000, immutable"
        assert (await http.get("/tiles/2/1/3")).content == BLUE
        jpeg = await http.get("/tiles/3/4/2?v=anything")
        assert (jpeg.status_code, jpeg.headers["content-type"]) == (200, "image/jpeg")
        for missing in ("/tiles/2/2/2", "/tiles/12/0/0", "/tiles/2/9/0", "/tiles/40/0/0"):
            gone = await http.get(missing)
            assert gone.status_code == 404, missing
            assert gone.json()["code"] == "not_found"


async def test_nobody_gets_a_tile_without_signing_in(server: RunningServer, tmp_path: Path) -> None:
    import_archive(make_mbtiles(tmp_path / "area.mbtiles", TILES), maps_dir(server))
    async with httpx.AsyncClient(base_url=server.base) as http:
        refused = await http.get("/tiles/2/1/0")
        assert refused.status_code == 401
        assert refused.json()["code"] == "auth_missing"
        assert refused.content != RED
        wrong = await http.get("/tiles/2/1/0", headers={"Authorization": "Bearer nonsense"})
        assert wrong.status_code == 401
        # The session cookie of a signed-in page is enough (the maps' <img> send it).
        username = await server.add_user(Role.CREW, crew=await server.add_crew(CrewMode.CAR))
        signed = await http.post("/api/session", json={"username": username, "password": PASSWORD})
        assert signed.status_code == 200
        assert (await http.get("/tiles/2/1/0")).content == RED


async def test_the_pages_say_whether_there_are_tiles_and_see_a_new_import_at_once(
    server: RunningServer, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(base_url=server.base, headers=await bearer(server)) as http:
        for page in ("/crew", "/console"):
            assert page_config((await http.get(page)).text)["tiles"] is None
        assert (await http.get("/tiles/2/1/0")).status_code == 404  # no archive: the grid

        import_archive(make_mbtiles(tmp_path / "a.mbtiles", TILES), maps_dir(server))
        first = page_config((await http.get("/crew")).text)["tiles"]
        assert isinstance(first, dict)
        assert first["max_zoom"] == 3 and first["min_zoom"] == 2
        assert first["attribution"] == "© OpenStreetMap contributors"
        assert str(first["url"]).startswith("/tiles/{z}/{x}/{y}?v=")
        assert page_config((await http.get("/console")).text)["tiles"] == first

        import_archive(make_pmtiles(tmp_path / "b.pmtiles", {(2, 1, 0): BLUE}), maps_dir(server))
        second = page_config((await http.get("/console")).text)["tiles"]
        assert isinstance(second, dict) and second["url"] != first["url"]
        assert second["max_zoom"] == 2
        assert (await http.get(str(second["url"]).format(z=2, x=1, y=0))).content == BLUE

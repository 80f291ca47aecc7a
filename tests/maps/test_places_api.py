"""Names for places over a real server: the gazetteer imported with the command, the
operations' places, the nearest known place to a position for the board and places found
by name for planning: supervisors only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from dispatch.cli import main
from dispatch.storage.models import GazetteerPlace
from schemas.common import CrewMode, Role
from tests.operations.support import operation_body
from tests.support import RunningServer, north_of, settings_for, start_server

GREEN = (52.0530, -2.7120)
STATION = (52.0610, -2.7080)
NAMES = f"name,lat,lon\nCastle Green,{GREEN[0]},{GREEN[1]}\nGreenland Road,52.0700,-2.7000\n"
NEAR = "/api/console/places/near"
SEARCH = "/api/console/places/search"


@pytest.fixture
async def server(db_url: str, tmp_path: Path) -> AsyncIterator[RunningServer]:
    """On SQLite and on PostgreSQL (tests/conftest.py)."""
    running = await start_server(settings_for(db_url, **{"maps.dir": str(tmp_path / "maps")}))
    try:
        yield running
    finally:
        await running.stop()


async def dispatch_command(server: RunningServer, tmp_path: Path, *args: str) -> int:
    """`dispatch --config FILE ...` on the server's database, as a user runs it."""
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{server.settings.database.url}"\n')
    return await asyncio.to_thread(main, ["--config", str(config), *args])


async def client(server: RunningServer, role: Role) -> httpx.AsyncClient:
    session = await server.sign_in(await server.add_user(role))
    headers = {"Authorization": f"Bearer {session['token']}"}
    return httpx.AsyncClient(base_url=server.base, headers=headers)


async def add_operation_place(server: RunningServer, http: httpx.AsyncClient) -> None:
    officer = (await server.sign_in(await server.add_user(Role.OFFICER)))["user_id"]
    callsign = await server.add_crew(CrewMode.CAR)
    crew = (await server.sign_in(await server.add_user(Role.CREW, crew=callsign)))["crew_id"]
    start = datetime(2027, 3, 1, tzinfo=UTC)
    body = operation_body("Names", start, days=7, officers=[officer], crews=[crew], count=3)
    body["places"] = [
        {"name": "Bus Station", "lat": STATION[0], "lon": STATION[1], "radius_m": 150, "risk": 1}
    ]
    created = await http.post("/api/operations", json=body)
    assert created.status_code == 201, created.text


async def near(http: httpx.AsyncClient, at: tuple[float, float]) -> Any:
    answer = await http.get(NEAR, params={"lat": at[0], "lon": at[1]})
    assert answer.status_code == 200, answer.text
    return answer.json()["near"]


async def test_the_board_gets_the_nearest_known_place_within_the_radius(
    server: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = tmp_path / "names.csv"
    names.write_text(NAMES)
    assert await dispatch_command(server, tmp_path, "gazetteer", "import", str(names)) == 0
    assert "Imported 2 named places from names.csv (replacing 0)." in capsys.readouterr().out
    http = await client(server, Role.SUPERVISOR)
    try:
        found = await near(http, north_of(GREEN, 120))
        assert found["text"] == "near Castle Green, 120 m N"
        assert (found["name"], found["direction"], found["source"]) == (
            "Castle Green",
            "N",
            "gazetteer",
        )
        assert found["distance_m"] == pytest.approx(120, abs=1)
        assert await near(http, north_of(GREEN, -2500)) is None  # beyond maps.near_radius_m

        # An operation's place is a known place too, and nearer here than the gazetteer's.
        await add_operation_place(server, http)
        found = await near(http, north_of(STATION, -40))
        assert found["text"] == "near Bus Station, 40 m S"
        assert found["source"] == "operation"

        bad = await http.get(NEAR, params={"lat": 95, "lon": 0})
        assert bad.status_code == 422 and bad.json()["code"] == "invalid"
    finally:
        await http.aclose()


async def test_planning_finds_places_by_name_exact_and_starting_first(
    server: RunningServer, tmp_path: Path
) -> None:
    names = tmp_path / "names.geojson"
    names.write_text(
        '{"type": "FeatureCollection", "features": ['
        '{"type": "Feature", "geometry": {"type": "Point", "coordinates": [-2.7120, 52.0530]},'
        ' "properties": {"name": "Castle Green"}},'
        '{"type": "Feature", "geometry": {"type": "Point", "coordinates": [-2.70, 52.07]},'
        ' "properties": {"name": "Greenland Road"}},'
        '{"type": "Feature", "geometry": {"type": "Point", "coordinates": [-2.69, 52.05]},'
        ' "properties": {"name": "100% Green_ish"}}]}'
    )
    assert await dispatch_command(server, tmp_path, "gazetteer", "import", str(names)) == 0
    http = await client(server, Role.SUPERVISOR)
    try:
        await add_operation_place(server, http)
        found = (await http.get(SEARCH, params={"q": "green"})).json()["places"]
        assert [p["name"] for p in found] == ["Greenland Road", "100% Green_ish", "Castle Green"]
        assert found[2] == {
            "name": "Castle Green",
            "lat": 52.053,
            "lon": -2.712,
            "source": "gazetteer",
        }
        # Wildcards are only letters here.
        assert [
            p["name"] for p in (await http.get(SEARCH, params={"q": "0% g"})).json()["places"]
        ] == ["100% Green_ish"]
        assert (await http.get(SEARCH, params={"q": "_"})).json()["places"][0]["name"] == (
            "100% Green_ish"
        )
        station = (await http.get(SEARCH, params={"q": "bus station"})).json()["places"]
        assert station == [
            {"name": "Bus Station", "lat": STATION[0], "lon": STATION[1], "source": "operation"}
        ]
        assert (await http.get(SEARCH, params={"q": "nowhere"})).json()["places"] == []
    finally:
        await http.aclose()


async def test_only_supervisors_may_ask(server: RunningServer) -> None:
    callsign = await server.add_crew(CrewMode.FOOT)
    officer = await server.add_user(Role.OFFICER)
    for username in (officer, await server.add_user(Role.CREW, crew=callsign)):
        session = await server.sign_in(username)
        headers = {"Authorization": f"Bearer {session['token']}"}
        async with httpx.AsyncClient(base_url=server.base, headers=headers) as http:
            for path, params in ((NEAR, {"lat": 52.05, "lon": -2.71}), (SEARCH, {"q": "green"})):
                refused = await http.get(path, params=params)
                assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    async with httpx.AsyncClient(base_url=server.base) as nobody:
        refused = await nobody.get(NEAR, params={"lat": 52.05, "lon": -2.71})
        assert refused.status_code == 401


async def test_a_bad_gazetteer_file_is_refused_and_changes_nothing(
    server: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(NAMES)
    bad.write_text("name,lat,lon\nA,52.0,-2.7\nB,north,-2.7\n")
    assert await dispatch_command(server, tmp_path, "gazetteer", "import", str(good)) == 0
    capsys.readouterr()
    assert await dispatch_command(server, tmp_path, "gazetteer", "import", str(bad)) == 2
    err = capsys.readouterr().err
    assert "line 3: lat and lon must be numbers. (bad_gazetteer)" in err
    rows = await server.rows(GazetteerPlace)
    assert sorted(r.name for r in rows) == ["Castle Green", "Greenland Road"]
    # A new file replaces the whole gazetteer.
    good.write_text("name,lat,lon\nBartonsham,52.05,-2.70\n")
    assert await dispatch_command(server, tmp_path, "gazetteer", "import", str(good)) == 0
    assert "(replacing 2)" in capsys.readouterr().out
    assert [r.name for r in await server.rows(GazetteerPlace)] == ["Bartonsham"]

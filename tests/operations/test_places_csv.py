"""Places as CSV: the format read in pure code, then import and export against a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from dispatch.plan_files import PlaceFileError, places_from_csv
from dispatch.storage.models import Place
from schemas.common import CrewMode, Role
from tests.operations.support import Api, api_for, operation_body
from tests.support import RunningServer, settings_for, start_server

START = datetime(2027, 3, 1, 0, 0, tzinfo=UTC)
EVENING = "0 0 0 0 0 0 0 1 1 1 1 1 1 1 1 1 1 2 3 3 3 2 1 0"

GOOD = f"""\ufeffName, Lat ,lon,radius_m,risk,route,hourly
Castle Green,52.0535,-2.7135,200,3,,
Bishop's Meadow,52.0510,-2.7160,,1.5,,{EVENING}

"Riverside, the path",,,,2,52.0500 -2.7200; 52.0520 -2.7180 ;52.0540 -2.7170,
"""


# -- the format, in pure code ------------------------------------------------------------------


def test_points_routes_and_hourly_weights_are_read() -> None:
    castle, meadow, river = places_from_csv(GOOD)
    assert (castle.name, castle.lat, castle.lon, castle.radius_m, castle.risk) == (
        "Castle Green",
        52.0535,
        -2.7135,
        200.0,
        3.0,
    )
    assert castle.hourly is None and castle.route is None
    assert meadow.radius_m == 150.0  # the default radius of a point
    assert meadow.hourly is not None and meadow.hourly[19] == 3.0 and len(meadow.hourly) == 24
    assert river.name == "Riverside, the path" and river.lat is None
    assert river.route == [(52.05, -2.72), (52.052, -2.718), (52.054, -2.717)]


def test_hourly_weights_may_be_24_columns() -> None:
    header = "name,lat,lon," + ",".join(f"h{i}" for i in range(24))
    weights = ",".join(str(i % 3) for i in range(24))
    [place] = places_from_csv(f"{header}\nPark,52.05,-2.71,{weights}\n")
    assert place.hourly == [float(i % 3) for i in range(24)]
    assert place.risk == 1.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,lat,lon,risk\nA,52,-2,1\nB,52,-2,high\n", "line 3, risk: not a number ('high')"),
        ("name,lat,lon\nA,52,-2\nB,95,-2\n", "line 3, lat: Input should be less than or equal"),
        ("name,lat,lon\n,52,-2\n", "line 2, name: empty"),
        ("name,lat,lon,colour\nA,52,-2,red\n", "line 1: unknown column 'colour'"),
        ("name,lat\nA,52\n", "line 1: give both 'lat' and 'lon' columns"),
        ("lat,lon\n52,-2\n", "line 1: the header has no 'name' column"),
        ("name,lat,lon,route\nA,52,-2,52 -2; 52.1 -2\n", "line 2, place: give either lat"),
        ("name,route\nA,52 -2; 52.1\n", "line 2, route: point 2 is not 'lat lon'"),
        ("name,lat,lon,hourly\nA,52,-2,1 2 3\n", "line 2, hourly: 3 numbers; expected 24"),
        (f"name,lat,lon,hourly\nA,52,-2,{' '.join('0' * 24)}\n", "line 2, place: hourly"),
        ("name,lat,lon,h0,h1\nA,52,-2,1,1\n", "line 1: hourly columns need all of h0..h23"),
        ("name,lat,lon\nA,52,-2,9\n", "line 2: 4 cells but the header names 3"),
        ("name,lat,lon,risk\nA,52,-2,nan\n", "line 2, risk: not a number"),
        ("name,lat,lon,risk\nA,52,-2,0\n", "line 2, risk: Input should be greater than 0"),
        ("name,lat,lon\n", "the file has a header but no places"),
        ("", "line 1: the file is empty"),
    ],
)
def test_a_bad_file_names_the_line_and_the_column(text: str, message: str) -> None:
    with pytest.raises(PlaceFileError) as caught:
        places_from_csv(text)
    assert str(caught.value).startswith(message), str(caught.value)


def test_several_bad_lines_are_reported_together() -> None:
    text = "name,lat,lon,risk\nA,x,-2,1\nB,52,-2,1\nC,52,-2,y\n"
    with pytest.raises(PlaceFileError) as caught:
        places_from_csv(text)
    assert str(caught.value) == "line 2, lat: not a number ('x'); line 4, risk: not a number ('y')"


# -- import and export against a real server ---------------------------------------------------


@pytest.fixture
async def server(sqlite_url: str) -> AsyncIterator[RunningServer]:
    running = await start_server(settings_for(sqlite_url))
    try:
        yield running
    finally:
        await running.stop()


async def draft(server: RunningServer, name: str) -> tuple[Api, dict[str, object]]:
    officer = (await server.sign_in(await server.add_user(Role.OFFICER)))["user_id"]
    callsign = await server.add_crew(CrewMode.CAR)
    crew = (await server.sign_in(await server.add_user(Role.CREW, crew=callsign)))["crew_id"]
    api = await api_for(server, await server.add_user(Role.SUPERVISOR))
    body = operation_body(name, START, days=7, officers=[officer], crews=[crew], count=3)
    body["places"] = []
    return api, await api.call("POST", "/api/operations", 201, json=body)


async def test_a_supervisor_imports_and_exports_places_as_csv(server: RunningServer) -> None:
    api, op = await draft(server, "Town CSV")
    path = f"/api/operations/{op['id']}/places.csv"
    after = await api.call(
        "POST", path, content=GOOD.encode(), headers={"content-type": "text/csv"}
    )
    assert [p["name"] for p in after["places"]] == [
        "Bishop's Meadow",
        "Castle Green",
        "Riverside, the path",
    ]
    stored = [p for p in await server.rows(Place) if p.operation_id == op["id"]]
    assert len(stored) == 3

    # The export reads back in as the same places, and a plan can be drawn from them.
    exported = await api.call("GET", path)
    assert exported.splitlines()[0] == "name,lat,lon,radius_m,risk,route,hourly"
    other, second = await draft(server, "Town CSV again")
    await other.close()
    again = await api.call("POST", f"/api/operations/{second['id']}/places.csv", content=exported)

    def strip(places: list[dict[str, object]]) -> list[tuple[object, ...]]:
        keys = ("name", "lat", "lon", "radius_m", "route", "risk", "hourly")
        return [tuple(p[k] for k in keys) for p in places]

    assert strip(again["places"]) == strip(after["places"])
    plan = await api.call("POST", f"/api/operations/{op['id']}/generate")
    assert len(plan["deployments"]) == 3
    await api.close()


async def test_a_bad_csv_is_refused_and_changes_nothing(server: RunningServer) -> None:
    api, op = await draft(server, "Refusals")
    path = f"/api/operations/{op['id']}/places.csv"
    bad = "name,lat,lon,risk\nA,52.05,-2.71,1\nB,52.05,-2.71,1\nC,52.05,-2.71,lots\n"
    refused = await api.call("POST", path, 422, content=bad)
    assert refused == {
        "code": "invalid",
        "message": "Nothing was imported: line 4, risk: not a number ('lots').",
    }
    latin = "name,lat,lon\nCaf\xe9,52.05,-2.71\n".encode("latin-1")
    refused = await api.call("POST", path, 422, content=latin)
    assert "not UTF-8" in refused["message"]
    huge = b"name,lat,lon\n" + b"A,52.05,-2.71\n" * 150_000
    refused = await api.call("POST", path, 422, content=huge)
    assert refused["message"] == "The file is larger than 2 MB."
    assert (await api.call("GET", f"/api/operations/{op['id']}"))["places"] == []
    assert [p for p in await server.rows(Place) if p.operation_id == op["id"]] == []

    # A published operation takes no more places; an officer may not import at all.
    await api.call("POST", path, content="name,lat,lon\nA,52.05,-2.71\n")
    await api.call("POST", f"/api/operations/{op['id']}/generate")
    await api.call("POST", f"/api/operations/{op['id']}/publish")
    refused = await api.call("POST", path, 409, content="name,lat,lon\nB,52.05,-2.71\n")
    assert refused["code"] == "illegal_transition"
    officer = await api_for(server, await server.add_user(Role.OFFICER))
    await officer.call("POST", path, 403, content="name,lat,lon\nB,52.05,-2.71\n")
    await officer.call("GET", path, 403)
    assert len([p for p in await server.rows(Place) if p.operation_id == op["id"]]) == 1
    await api.close()
    await officer.close()


async def test_the_planning_defaults_come_from_the_config(sqlite_url: str) -> None:
    running = await start_server(
        settings_for(sqlite_url, **{"planning.rest_h": 9, "planning.timezone": "Europe/Paris"})
    )
    try:
        api = await api_for(running, await running.add_user(Role.SUPERVISOR))
        defaults = await api.call("GET", "/api/operations/defaults")
        assert defaults == {
            "timezone": "Europe/Paris",
            "place_gap_h": 48.0,
            "rest_h": 9.0,
            "per_officer_per_day": 1,
            "min_duration_min": 45,
            "max_duration_min": 120,
        }
        await api.close()
    finally:
        await running.stop()

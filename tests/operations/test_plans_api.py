"""Operations over REST against a real server: plan, change, publish, export, refuse."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import icalendar
import pytest

from dispatch.planning import check_rules
from dispatch.planning.model import Deployment as Planned
from dispatch.storage.models import Crew, Operation, Place, User
from dispatch.usecases.operation_rows import problem_of
from schemas.common import CrewMode, Role
from tests.operations.support import Api, api_for, operation_body
from tests.support import RunningServer, settings_for, start_server

START = datetime(2027, 3, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
async def server(sqlite_url: str) -> AsyncIterator[RunningServer]:
    running = await start_server(settings_for(sqlite_url))
    try:
        yield running
    finally:
        await running.stop()


async def team(server: RunningServer, officers: int, crews: int) -> tuple[list[str], list[str]]:
    officer_ids = []
    for _ in range(officers):
        officer_ids.append((await server.sign_in(await server.add_user(Role.OFFICER)))["user_id"])
    crew_ids = []
    for _ in range(crews):
        callsign = await server.add_crew(CrewMode.CAR)
        member = await server.add_user(Role.CREW, crew=callsign)
        crew_ids.append((await server.sign_in(member))["crew_id"])
    return officer_ids, crew_ids


async def supervisor_api(server: RunningServer) -> Api:
    return await api_for(server, await server.add_user(Role.SUPERVISOR))


def as_planned(plan: dict[str, Any]) -> list[Planned]:
    return [
        Planned(
            place_id=d["place_id"],
            start=datetime.fromisoformat(d["starts_at"]),
            end=datetime.fromisoformat(d["ends_at"]),
            officers=tuple(d["officer_ids"]),
            crews=tuple(d["crew_ids"]),
            pinned=d["pinned"],
        )
        for d in plan["deployments"]
        if d["state"] != "cancelled"
    ]


async def rules_broken(server: RunningServer, plan: dict[str, Any]) -> list[Any]:
    op = next(o for o in await server.rows(Operation) if o.id == plan["operation"]["id"])
    places = [p for p in await server.rows(Place) if p.operation_id == op.id]
    return check_rules(problem_of(op, places, tolerance=0.05), as_planned(plan))


async def test_a_supervisor_plans_an_operation_and_exports_it(server: RunningServer) -> None:
    officers, crews = await team(server, 4, 3)
    api = await supervisor_api(server)
    body = operation_body(
        "Castle Green",
        START,
        days=14,
        officers=officers,
        crews=crews,
        count=12,
        allowed_hours=list(range(7, 23)),
    )
    op = await api.call("POST", "/api/operations", 201, json=body)
    assert op["state"] == "draft" and len(op["places"]) == 5 and op["figures"] is None
    assert op["rules"] == {
        "place_gap_h": 48.0,
        "rest_h": 11.0,
        "per_officer_per_day": 1,
        "place_gap_min_h": None,
    }

    plan = await api.call("POST", f"/api/operations/{op['id']}/generate")
    deployments = plan["deployments"]
    assert len(deployments) == 12
    assert {d["state"] for d in deployments} == {"planned"}
    assert all(len(d["officer_ids"]) == 1 and len(d["crew_ids"]) == 1 for d in deployments)
    assert await rules_broken(server, plan) == []
    figures = plan["operation"]["figures"]
    assert figures is not None and 0 < figures["m2_entropy_ratio"] <= 1.0
    # Each member's share is shown with the figures: 12 over 4 officers and 3 crews.
    assert figures["officer_shares"] == dict.fromkeys(officers, 3)
    assert figures["crew_shares"] == dict.fromkeys(crews, 4)
    assert 0 <= figures["m5_recent_place"] and "m5_safe" in figures["details"]
    for d in deployments:
        start = datetime.fromisoformat(d["starts_at"])
        assert start.utcoffset() == timedelta(0)  # UTC on the wire
        assert START <= start and datetime.fromisoformat(d["ends_at"]) <= START + timedelta(14)

    by_name = await api.call("GET", "/api/operations/Castle Green/plan")
    assert by_name == plan

    calendar = icalendar.Calendar.from_ical(
        await api.call("GET", f"/api/operations/{op['id']}/plan.ics")
    )
    events = [c for c in calendar.walk("VEVENT")]
    assert len(events) == 12
    assert {str(e["uid"]) for e in events} == {f"{d['id']}@dispatch" for d in deployments}
    geo = await api.call("GET", f"/api/operations/{op['id']}/places.geojson")
    assert geo["type"] == "FeatureCollection"
    kinds = sorted(f["geometry"]["type"] for f in geo["features"])
    assert kinds == ["LineString", "Point", "Point", "Point", "Point"]
    rows = list(
        csv.DictReader(io.StringIO(await api.call("GET", f"/api/operations/{op['id']}/plan.csv")))
    )
    assert len(rows) == 12 and rows[0]["state"] == "planned"
    # People are named in the exports, not numbered: display names and callsigns.
    names = {u.id: u.display_name for u in await server.rows(User)}
    names.update({c.id: c.callsign for c in await server.rows(Crew)})
    first = next(d for d in deployments if d["id"] == rows[0]["id"])
    assert rows[0]["officers"] == "; ".join(names[i] for i in first["officer_ids"])
    assert rows[0]["crews"] == "; ".join(names[i] for i in first["crew_ids"])
    event = next(e for e in events if str(e["uid"]) == f"{first['id']}@dispatch")
    assert names[first["officer_ids"][0]] in str(event["description"])

    # The exported places come back in as the same places.
    second = await api.call(
        "POST",
        "/api/operations",
        201,
        json={**body, "name": "Castle Green again", "places": []},
    )
    again = await api.call(
        "POST", f"/api/operations/{second['id']}/places.geojson", content=json.dumps(geo)
    )
    strip = lambda ps: sorted((p["name"], p["lat"], p["lon"], p["route"], p["risk"]) for p in ps)  # noqa: E731
    assert strip(again["places"]) == strip(op["places"])
    await api.close()


async def test_pin_move_delete_and_regenerate(server: RunningServer) -> None:
    officers, crews = await team(server, 4, 2)
    api = await supervisor_api(server)
    op = await api.call(
        "POST",
        "/api/operations",
        201,
        json=operation_body("Riverside", START, days=10, officers=officers, crews=crews, count=8),
    )
    plan = await api.call("POST", f"/api/operations/{op['id']}/generate")
    first, second = plan["deployments"][0], plan["deployments"][1]

    pinned = await api.call(
        "PATCH", f"/api/operations/{op['id']}/deployments/{first['id']}", json={"pinned": True}
    )
    assert pinned["warnings"] == []
    # Moving onto the first deployment's place and time breaks the place-gap rule.
    refused = await api.http.patch(
        f"/api/operations/{op['id']}/deployments/{second['id']}",
        json={"place_id": first["place_id"], "starts_at": first["starts_at"]},
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "rule_broken" and refused.json()["message"]
    unchanged = await api.call("GET", f"/api/operations/{op['id']}/plan")
    assert unchanged["deployments"][1] == {**second}

    # Regenerating keeps the pinned deployment exactly and draws the rest again.
    again = await api.call("POST", f"/api/operations/{op['id']}/generate")
    kept = [d for d in again["deployments"] if d["pinned"]]
    assert [(k["id"], k["starts_at"], k["place_id"]) for k in kept] == [
        (first["id"], first["starts_at"], first["place_id"])
    ]
    assert len(again["deployments"]) == 8
    assert await rules_broken(server, again) == []

    # Deleting a planned deployment removes it and recomputes the figures.
    victim = next(d for d in again["deployments"] if not d["pinned"])
    after = await api.call("DELETE", f"/api/operations/{op['id']}/deployments/{victim['id']}")
    assert victim["id"] not in {d["id"] for d in after["plan"]["deployments"]}
    assert len(after["plan"]["deployments"]) == 7
    assert isinstance(after["warnings"], list)
    await api.close()


async def test_a_change_that_makes_the_plan_predictable_is_warned(server: RunningServer) -> None:
    officers, crews = await team(server, 6, 2)
    api = await supervisor_api(server)
    op = await api.call(
        "POST",
        "/api/operations",
        201,
        json=operation_body(
            "Market",
            START,
            days=28,
            officers=officers,
            crews=crews,
            count=16,
            rules={"place_gap_h": 0, "rest_h": 0, "per_officer_per_day": 6},
        ),
    )
    plan = await api.call("POST", f"/api/operations/{op['id']}/generate")
    # Move every deployment onto one place at 19:00 on its day: a fixed rota.
    warnings: list[str] = []
    target = plan["operation"]["places"][0]["id"]
    for d in plan["deployments"]:
        day = datetime.fromisoformat(d["starts_at"]).date()
        at = datetime(day.year, day.month, day.day, 19, tzinfo=UTC)
        change = await api.http.patch(
            f"/api/operations/{op['id']}/deployments/{d['id']}",
            json={"place_id": target, "starts_at": at.isoformat()},
        )
        if change.status_code == 200:
            warnings += change.json()["warnings"]
    final = await api.call("GET", f"/api/operations/{op['id']}/plan")
    assert (
        final["operation"]["figures"]["m2_entropy_ratio"]
        < plan["operation"]["figures"]["m2_entropy_ratio"]
    )
    assert any("M2" in w or "entropy" in w.lower() for w in warnings), warnings
    await api.close()


async def test_plans_are_for_supervisors_only(server: RunningServer) -> None:
    officers, crews = await team(server, 2, 1)
    api = await supervisor_api(server)
    op = await api.call(
        "POST",
        "/api/operations",
        201,
        json=operation_body("Secret", START, days=7, officers=officers, crews=crews, count=3),
    )
    officer = await api_for(server, await server.add_user(Role.OFFICER))
    callsign = await server.add_crew(CrewMode.FOOT)
    crew = await api_for(server, await server.add_user(Role.CREW, crew=callsign))
    paths = [
        ("GET", "/api/operations"),
        ("GET", f"/api/operations/{op['id']}"),
        ("GET", f"/api/operations/{op['id']}/plan"),
        ("GET", f"/api/operations/{op['id']}/plan.ics"),
        ("GET", f"/api/operations/{op['id']}/places.geojson"),
        ("POST", f"/api/operations/{op['id']}/generate"),
        ("POST", f"/api/operations/{op['id']}/publish"),
    ]
    for who in (officer, crew):
        for method, path in paths:
            body = await who.call(method, path, 403)
            assert body["code"] == "forbidden"
    async with httpx.AsyncClient(base_url=server.base) as anonymous:
        response = await anonymous.get("/api/operations")
        assert response.status_code == 401 and response.json()["code"] == "auth_missing"
    await officer.close()
    await crew.close()
    await api.close()


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"window_end": START.isoformat()}, 422, "invalid"),
        ({"deployments": 0}, 422, "invalid"),
        ({"timezone": "Mars/Olympus"}, 422, "invalid"),
        ({"officer_ids": ["nobody"]}, 422, "invalid"),
        ({"min_duration_min": 90, "max_duration_min": 45}, 422, "invalid"),
        ({"allowed_hours": [25]}, 422, "invalid"),
        (
            {"places": [{"name": "both", "lat": 52, "lon": -2, "route": [[52, -2], [52.1, -2]]}]},
            422,
            "invalid",
        ),
        ({"places": [{"name": "flat", "lat": 52, "lon": -2, "hourly": [0] * 24}]}, 422, "invalid"),
        ({"surprise": 1}, 422, "invalid"),
    ],
)
async def test_bad_operations_are_refused_and_change_nothing(
    server: RunningServer, change: dict[str, Any], status: int, code: str
) -> None:
    officers, crews = await team(server, 1, 1)
    api = await supervisor_api(server)
    body = {
        **operation_body("Bad", START, days=7, officers=officers, crews=crews, count=3),
        **change,
    }
    refused = await api.call("POST", "/api/operations", status, json=body)
    assert refused["code"] == code and refused["message"]
    assert await server.rows(Operation) == []
    await api.close()


async def test_refusals_on_an_existing_operation(server: RunningServer) -> None:
    officers, crews = await team(server, 2, 1)
    api = await supervisor_api(server)
    body = operation_body("Once", START, days=7, officers=officers, crews=crews, count=3)
    op = await api.call("POST", "/api/operations", 201, json=body)
    assert (await api.call("POST", "/api/operations", 409, json=body))["code"] == "conflict"
    assert (await api.call("POST", f"/api/operations/{op['id']}/publish", 422))["code"] == "invalid"
    bad_geo = await api.call(
        "POST",
        f"/api/operations/{op['id']}/places.geojson",
        422,
        content=json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Polygon", "coordinates": []},
                        "properties": {},
                    }
                ],
            }
        ),
    )
    assert bad_geo["code"] == "invalid" and "features[0]" in bad_geo["message"]
    not_json = await api.call(
        "POST", f"/api/operations/{op['id']}/places.geojson", 400, content=b"{nope"
    )
    assert not_json["code"] == "bad_json"
    await api.call("GET", "/api/operations/nope/plan", 404)
    await api.call("POST", f"/api/operations/{op['id']}/generate")
    await api.call("POST", f"/api/operations/{op['id']}/publish")
    again = await api.call("POST", f"/api/operations/{op['id']}/generate", 409)
    assert again["code"] == "illegal_transition"
    cancelled = await api.call("POST", f"/api/operations/{op['id']}/cancel")
    assert {d["state"] for d in cancelled["deployments"]} == {"cancelled"}
    assert cancelled["operation"]["state"] == "cancelled"
    await api.close()


async def test_nothing_is_planned_in_the_past_or_before_a_brief_could_reach_the_team(
    server: RunningServer,
) -> None:
    api = await supervisor_api(server)
    officers, crews = await team(server, 3, 2)
    now = datetime.now(UTC)
    started = operation_body(
        "Began yesterday", now - timedelta(days=1), days=3, officers=officers, crews=crews, count=6
    )
    op = await api.call("POST", "/api/operations", 201, json=started)
    plan = await api.call("POST", f"/api/operations/{op['id']}/generate")
    assert plan["deployments"]
    lead = now + timedelta(minutes=60)  # scheduler.brief_lead_min
    assert all(datetime.fromisoformat(d["starts_at"]) >= lead for d in plan["deployments"])

    over = operation_body(
        "Over already", now - timedelta(days=3), days=2, officers=officers, crews=crews, count=2
    )
    op = await api.call("POST", "/api/operations", 201, json=over)
    refused = await api.call("POST", f"/api/operations/{op['id']}/generate", 422)
    assert refused["code"] == "invalid" and "window is over" in refused["message"]
    assert (await api.call("GET", f"/api/operations/{op['id']}/plan"))["deployments"] == []
    await api.close()


async def test_refusals_of_bad_bodies_read_as_sentences(server: RunningServer) -> None:
    api = await supervisor_api(server)
    officers, crews = await team(server, 1, 1)
    body = operation_body("Sentences", START, days=2, officers=officers, crews=crews, count=2)
    backwards = {**body, "window_end": (START - timedelta(days=1)).isoformat()}
    answer = await api.call("POST", "/api/operations", 422, json=backwards)
    assert answer["message"] == "window_end must be after window_start"
    answer = await api.call("POST", "/api/operations", 422, json={**body, "name": ""})
    assert answer["message"] == "name: must not be empty"
    crew = await api.call(
        "POST", "/api/console/crews", 422, json={"callsign": "<b>", "mode": "car"}
    )
    assert crew["message"] == "callsign: has characters that are not allowed here"
    await api.close()


async def test_a_place_gap_range_is_stored_and_planned_within(server: RunningServer) -> None:
    officers, crews = await team(server, 4, 3)
    api = await supervisor_api(server)
    body = operation_body("Gap range", START, days=14, officers=officers, crews=crews, count=12)
    refused = {**body, "rules": {**body.get("rules", {}), "place_gap_h": 24, "place_gap_min_h": 30}}
    answer = await api.call("POST", "/api/operations", 422, json=refused)
    assert answer["code"] == "invalid" and "place_gap_min_h" in answer["message"]
    body["rules"] = {**body.get("rules", {}), "place_gap_h": 48, "place_gap_min_h": 12}
    op = await api.call("POST", "/api/operations", 201, json=body)
    assert op["rules"]["place_gap_min_h"] == 12.0 and op["rules"]["place_gap_h"] == 48.0
    stored = next(o for o in await server.rows(Operation) if o.id == op["id"])
    assert stored.place_gap_min_h == 12.0
    plan = await api.call("POST", f"/api/operations/{op['id']}/generate")
    assert len(plan["deployments"]) == 12
    assert await rules_broken(server, plan) == []
    await api.close()

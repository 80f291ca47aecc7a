"""Editing a draft's settings over REST (PATCH /api/operations/{key}) against a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from schemas.common import CrewMode, Role
from tests.operations.support import Api, api_for, operation_body
from tests.operations.test_plans_api import rules_broken, supervisor_api, team
from tests.support import RunningServer, settings_for, start_server

START = datetime(2027, 3, 1, 0, 0, tzinfo=UTC)
OPS = "/api/operations"


@pytest.fixture
async def sqlite_server(sqlite_url: str) -> AsyncIterator[RunningServer]:
    running = await start_server(settings_for(sqlite_url))
    try:
        yield running
    finally:
        await running.stop()


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


async def draft(api: Api, name: str, officers: list[str], crews: list[str]) -> dict[str, Any]:
    body = operation_body(name, START, days=7, officers=officers, crews=crews, count=6)
    op: dict[str, Any] = await api.call("POST", OPS, 201, json=body)
    return op


async def test_new_settings_take_effect_and_the_next_plan_uses_them(
    server: RunningServer,
) -> None:
    officers, crews = await team(server, 4, 2)
    api = await supervisor_api(server)
    op = await draft(api, "Riverside", officers[:2], crews[:1])
    plan = await api.call("POST", f"{OPS}/{op['id']}/generate")
    assert len(plan["deployments"]) == 6

    # A new name or area leaves the plan and its figures as they are.
    renamed = await api.call(
        "PATCH", f"{OPS}/{op['id']}", json={"name": "Riverside north", "area": "North bank"}
    )
    assert (renamed["name"], renamed["area"]) == ("Riverside north", "North bank")
    assert renamed["figures"] == plan["operation"]["figures"]
    kept = await api.call("GET", f"{OPS}/Riverside north/plan")
    assert kept["deployments"] == plan["deployments"]

    # A new window, team, hours and rest: the planned deployments no longer fit and go.
    start, end = START + timedelta(days=14), START + timedelta(days=21)
    changed = await api.call(
        "PATCH",
        f"{OPS}/{op['id']}",
        json={
            "window_start": start.isoformat(),
            "window_end": end.isoformat(),
            "officer_ids": officers[2:],
            "crew_ids": crews[1:],
            "allowed_hours": list(range(17, 23)),
            "rules": {"rest_h": 12},
        },
    )
    assert (at(changed["window_start"]), at(changed["window_end"])) == (start, end)
    assert changed["officer_ids"] == officers[2:] and changed["crew_ids"] == crews[1:]
    assert changed["allowed_hours"] == list(range(17, 23))
    assert changed["rules"] == {
        "place_gap_h": 48.0,
        "rest_h": 12.0,
        "per_officer_per_day": 1,
        "place_gap_min_h": None,
    }
    assert changed["figures"] is None and changed["warnings"] == []
    assert changed["name"] == "Riverside north" and changed["deployments"] == 6
    assert (await api.call("GET", f"{OPS}/{op['id']}/plan"))["deployments"] == []

    # The next plan is drawn with the new settings.
    again = await api.call("POST", f"{OPS}/{op['id']}/generate")
    assert len(again["deployments"]) == 6
    zone = ZoneInfo("Europe/London")
    for d in again["deployments"]:
        assert start <= at(d["starts_at"]) and at(d["ends_at"]) <= end
        assert set(d["officer_ids"]) <= set(officers[2:]) and d["crew_ids"] == crews[1:]
        assert 17 <= at(d["starts_at"]).astimezone(zone).hour <= 22
    assert await rules_broken(server, again) == []

    # A pinned deployment the new settings would break refuses the change, naming it.
    pin = again["deployments"][0]
    await api.call("PATCH", f"{OPS}/{op['id']}/deployments/{pin['id']}", json={"pinned": True})
    before = await api.call("GET", f"{OPS}/{op['id']}/plan")
    later = START + timedelta(days=30)
    refused = await api.call(
        "PATCH",
        f"{OPS}/{op['id']}",
        409,
        json={
            "window_start": later.isoformat(),
            "window_end": (later + timedelta(days=7)).isoformat(),
        },
    )
    assert refused["code"] == "rule_broken"
    assert pin["place_name"] in refused["message"] and "window" in refused["message"]
    assert await api.call("GET", f"{OPS}/{op['id']}/plan") == before

    # One that keeps the pinned deployment valid drops only the unpinned ones.
    fewer = await api.call("PATCH", f"{OPS}/{op['id']}", json={"deployments": 4})
    assert fewer["deployments"] == 4 and fewer["figures"] is None
    left = await api.call("GET", f"{OPS}/{op['id']}/plan")
    assert [d["id"] for d in left["deployments"]] == [pin["id"]]
    final = await api.call("POST", f"{OPS}/{op['id']}/generate")
    assert len(final["deployments"]) == 4 and pin["id"] in {d["id"] for d in final["deployments"]}

    # null takes the default again, as on create.
    reset = await api.call(
        "PATCH", f"{OPS}/{op['id']}", json={"allowed_hours": None, "rules": {"rest_h": None}}
    )
    assert reset["allowed_hours"] is None and reset["rules"]["rest_h"] == 11.0
    assert reset["rules"]["place_gap_h"] == 48.0
    await api.close()


async def test_invalid_changes_are_refused_and_change_nothing(
    sqlite_server: RunningServer,
) -> None:
    server = sqlite_server
    officers, crews = await team(server, 2, 1)
    api = await supervisor_api(server)
    op = await draft(api, "Market", officers, crews)
    await draft(api, "Other", officers, crews)
    await api.call("POST", f"{OPS}/{op['id']}/generate")
    before = await api.call("GET", f"{OPS}/{op['id']}/plan")
    bad: list[tuple[dict[str, Any], int, str, str]] = [
        ({"window_end": (START - timedelta(hours=1)).isoformat()}, 422, "invalid", "window_end"),
        ({"window_end": (START + timedelta(days=100)).isoformat()}, 422, "invalid", "92 days"),
        ({"officer_ids": ["nobody"]}, 422, "invalid", "not an active officer"),
        ({"officer_ids": []}, 422, "invalid", "officer_ids"),
        ({"crew_ids": ["nocrew"]}, 422, "invalid", "no crew"),
        ({"max_duration_min": 30}, 422, "invalid", "max_duration_min"),
        ({"timezone": "Mars/Olympus"}, 422, "invalid", "timezone"),
        ({"officers_per_deployment": 3}, 422, "invalid", "fewer officers"),
        ({"crews_per_deployment": 2}, 422, "invalid", "fewer crews"),
        ({"deployments": 0}, 422, "invalid", "deployments"),
        ({"allowed_weekdays": [7]}, 422, "invalid", "allowed_weekdays"),
        ({"rules": {"rest_h": 100}}, 422, "invalid", "rest_h"),
        ({"name": None}, 422, "invalid", "name"),
        ({"window_start": "2027-03-01T00:00:00"}, 422, "invalid", "timezone"),
        ({"places": []}, 422, "invalid", "places"),
        ({"surprise": 1}, 422, "invalid", "surprise"),
        ({"name": "Other"}, 409, "conflict", "Other"),
    ]
    for change, status, code, words in bad:
        refused = await api.call("PATCH", f"{OPS}/{op['id']}", status, json=change)
        assert refused["code"] == code, (change, refused)
        assert words in refused["message"], (change, refused)
        assert await api.call("GET", f"{OPS}/{op['id']}/plan") == before, change
    await api.call("PATCH", f"{OPS}/nope", 404, json={"area": "x"})
    await api.close()


async def test_published_and_cancelled_operations_refuse(sqlite_server: RunningServer) -> None:
    server = sqlite_server
    officers, crews = await team(server, 2, 1)
    api = await supervisor_api(server)
    op = await draft(api, "Published", officers, crews)
    await api.call("POST", f"{OPS}/{op['id']}/generate")
    await api.call("POST", f"{OPS}/{op['id']}/publish")
    before = await api.call("GET", f"{OPS}/{op['id']}/plan")
    refused = await api.call("PATCH", f"{OPS}/{op['id']}", 409, json={"deployments": 2})
    assert refused["code"] == "illegal_transition" and "published" in refused["message"]
    assert await api.call("GET", f"{OPS}/{op['id']}/plan") == before

    other = await draft(api, "Cancelled", officers, crews)
    await api.call("POST", f"{OPS}/{other['id']}/cancel")
    refused = await api.call("PATCH", f"{OPS}/{other['id']}", 409, json={"area": "x"})
    assert refused["code"] == "illegal_transition" and "cancelled" in refused["message"]
    await api.close()


async def test_officers_and_crews_cannot_edit(sqlite_server: RunningServer) -> None:
    server = sqlite_server
    officers, crews = await team(server, 1, 1)
    api = await supervisor_api(server)
    op = await draft(api, "Secret", officers, crews)
    officer = await api_for(server, await server.add_user(Role.OFFICER))
    callsign = await server.add_crew(CrewMode.FOOT)
    crew = await api_for(server, await server.add_user(Role.CREW, crew=callsign))
    for who in (officer, crew):
        body = await who.call("PATCH", f"{OPS}/{op['id']}", 403, json={"area": "leaked"})
        assert body["code"] == "forbidden"
    async with httpx.AsyncClient(base_url=server.base) as anonymous:
        response = await anonymous.patch(f"{OPS}/{op['id']}", json={"area": "leaked"})
        assert response.status_code == 401
    assert (await api.call("GET", f"{OPS}/{op['id']}"))["area"] == op["area"]
    await officer.close()
    await crew.close()
    await api.close()

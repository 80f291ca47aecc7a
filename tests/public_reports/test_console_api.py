"""The console's reports view over REST, on a real server (SQLite and PostgreSQL): the
list and its filters, the heat table's numbers (an operation's places, and the grid),
a report's detail with the reporter's contact for supervisors only, marking spam and
duplicates (bad input refused with nothing changed), the audit rows, the CSV and
GeoJSON exports, and risk derived from the reports for an operation, then accepted."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dispatch.audit.models import AuditRow
from dispatch.public_reports.models import PublicReport
from schemas.common import CrewMode, Role
from tests.operations.support import Api, api_for, operation_body
from tests.public_reports.console_support import (
    CASTLE,
    MEADOW,
    Made,
    insert_reports,
    two_places,
)
from tests.support import CENTRE, ManualClock, RunningServer, north_of, settings_for, start_server

NOW = datetime(2027, 3, 9, 12, 0, tzinfo=UTC)  # March: London is on GMT, local = UTC
SINCE = datetime(2027, 3, 1, tzinfo=UTC)  # a Monday
UNTIL = datetime(2027, 3, 8, tzinfo=UTC)
PERIOD = {"since": "2027-03-01T00:00:00Z", "until": "2027-03-08T00:00:00Z"}
BASE = "/api/console/public-reports"
CONTACT = "07700 900123"


def mon(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 3, day, hour, minute, tzinfo=UTC)


# Hours of the week (Monday 00:00 = 0) are worked out by hand beside each.
REPORTS = [
    Made(CASTLE, mon(1, 18, 10), "catcalling", contact=CONTACT, description="Shouted at"),  # 18
    Made(north_of(CASTLE, 50), mon(1, 18, 40), "following"),  # Mon 18 -> 18
    Made(CASTLE, mon(3, 7, 30), "intimidation", vehicle_reg="AB12CDE"),  # Wed 07 -> 55
    Made(MEADOW, mon(6, 22, 5), "catcalling"),  # Sat 22 -> 142
    Made(CASTLE, mon(2, 12), "catcalling", status="spam"),  # Tue 12 -> 36
    Made(north_of(CENTRE, 5200), mon(7, 10), "vehicle"),  # far: no place
    Made(CASTLE, datetime(2027, 2, 1, 9, tzinfo=UTC), "catcalling"),  # before the period
]


@dataclass
class World:
    server: RunningServer
    db_url: str
    boss: Api
    ids: list[str]
    operation: dict[str, Any]
    others: dict[str, Api]  # officer, crew, auditor


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    server = await start_server(settings_for(db_url), ManualClock(NOW))
    apis: list[Api] = []
    try:
        boss = await api_for(server, await server.add_user(Role.SUPERVISOR))
        officer = await server.add_user(Role.OFFICER)
        callsign = await server.add_crew(CrewMode.CAR)
        others = {
            "officer": await api_for(server, officer),
            "crew": await api_for(server, await server.add_user(Role.CREW, crew=callsign)),
            "auditor": await api_for(server, await server.add_user(Role.AUDITOR)),
        }
        apis = [boss, *others.values()]
        officer_id = (await server.sign_in(officer))["user_id"]
        body = operation_body(
            "Castle and Meadow",
            NOW + timedelta(days=10),
            days=7,
            officers=[officer_id],
            crews=[],
            count=4,
            crews_per_deployment=0,
            places=two_places(),
        )
        op = await boss.call("POST", "/api/operations", 201, json=body)
        ids = await insert_reports(db_url, REPORTS)
        yield World(server, db_url, boss, ids, op, others)
    finally:
        for api in apis:
            await api.close()
        await server.stop()


async def audit_rows(w: World) -> list[AuditRow]:
    return sorted(await w.server.rows(AuditRow), key=lambda r: r.seq)


async def statuses(w: World) -> dict[str, tuple[str, str | None]]:
    return {r.id: (r.status, r.duplicate_of) for r in await w.server.rows(PublicReport)}


async def test_the_list_filters_by_period_kind_and_status(world: World) -> None:
    w, ids = world, world.ids
    every = await w.boss.call("GET", BASE, params=PERIOD)
    assert [r["id"] for r in every["reports"]] == [ids[0], ids[1], ids[4], ids[2], ids[3], ids[5]]
    assert every["total"] == 6
    first = every["reports"][0]
    assert (first["kind"], first["lat"], first["lon"]) == ("catcalling", *CASTLE)
    assert "contact" not in first and "description" not in first  # only in the detail
    catcalls = await w.boss.call(
        "GET", BASE, params={**PERIOD, "kind": "catcalling", "status": "new"}
    )
    assert [r["id"] for r in catcalls["reports"]] == [ids[0], ids[3]]
    two_kinds = await w.boss.call(
        "GET", BASE, params=[*PERIOD.items(), ("kind", "following"), ("kind", "vehicle")]
    )
    assert [r["id"] for r in two_kinds["reports"]] == [ids[1], ids[5]]
    # With no period: the 90 days to the server's now (the February one is in it).
    default = await w.boss.call("GET", BASE)
    assert default["total"] == 7
    assert default["until"].startswith("2027-03-09T12:00")

    for params, where in (
        ({"kind": "shouting"}, "kind"),
        ({"status": "deleted"}, "status"),
        ({"since": "2027-03-08T00:00:00Z", "until": "2027-03-01T00:00:00Z"}, "until"),
        ({"since": "2027-03-01T00:00:00"}, "since"),  # no zone
    ):
        refused = await w.boss.http.get(BASE, params=params)
        assert refused.status_code == 422, params
        assert refused.json()["code"] == "invalid"
        assert refused.json()["message"].startswith(f"{where}:")


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"until": "0001-01-02T00:00:00Z"}, "until"),  # 90 days before it: no such date
        ({"since": "0001-01-01T00:00:00Z", "until": "2027-03-08T00:00:00Z"}, "since"),
        ({"since": "1999-12-31T23:59:59Z"}, "since"),
        ({"until": "9999-12-31T23:59:59-12:00"}, "until"),
        ({"since": "2100-01-01T00:00:01Z", "until": "2100-01-02T00:00:00Z"}, "since"),
        ({"since": "2027-03-09T12:00:00Z"}, "until"),  # since not before now, the until
    ],
)
async def test_a_period_out_of_bounds_is_refused_on_every_route(
    world: World, params: dict[str, str], where: str
) -> None:
    w = world
    before = len(await audit_rows(w))
    for path, extra in (
        ("", {}),
        ("/heat", {}),
        ("/risk", {"operation": w.operation["id"]}),
        (".csv", {}),
        (".geojson", {}),
    ):
        refused = await w.boss.http.get(BASE + path, params={**params, **extra})
        assert refused.status_code == 422, (path, params, refused.text)
        assert refused.json()["code"] == "invalid"
        message = refused.json()["message"]
        assert message.startswith(f"{where}:") and message.endswith("."), message
    assert len(await audit_rows(w)) == before  # nothing exported


async def test_the_heat_table_counts_by_place_and_hour_of_the_week(world: World) -> None:
    w = world
    by_place = await w.boss.call(
        "GET",
        f"{BASE}/heat",
        params={**PERIOD, "status": "new", "operation": w.operation["name"]},
    )
    assert by_place["rows_are"] == "places"
    assert by_place["timezone"] == "Europe/London"
    assert by_place["reports"] == 5  # the spam one is left out; the far one has no place
    rows = {r["name"]: r for r in by_place["rows"]}
    castle, meadow = rows["Castle Green"], rows["Bishop's Meadow"]
    assert len(castle["counts"]) == 168
    assert {h: n for h, n in enumerate(castle["counts"]) if n} == {18: 2, 55: 1}
    assert {h: n for h, n in enumerate(meadow["counts"]) if n} == {142: 1}
    assert (castle["total"], meadow["total"]) == (3, 1)

    catcalls = await w.boss.call(
        "GET",
        f"{BASE}/heat",
        params={**PERIOD, "kind": "catcalling", "operation": w.operation["id"]},
    )
    rows = {r["name"]: r for r in catcalls["rows"]}
    # Every status: the spam catcall (Tue 12:00 -> 36) counts here.
    assert {h: n for h, n in enumerate(rows["Castle Green"]["counts"]) if n} == {18: 1, 36: 1}

    # No operation: squares of 500 m from the force's centre (the town centre), the
    # busiest first: the centre's (3 reports), then 5.2 km north (row 10), then the
    # meadow's 1.1 km north (row 2), each one report.
    grid = await w.boss.call("GET", f"{BASE}/heat", params={**PERIOD, "status": "new"})
    assert grid["rows_are"] == "squares" and grid["square_m"] == 500
    assert [(r["key"], r["total"]) for r in grid["rows"]] == [("0:0", 3), ("10:0", 1), ("2:0", 1)]
    assert grid["rows"][0]["name"] == "52.0587 N, 2.7123 W"  # the square's centre
    in_tokyo = await w.boss.call(
        "GET", f"{BASE}/heat", params={**PERIOD, "status": "new", "tz": "Asia/Tokyo"}
    )
    # +9 h: Monday 18:10 UTC is Tuesday 03:10 in Tokyo (27).
    assert in_tokyo["rows"][0]["counts"][27] == 2
    unknown = await w.boss.http.get(f"{BASE}/heat", params={"operation": "No such op"})
    assert unknown.status_code == 422 and unknown.json()["code"] == "invalid"


async def test_the_detail_shows_the_contact_to_supervisors_only(world: World) -> None:
    w, first = world, world.ids[0]
    detail = await w.boss.call("GET", f"{BASE}/{first}")
    assert detail["contact"] == CONTACT
    assert detail["description"] == "Shouted at"
    assert (detail["status"], detail["duplicates"]) == ("new", [])
    third = await w.boss.call("GET", f"{BASE}/{w.ids[2]}")
    assert third["contact"] is None and third["vehicle_reg"] == "AB12CDE"
    seen = [r for r in await audit_rows(w) if r.object_type == "public_report"]
    assert [(r.action, r.object_id, r.detail) for r in seen] == [
        ("consultation", first, "with contact"),
        ("consultation", w.ids[2], None),
    ]
    missing = await w.boss.http.get(f"{BASE}/{'0' * 32}")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"

    before = len(await audit_rows(w))
    for who, api in w.others.items():
        for method, path, body in (
            ("GET", BASE, None),
            ("GET", f"{BASE}/heat", None),
            ("GET", f"{BASE}/{first}", None),
            ("GET", f"{BASE}.csv", None),
            ("GET", f"{BASE}.geojson", None),
            ("GET", f"{BASE}/risk?operation={w.operation['id']}", None),
            ("POST", f"{BASE}/{first}/status", {"status": "spam"}),
        ):
            refused = await api.http.request(method, path, json=body)
            assert refused.status_code == 403, (who, path)
            assert refused.json()["code"] == "forbidden"
            assert CONTACT not in refused.text
    assert len(await audit_rows(w)) == before  # a refusal shows nothing, writes nothing
    assert (await statuses(w))[first] == ("new", None)


async def test_marking_spam_and_duplicates_is_audited_and_bad_marks_change_nothing(
    world: World,
) -> None:
    w, ids = world, world.ids
    original, copy, third = ids[0], ids[1], ids[2]
    marked = await w.boss.call(
        "POST",
        f"{BASE}/{copy}/status",
        json={"status": "duplicate", "duplicate_of": original, "reason": "Same shout"},
    )
    assert (marked["status"], marked["duplicate_of"]) == ("duplicate", original)
    assert marked["status_at"].startswith("2027-03-09T12:00") and marked["status_by"]
    assert (await w.boss.call("GET", f"{BASE}/{original}"))["duplicates"] == [copy]
    spam = await w.boss.call("POST", f"{BASE}/{third}/status", json={"status": "spam"})
    assert spam["status"] == "spam"
    rows = [r for r in await audit_rows(w) if r.action == "alteration"]
    assert [(r.object_type, r.object_id, r.detail, r.reason) for r in rows] == [
        ("public_report", copy, f"marked duplicate of {original} (was new)", "Same shout"),
        ("public_report", third, "marked spam (was new)", None),
    ]
    # The same mark again changes nothing and writes nothing.
    await w.boss.call("POST", f"{BASE}/{third}/status", json={"status": "spam"})
    assert len([r for r in await audit_rows(w) if r.action == "alteration"]) == 2

    # The heat table's default view leaves them out now: Castle Green has one report.
    heat = await w.boss.call(
        "GET", f"{BASE}/heat", params={**PERIOD, "status": "new", "operation": w.operation["id"]}
    )
    assert {r["name"]: r["total"] for r in heat["rows"]}["Castle Green"] == 1

    before = await statuses(w)
    rows_before = len(await audit_rows(w))
    bad: list[tuple[str, dict[str, Any], int, str, str]] = [
        ("0" * 32, {"status": "spam"}, 404, "not_found", "There is no report"),
        (original, {"status": "duplicate", "duplicate_of": original}, 422, "invalid",
         "duplicate_of: a report cannot be a duplicate of itself."),
        (original, {"status": "duplicate", "duplicate_of": "f" * 32}, 422, "invalid",
         "duplicate_of: there is no report"),
        (original, {"status": "duplicate"}, 422, "invalid", "duplicate_of: name the report"),
        (original, {"status": "spam", "duplicate_of": third}, 422, "invalid",
         "duplicate_of: only a report marked duplicate"),
        (ids[3], {"status": "duplicate", "duplicate_of": copy}, 422, "invalid",
         f"duplicate_of: {copy} is itself a duplicate of {original}"),
        (original, {"status": "duplicate", "duplicate_of": ids[3]}, 409, "conflict",
         "Other reports are marked duplicates of this one"),
        (original, {"status": "deleted"}, 422, "invalid", "status: 'deleted' is not one of"),
    ]  # fmt: skip
    for report_id, body, status, code, sentence in bad:
        refused = await w.boss.http.post(f"{BASE}/{report_id}/status", json=body)
        assert refused.status_code == status, (body, refused.text)
        assert refused.json()["code"] == code
        assert refused.json()["message"].startswith(sentence), refused.json()["message"]
    assert await statuses(w) == before
    assert len(await audit_rows(w)) == rows_before

    # Undo: new again.
    again = await w.boss.call("POST", f"{BASE}/{copy}/status", json={"status": "new"})
    assert (again["status"], again["duplicate_of"]) == ("new", None)


async def test_csv_and_geojson_exports_are_audited_and_never_carry_the_contact(
    world: World,
) -> None:
    w, ids = world, world.ids
    text = await w.boss.call("GET", f"{BASE}.csv", params={**PERIOD, "status": "new"})
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["id"] for r in rows] == [ids[0], ids[1], ids[2], ids[3], ids[5]]
    first = rows[0]
    assert first["occurred_at"] == "2027-03-01T18:10:00Z"
    assert first["received_at"] == "2027-03-01T18:17:00Z"
    assert (first["kind"], first["status"], first["description"]) == (
        "catcalling",
        "new",
        "Shouted at",
    )
    assert (float(first["lat"]), float(first["lon"])) == CASTLE
    assert rows[2]["vehicle_reg"] == "AB12CDE"
    assert CONTACT not in text

    response = await w.boss.http.get(f"{BASE}.geojson", params={**PERIOD, "kind": "catcalling"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    assert (
        "public-reports-2027-03-01-to-2027-03-08.geojson" in response.headers["content-disposition"]
    )
    geo = json.loads(response.text)
    assert geo["type"] == "FeatureCollection"
    assert [f["id"] for f in geo["features"]] == [ids[0], ids[4], ids[3]]
    point = geo["features"][0]
    assert point["geometry"] == {"type": "Point", "coordinates": [CASTLE[1], CASTLE[0]]}
    assert point["properties"]["kind"] == "catcalling"
    assert geo["features"][1]["properties"]["status"] == "spam"
    assert CONTACT not in response.text

    disclosed = [r for r in await audit_rows(w) if r.action == "disclosure"]
    assert [r.object_type for r in disclosed] == ["public_reports", "public_reports"]
    assert disclosed[0].detail == "public-reports-2027-03-01-to-2027-03-08.csv: 5 reports"
    assert "status new" in disclosed[0].object_id
    assert disclosed[1].detail == "public-reports-2027-03-01-to-2027-03-08.geojson: 3 reports"


def weight(occurred: datetime, until: datetime = UNTIL, half_life: float = 90) -> float:
    return float(2 ** (-(until - occurred).total_seconds() / 86400 / half_life))


async def test_risk_derived_from_reports_is_shown_then_accepted(world: World) -> None:
    w, ids, op = world, world.ids, world.operation
    await w.boss.call(
        "POST", f"{BASE}/{ids[1]}/status", json={"status": "duplicate", "duplicate_of": ids[0]}
    )
    derived = await w.boss.call("GET", f"{BASE}/risk", params={**PERIOD, "operation": op["name"]})
    assert (derived["operation_id"], derived["timezone"]) == (op["id"], "Europe/London")
    assert (derived["half_life_days"], derived["risk_floor"], derived["hourly_floor"]) == (
        90,
        0.1,
        0.25,
    )
    # Castle Green counts its Monday 18:10 and Wednesday 07:30 reports (the duplicate and
    # the spam one do not); Bishop's Meadow its Saturday one.
    assert derived["reports"] == 3
    assert derived["scale"] == 1.0  # every place typed at the default risk
    places = {p["name"]: p for p in derived["places"]}
    castle, meadow = places["Castle Green"], places["Bishop's Meadow"]
    assert (castle["reports"], meadow["reports"]) == (2, 1)
    w_castle = weight(mon(1, 18, 10)) + weight(mon(3, 7, 30))
    w_meadow = weight(mon(6, 22, 5))
    mean = (w_castle + w_meadow) / 2
    assert castle["weight"] == pytest.approx(w_castle, abs=1e-4)
    assert castle["risk"] == round(w_castle / mean, 2)
    assert meadow["risk"] == round(w_meadow / mean, 2)
    assert castle["typed_risk"] == 1.0 and castle["typed_hourly"] is None
    # Castle's hourly: 0.25 + 0.75 x 24 x S[h] / W, S spreading each report's weight
    # half to its hour and a quarter to each neighbour.
    a, b = weight(mon(1, 18, 10)), weight(mon(3, 7, 30))
    expect_18 = 0.25 + 18 * (a / 2) / w_castle
    expect_8 = 0.25 + 18 * (b / 4) / w_castle
    assert castle["hourly"][18] == round(expect_18, 3)
    assert castle["hourly"][8] == round(expect_8, 3)
    assert castle["hourly"][12] == 0.25

    # A plan drawn from the typed numbers is dropped when the derived ones are accepted.
    drawn = await w.boss.call("POST", f"/api/operations/{op['id']}/generate")
    assert len(drawn["deployments"]) == 4

    # Accept Castle Green's and keep Bishop's Meadow's typed numbers.
    before = len(await audit_rows(w))
    accepted = await w.boss.call(
        "PATCH",
        f"/api/operations/{op['id']}/places",
        json={
            "places": [
                {"id": castle["place_id"], "risk": castle["risk"], "hourly": castle["hourly"]}
            ],
            "source": "derived from reports 2027-03-01 to 2027-03-08",
        },
    )
    now = {p["name"]: p for p in accepted["places"]}
    assert now["Castle Green"]["risk"] == castle["risk"]
    assert now["Castle Green"]["hourly"] == castle["hourly"]
    assert (now["Bishop's Meadow"]["risk"], now["Bishop's Meadow"]["hourly"]) == (1.0, None)
    assert accepted["figures"] is None
    rows = (await audit_rows(w))[before:]
    assert [(r.action, r.object_type, r.object_id) for r in rows] == [
        ("alteration", "operation", op["id"])
    ]
    assert (await w.boss.call("GET", f"/api/operations/{op['id']}/plan"))["deployments"] == []
    assert rows[0].detail is not None
    assert rows[0].detail.startswith(
        f"place weights (derived from reports 2027-03-01 to 2027-03-08): "
        f"Castle Green risk 1 -> {castle['risk']:g}"
    )

    # Derived again, the risks are on the typed risks' new scale: their mean.
    again = await w.boss.call("GET", f"{BASE}/risk", params={**PERIOD, "operation": op["id"]})
    scale = (castle["risk"] + 1.0) / 2
    assert again["scale"] == round(scale, 4)
    assert {p["name"]: p["risk"] for p in again["places"]} == {
        "Castle Green": round(scale * w_castle / mean, 2),
        "Bishop's Meadow": round(scale * w_meadow / mean, 2),
    }

    # An unknown place, or a place twice, changes nothing.
    for body, status in (
        ({"places": [{"id": "0" * 32, "risk": 2}]}, 404),
        ({"places": [{"id": castle["place_id"], "risk": 2}] * 2}, 422),
        ({"places": [{"id": castle["place_id"], "risk": 0}]}, 422),
        ({"places": [{"id": castle["place_id"], "risk": 2, "hourly": [0] * 24}]}, 422),
    ):
        refused = await w.boss.http.patch(f"/api/operations/{op['id']}/places", json=body)
        assert refused.status_code == status, refused.text
    unchanged = await w.boss.call("GET", f"/api/operations/{op['id']}")
    assert {p["name"]: p["risk"] for p in unchanged["places"]} == {
        "Castle Green": castle["risk"],
        "Bishop's Meadow": 1.0,
    }
    officer = await w.others["officer"].http.patch(
        f"/api/operations/{op['id']}/places",
        json={"places": [{"id": castle["place_id"], "risk": 5}]},
    )
    assert officer.status_code == 403 and officer.json()["code"] == "forbidden"

    # A published operation's places are fixed.
    await w.boss.call("POST", f"/api/operations/{op['id']}/generate")
    await w.boss.call("POST", f"/api/operations/{op['id']}/publish")
    late = await w.boss.http.patch(
        f"/api/operations/{op['id']}/places",
        json={"places": [{"id": castle["place_id"], "risk": 5}]},
    )
    assert late.status_code == 409 and late.json()["code"] == "illegal_transition"


async def test_nothing_to_derive_when_no_report_is_within_a_place(world: World) -> None:
    w = world
    derived = await w.boss.call(
        "GET",
        f"{BASE}/risk",
        params={
            "operation": w.operation["id"],
            "since": "2026-01-01T00:00:00Z",
            "until": "2026-02-01T00:00:00Z",
        },
    )
    assert derived["reports"] == 0
    assert [(p["risk"], p["hourly"]) for p in derived["places"]] == [(None, None)] * 2
    missing = await w.boss.http.get(f"{BASE}/risk")
    assert missing.status_code == 422 and missing.json()["code"] == "invalid"

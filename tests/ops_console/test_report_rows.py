"""An operation's report reads its alerts as plain columns, in one query joined on the
operation's deployments. Proof that it gives the very facts the incident log builds from
whole ORM rows (found by id lists), on a real database of each kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dispatch.storage.db import Database
from dispatch.storage.models import Alert, Crew, Deployment, Offer, Operation, Place, User
from ops_console.alert_rows import Search, context_for, find_alerts, operation_facts
from ops_console.report_figures import report, report_csv

T0 = datetime(2026, 7, 1, 20, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def operation(op_id: str, name: str) -> Operation:
    return Operation(
        id=op_id,
        name=name,
        timezone="Europe/London",
        window_start=T0,
        window_end=at(86_400),
        deployments=1,
        min_duration_min=60,
        max_duration_min=60,
        officer_ids="[]",
        crew_ids="[]",
        place_gap_h=0,
        rest_h=0,
        per_officer_per_day=1,
        state="published",
        created_at=T0,
        updated_at=T0,
    )


def place(place_id: str, op_id: str, name: str) -> Place:
    return Place(id=place_id, operation_id=op_id, name=name, lat=52.0, lon=-2.7, risk=1.0)


def deployment(dep_id: str, op_id: str, place_id: str) -> Deployment:
    return Deployment(
        id=dep_id,
        operation_id=op_id,
        place_id=place_id,
        starts_at=T0,
        ends_at=at(7200),
        state="done",
        updated_at=T0,
    )


def alert(alert_id: str, raised: float, dep: str | None, **fields: Any) -> Alert:
    values: dict[str, Any] = {
        "officer_id": "u1",
        "state": "resolved",
        "closed_at": at(raised + 900),
    }
    values |= fields
    return Alert(
        id=alert_id,
        lat=52.0,
        lon=-2.7,
        raised_at=at(raised),
        updated_at=at(raised),
        deployment_id=dep,
        **values,
    )


def offer(offer_id: str, alert_id: str, crew: str, created: float, **fields: Any) -> Offer:
    return Offer(
        id=offer_id,
        alert_id=alert_id,
        crew_id=crew,
        created_at=at(created),
        deadline=at(created + 30),
        distance_m=600.0,
        eta_s=90.0,
        **fields,
    )


def rows() -> list[Any]:
    people = [
        User(id=uid, username=uid, display_name=name, role=role, password_hash="x", created_at=T0)
        for uid, name, role in [
            ("u1", "PC Jones", "officer"),
            ("u2", "PC Patel", "officer"),
            ("s1", "Sgt Rees", "supervisor"),
        ]
    ]
    crews = [
        Crew(id=cid, callsign=callsign, mode="car", state="available", updated_at=T0)
        for cid, callsign in [("c1", "FOOT-1"), ("c2", "CAR-2"), ("c3", "BIKE-3")]
    ]
    ops = [operation("op1", "Jog on"), operation("op2", "Night owl")]
    places = [
        place("p1", "op1", "Castle Green"),
        place("p2", "op1", "Quay"),
        place("p3", "op2", "Mill"),
    ]
    deps = [
        deployment("d1", "op1", "p1"),
        deployment("d2", "op1", "p2"),
        deployment("d3", "op2", "p3"),
    ]
    alerts = [
        alert("a1", 0, "d1", outcome="arrest", category="following"),
        alert("a2", 60, "d2", urgent=True, officer_id="u2", outcome="words_of_advice"),
        alert("a3", 120, "d1", state="cancelled"),  # no offer at all
        alert("a4", 180, "d1", state="cancelled"),  # accepted, then withdrawn
        alert("a6", 240, "d2", outcome="arrest"),  # assigned by hand
        alert("a5", 240, "d2", outcome="offender_not_found"),  # same instant: by id
        alert("a7", 300, "d1", state="unassigned", closed_at=None),  # declined, expired
        alert("x1", 30, "d3"),  # another operation's
        alert("x2", 90, None),  # raised outside any deployment
    ]
    offers = [
        offer("o1", "a1", "c1", 2, state="declined", closed_at=at(10)),
        offer("o2", "a1", "c2", 10, state="accepted", accepted_at=at(40), on_scene_at=at(250)),
        # Urgent: two crews; the one offered second accepted first.
        offer("o3", "a2", "c2", 62, state="accepted", accepted_at=at(120), on_scene_at=at(400)),
        offer("o4", "a2", "c3", 63, state="accepted", accepted_at=at(80)),
        offer("o5", "a4", "c3", 182, state="withdrawn", accepted_at=at(200), closed_at=at(230)),
        offer(
            "o6",
            "a6",
            "c1",
            270,
            state="accepted",
            accepted_at=at(270),
            assigned_by="s1",
            on_scene_at=at(600),
        ),
        offer("o7", "a5", "c2", 241, state="accepted", accepted_at=at(241.5), on_scene_at=at(500)),
        offer("o8", "a7", "c1", 302, state="declined", closed_at=at(305)),
        offer("o9", "a7", "c3", 305, state="expired", closed_at=at(335)),
        offer("o10", "x1", "c1", 31, state="accepted", accepted_at=at(33), on_scene_at=at(90)),
    ]
    return [*crews, *people, *ops, *places, *deps, *alerts, *offers]


async def test_the_reports_plain_rows_give_the_logs_facts(db_url: str) -> None:
    db = Database(db_url)
    try:
        await db.create_tables()
        async with db.session() as s:
            for row in rows():  # one by one: the foreign keys want their order
                s.add(row)
                await s.flush()
            await s.commit()
        async with db.session() as s:
            op = await s.get(Operation, "op1")
            assert op is not None
            facts = await operation_facts(s, op)
            found = await find_alerts(s, Search(operation_id="op1"), limit=100)
            context = await context_for(s, found)
            from_orm = [context.facts(a) for a in reversed(found)]
    finally:
        await db.close()

    assert [f.id for f in facts] == ["a1", "a2", "a3", "a4", "a5", "a6", "a7"]
    assert facts == from_orm
    by_id = {f.id: f for f in facts}
    a2 = by_id["a2"]
    assert (a2.crews, a2.accept_s, a2.on_scene_s) == (("BIKE-3", "CAR-2"), 20.0, 340.0)
    assert (a2.officer, a2.place, a2.operation, a2.urgent) == ("PC Patel", "Quay", "Jog on", True)
    a1 = by_id["a1"]
    assert (a1.crews, a1.accept_s, a1.on_scene_s) == (("CAR-2",), 40.0, 250.0)
    assert (a1.category, a1.closed_at, a1.outcome) == ("following", at(900), "arrest")
    assert (by_id["a3"].crews, by_id["a3"].accept_s) == ((), None)
    assert (by_id["a4"].crews, by_id["a4"].accept_s, by_id["a4"].on_scene_s) == (
        ("BIKE-3",),
        20.0,
        None,
    )
    assert (by_id["a6"].crews, by_id["a6"].accept_s) == (("FOOT-1",), 30.0)
    assert (by_id["a7"].crews, by_id["a7"].accept_s, by_id["a7"].closed_at) == ((), None, None)
    zone = ZoneInfo("Europe/London")
    places = ["Castle Green", "Quay", "Unused"]
    assert report(facts, zone, places) == report(from_orm, zone, places)
    assert report_csv(facts, zone) == report_csv(from_orm, zone)

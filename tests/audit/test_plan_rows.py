"""Planning writes its audit rows in the transaction of the change, against a real server:
an operation's settings or places edited (alteration), a plan generated (combination:
officers, crews, places and times joined), a plan published (disclosure: it goes to the
team). A refused change, or an edit that changes nothing, writes no row; the chain stays
whole."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dispatch.audit.models import AuditRow
from dispatch.storage.db import Database
from schemas.common import Role
from tests.audit.support import verdict
from tests.operations.support import Api, api_for, operation_body
from tests.operations.test_plans_api import team
from tests.support import CENTRE, RunningServer, north_of

START = datetime(2027, 3, 1, 0, 0, tzinfo=UTC)
OPS = "/api/operations"


async def trail_of(auditor: Api, object_type: str, object_id: str) -> list[dict[str, Any]]:
    """The rows about one object, oldest first."""
    page = await auditor.call(
        "GET",
        "/api/console/audit",
        params={"object_type": object_type, "object_id": object_id},
    )
    return list(reversed(page["rows"]))


async def test_editing_generating_and_publishing_a_plan_are_in_the_trail(
    server: RunningServer,
) -> None:
    officers, crews = await team(server, 3, 2)
    boss = await server.add_user(Role.SUPERVISOR)
    supervisor = await api_for(server, boss)
    boss_id = (await supervisor.call("GET", "/api/session"))["user_id"]
    auditor = await api_for(server, await server.add_user(Role.AUDITOR))
    try:
        body = operation_body(
            "Castle Green", START, days=7, officers=officers[:2], crews=crews[:1], count=6
        )
        op = await supervisor.call("POST", OPS, 201, json=body)
        op_id = op["id"]

        # Edits of the operation: its settings, its places.
        await supervisor.call(
            "PATCH",
            f"{OPS}/{op_id}",
            json={"area": "Castle Green and quay", "officer_ids": officers, "crew_ids": crews},
        )
        lat, lon = north_of(CENTRE, 2000)
        steps = {"name": "Quay steps", "lat": lat, "lon": lon, "radius_m": 150.0, "risk": 2.0}
        edited = await supervisor.call("POST", f"{OPS}/{op_id}/places", json={"places": [steps]})
        quay = next(p for p in edited["places"] if p["name"] == "Quay steps")
        await supervisor.call("DELETE", f"{OPS}/{op_id}/places/{quay['id']}")

        # Generated, then published.
        plan = await supervisor.call("POST", f"{OPS}/{op_id}/generate")
        deployments = plan["deployments"]
        assert len(deployments) == 6
        published = await supervisor.call("POST", f"{OPS}/{op_id}/publish")
        assert published["operation"]["state"] == "published"

        altered = await trail_of(auditor, "operation", op_id)
        assert [(r["action"], r["actor"], r["role"]) for r in altered] == [
            ("alteration", boss_id, "supervisor")
        ] * 3
        assert [r["detail"] for r in altered] == [
            "changed: area, officer_ids, crew_ids; its unpinned plan dropped",
            "places added: 1 (Quay steps)",
            f"place deleted: Quay steps ({quay['id']})",
        ]

        on_plan = await trail_of(auditor, "plan", op_id)
        assert [(r["action"], r["actor"]) for r in on_plan] == [
            ("combination", boss_id),
            ("disclosure", boss_id),
        ]
        n_officers = len({u for d in deployments for u in d["officer_ids"]})
        n_crews = len({c for d in deployments for c in d["crew_ids"]})
        n_places = len({d["place_id"] for d in deployments})
        assert on_plan[0]["detail"] == (
            f"plan generated: 6 deployments: {n_officers} officers, {n_crews} crews, "
            f"{n_places} places"
        )
        assert on_plan[1]["detail"] == (
            f"plan published to its team: {n_officers} officers, {n_crews} crews (6 deployments)"
        )

        # The auditor finds it all by the supervisor's name too.
        mine = await auditor.call("GET", "/api/console/audit", params={"person": boss})
        kinds = [r["action"] for r in reversed(mine["rows"])]
        assert kinds == ["sign_in", "alteration", "alteration", "alteration",
                         "combination", "disclosure"]  # fmt: skip
    finally:
        await supervisor.close()
        await auditor.close()
    db = Database(server.settings.database.url)
    try:
        assert (await verdict(db)).ok
    finally:
        await db.close()


async def test_a_refused_or_empty_change_writes_no_row(server: RunningServer) -> None:
    officers, crews = await team(server, 2, 1)
    supervisor = await api_for(server, await server.add_user(Role.SUPERVISOR))
    try:
        op = await supervisor.call(
            "POST",
            OPS,
            201,
            json=operation_body(
                "Riverside", START, days=7, officers=officers, crews=crews, count=4
            ),
        )
        other = await supervisor.call(
            "POST",
            OPS,
            201,
            json=operation_body("Quay", START, days=7, officers=officers, crews=crews, count=4),
        )
        before = len(await server.rows(AuditRow))

        # Refused: nothing changed, nothing written.
        await supervisor.call("POST", f"{OPS}/{op['id']}/publish", 422)  # no plan yet
        await supervisor.call("PATCH", f"{OPS}/{op['id']}", 409, json={"name": "Quay"})
        await supervisor.call("PATCH", f"{OPS}/{op['id']}", 422, json={"officer_ids": []})
        await supervisor.call("DELETE", f"{OPS}/{op['id']}/places/nope", 404)
        # Accepted but the same settings: nothing altered, no row.
        await supervisor.call("PATCH", f"{OPS}/{op['id']}", json={"name": "Riverside"})
        assert len(await server.rows(AuditRow)) == before

        await supervisor.call("POST", f"{OPS}/{other['id']}/generate")
        await supervisor.call("POST", f"{OPS}/{other['id']}/publish")
        after = len(await server.rows(AuditRow))
        assert after == before + 2
        # A published operation refuses edits, another plan and another publication.
        await supervisor.call("PATCH", f"{OPS}/{other['id']}", 409, json={"area": "Elsewhere"})
        await supervisor.call("POST", f"{OPS}/{other['id']}/generate", 409)
        await supervisor.call("POST", f"{OPS}/{other['id']}/publish", 409)
        assert len(await server.rows(AuditRow)) == after
    finally:
        await supervisor.close()
    db = Database(server.settings.database.url)
    try:
        assert (await verdict(db)).ok
    finally:
        await db.close()

"""The audit trail over REST against a real server: what supervisors do is written (sign
in and out, viewing people, adding an account); an auditor finds it by person, object
and time and exports it (the export is written too); nobody else reads the trail, and an
auditor reads nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dispatch.audit.models import AuditRow
from dispatch.storage.db import Database
from schemas.common import Role
from tests.audit.support import verdict
from tests.operations.support import api_for
from tests.support import PASSWORD, RunningServer


def actions(page: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["action"], r["object_type"]) for r in reversed(page["rows"])]


async def test_an_auditor_finds_what_a_supervisor_did(server: RunningServer) -> None:
    boss = await server.add_user(Role.SUPERVISOR)
    supervisor = await api_for(server, boss)
    auditor = await api_for(server, await server.add_user(Role.AUDITOR))
    try:
        await supervisor.call("GET", "/api/console/people")
        added = await supervisor.call(
            "POST",
            "/api/console/users",
            201,
            json={"username": "newcomer", "role": "officer", "password": PASSWORD},
        )
        assert (await supervisor.http.delete("/api/session")).status_code == 204

        mine = await auditor.call("GET", "/api/console/audit", params={"person": boss})
        assert actions(mine) == [
            ("sign_in", "session"),
            ("consultation", "people"),
            ("collection", "user"),
            ("sign_out", "session"),
        ]
        assert {r["username"] for r in mine["rows"]} == {boss}

        new_id = added["user"]["id"]
        about = await auditor.call(
            "GET", "/api/console/audit", params={"object_type": "user", "object_id": new_id}
        )
        assert actions(about) == [("collection", "user")]

        later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        none = await auditor.call("GET", "/api/console/audit", params={"since": later})
        assert none["rows"] == []

        paged = await auditor.call("GET", "/api/console/audit", params={"limit": 2})
        assert len(paged["rows"]) == 2 and paged["next_before"] is not None
        older = await auditor.call(
            "GET", "/api/console/audit", params={"limit": 2, "before": paged["next_before"]}
        )
        assert older["rows"][0]["seq"] < paged["rows"][-1]["seq"]

        exported = await auditor.call("GET", "/api/console/audit.csv", params={"person": boss})
        lines = exported.strip().splitlines()
        assert lines[0].startswith("seq,at,actor,username") and len(lines) == 5
        last = await auditor.call("GET", "/api/console/audit", params={"limit": 1})
        assert actions(last) == [("disclosure", "audit_trail")]
        assert last["rows"][0]["detail"] == f"person={boss}"
    finally:
        await supervisor.close()
        await auditor.close()
    db = _db(server)
    try:
        assert (await verdict(db)).ok
    finally:
        await db.close()


async def test_the_trail_is_for_auditors_and_auditors_see_only_the_trail(
    server: RunningServer,
) -> None:
    supervisor = await api_for(server, await server.add_user(Role.SUPERVISOR))
    auditor = await api_for(server, await server.add_user(Role.AUDITOR))
    try:
        for path in ("/api/console/audit", "/api/console/audit.csv"):
            refused = await supervisor.call("GET", path, 403)
            assert refused["code"] == "forbidden"
        for path in ("/api/console/board", "/api/console/people", "/api/console/alerts"):
            refused = await auditor.call("GET", path, 403)
            assert refused["code"] == "forbidden"
    finally:
        await supervisor.close()
        await auditor.close()


async def test_a_bad_search_is_refused_with_a_sentence_and_writes_nothing(
    server: RunningServer,
) -> None:
    auditor = await api_for(server, await server.add_user(Role.AUDITOR))
    try:
        before = len(await server.rows(AuditRow))
        for params, word in (
            ({"since": "2026-11-24T20:00:00"}, "since"),
            ({"since": "2026-11-25T00:00:00Z", "until": "2026-11-24T00:00:00Z"}, "until"),
            ({"action": "looked"}, "action"),
            ({"limit": "0"}, "limit"),
        ):
            for path in ("/api/console/audit", "/api/console/audit.csv"):
                if word == "limit" and path.endswith(".csv"):
                    continue  # the export takes every row of the search
                answer = await auditor.call("GET", path, 422, params=params)
                assert answer["code"] == "invalid" and word in answer["message"]
        assert len(await server.rows(AuditRow)) == before
    finally:
        await auditor.close()


def _db(server: RunningServer) -> Database:
    return Database(server.settings.database.url)

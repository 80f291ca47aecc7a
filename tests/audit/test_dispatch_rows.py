"""The alert path writes its audit rows in its own transaction: an alert raised is a
collection by the officer, a crew accepting is a disclosure of her position to that
crew; the chain stays whole; an auditor gets no live socket."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from dispatch.audit.models import AuditRow
from dispatch.storage.db import Database
from dispatch.storage.models import Event
from schemas.common import CrewMode, Role
from tests.audit.support import verdict
from tests.support import CENTRE, RunningServer, north_of


async def test_an_alert_and_its_crew_are_in_the_trail(server: RunningServer) -> None:
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    officer = await server.officer()
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    await officer.raise_alert(CENTRE, alert_id=alert_id)  # a resend writes nothing
    offer = await crew.offer()
    assert (await crew.request("offer.accept", offer_id=offer["id"]))["type"] == "ack"

    db = Database(server.settings.database.url)
    try:
        async with db.session() as s:
            rows = (await s.exec(select(AuditRow).where(AuditRow.object_id == alert_id))).all()
        about = sorted((r.action, r.actor, r.detail or "") for r in rows)
        assert about == [
            (
                "collection",
                officer.session["user_id"],
                "alert raised; her positions are kept while it is open",
            ),
            (
                "disclosure",
                crew.session["user_id"],
                f"officer's position to crew {crew.session['crew_id']}",
            ),
        ]
        assert (await verdict(db)).ok
    finally:
        await db.close()


async def test_an_auditor_gets_no_live_socket(server: RunningServer) -> None:
    session = await server.sign_in(await server.add_user(Role.AUDITOR))
    headers = {"Authorization": f"Bearer {session['token']}"}
    with pytest.raises(InvalidStatus) as refused:
        async with connect(server.ws_url, additional_headers=headers):
            pass
    assert refused.value.response.status_code == 403
    assert b"Audit view" in (refused.value.response.body or b"")


async def test_alerts_raised_together_chain_their_rows_and_number_their_events(
    server: RunningServer,
) -> None:
    """On PostgreSQL the audit row and the events are one statement whose hash the
    database computes: raised at once, every alert has its row, the chain verifies (the
    database's hash is the writer's), and the events are numbered without a gap."""
    crews = [await server.crew(CrewMode.FOOT, north_of(CENTRE, 50 * i)) for i in range(1, 7)]
    officers = [await server.officer() for _ in range(12)]
    answers = await asyncio.gather(*(o.raise_alert(CENTRE) for o in officers))
    alert_ids = {a["result"]["alert_id"] for a in answers}
    assert len(alert_ids) == 12
    assert crews  # crews on duty: the raises take offers and claims too

    db = Database(server.settings.database.url)
    try:
        async with db.session() as s:
            rows = (await s.exec(select(AuditRow).where(AuditRow.action == "collection"))).all()
            seqs = sorted((await s.exec(select(Event.seq))).all())
        assert {r.object_id for r in rows} >= alert_ids
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        assert (await verdict(db)).ok
    finally:
        await db.close()

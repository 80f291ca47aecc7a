"""Retention with real rows on SQLite and PostgreSQL: a dry run shows what is past its
time and changes nothing; the purge erases exactly that, writes an erasure row for each,
keeps what is recent or still in use, and leaves a chain that still verifies from its
checkpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlmodel import select

from dispatch.audit.job import purge
from dispatch.audit.models import AuditRow
from dispatch.audit.retention import Keep
from dispatch.people import add_crew, add_user
from dispatch.storage.db import Database
from dispatch.storage.models import Alert, AlertNote, AlertTrack, Crew, Event
from schemas.common import CrewMode, Role
from tests.audit.support import T0, open_db, sql, verdict, write_rows
from tests.support import PASSWORD

NOW = T0 + timedelta(days=400)
KEEP = Keep(
    crew_positions_h=24,
    incident_tracks_days=365,
    alert_personal_days=365,
    events_days=30,
    audit_days=300,
)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = await open_db(db_url)
    try:
        yield database
    finally:
        await database.close()


async def seed(db: Database) -> None:
    """Old audit rows; an officer; a crew idle with an old fix and one on an alert; an
    alert closed long ago and one closed lately, each with a track and a note; events
    old and new."""
    await write_rows(db, 3, start=T0)  # 400 days old: past audit_days
    officer = await add_user(db, username="officer1", password=PASSWORD, role=Role.OFFICER, now=T0)
    idle = await add_crew(db, callsign="IDLE", mode=CrewMode.FOOT, now=T0, position=(52.05, -2.71))
    busy = await add_crew(db, callsign="BUSY", mode=CrewMode.CAR, now=T0, position=(52.06, -2.72))
    async with db.session() as s:
        for alert_id, closed in (("old", T0 + timedelta(days=1)), ("new", NOW - timedelta(days=2))):
            s.add(
                Alert(
                    id=alert_id,
                    officer_id=officer.id,
                    state="resolved",
                    note="by the bins",
                    lat=52.056512,
                    lon=-2.716034,
                    accuracy=8.0,
                    raised_at=closed,
                    updated_at=closed,
                    closed_at=closed,
                    outcome="arrest",
                    outcome_note="male, 30s",
                    close_reason=None,
                )
            )
        await s.flush()
        for alert_id, closed in (("old", T0), ("new", NOW - timedelta(days=2))):
            for i in range(3):
                s.add(AlertTrack(alert_id=alert_id, lat=52.0 + i, lon=-2.7, at=closed))
            s.add(AlertNote(alert_id=alert_id, at=closed, action="note", text="saw him"))
        busy_row = await s.get(Crew, busy.id)
        assert busy_row is not None
        busy_row.alert_id = "new"
        s.add(busy_row)
        for seq, at in ((1, T0), (2, NOW - timedelta(days=1))):
            s.add(Event(seq=seq, at=at, kind="alert", entity_id="x", payload="{}"))
        await s.commit()
    assert idle.id


async def snapshot(db: Database) -> dict[str, object]:
    async with db.session() as s:
        alerts = {a.id: a for a in (await s.exec(select(Alert))).all()}
        crews = {c.callsign: c for c in (await s.exec(select(Crew))).all()}
        return {
            "tracks": sorted(t.alert_id for t in (await s.exec(select(AlertTrack))).all()),
            "notes": sorted((n.alert_id, n.text) for n in (await s.exec(select(AlertNote))).all()),
            "events": sorted(e.seq for e in (await s.exec(select(Event))).all()),
            "old": (alerts["old"].note, alerts["old"].outcome_note, alerts["old"].lat),
            "new": (alerts["new"].note, alerts["new"].outcome_note, alerts["new"].lat),
            "idle_fix": crews["IDLE"].last_lat,
            "busy_fix": crews["BUSY"].last_lat,
            "audit": len((await s.exec(select(AuditRow))).all()),
        }


async def test_a_dry_run_shows_what_would_go_and_changes_nothing(db: Database) -> None:
    await seed(db)
    before = await snapshot(db)
    result = await purge(db, KEEP, NOW, dry_run=True)
    erased = {e.object_type: e.object_id for e in result.erasures}
    assert len(result.erasures) == len(erased) == 5
    assert erased["audit_trail"] == "1-6"  # 3 written here, 3 by adding the people
    assert erased["alert_track"] == erased["alert_personal"] == "old"
    assert erased["crew_position"] != "" and erased["events"].startswith("before ")
    assert all(line.startswith("would erase") for line in result.lines())
    assert await snapshot(db) == before


async def test_the_purge_erases_what_is_past_its_time_and_audits_it(db: Database) -> None:
    await seed(db)
    audit_before = (await snapshot(db))["audit"]
    result = await purge(db, KEEP, NOW, dry_run=False)
    after = await snapshot(db)
    assert after["tracks"] == ["new", "new", "new"]
    assert after["notes"] == [("new", "saw him"), ("old", "")]
    assert after["events"] == [2]
    assert after["old"] == (None, None, 52.06)  # the position rounded to about 1 km
    assert after["new"] == ("by the bins", "male, 30s", 52.056512)
    assert after["idle_fix"] is None and after["busy_fix"] == 52.06
    # The six old audit rows went; one erasure row per erasure came.
    assert after["audit"] == audit_before - 6 + len(result.erasures)
    async with db.session() as s:
        erased = (await s.exec(select(AuditRow).where(AuditRow.action == "erasure"))).all()
    assert {(r.object_type, r.actor) for r in erased} == {
        (e.object_type, "system") for e in result.erasures
    }
    assert (await verdict(db)).ok  # from the checkpoint on
    again = await purge(db, KEEP, NOW, dry_run=False)
    assert again.erasures == [] and (await verdict(db)).ok


async def test_rows_removed_beyond_a_purge_are_caught(db: Database) -> None:
    await seed(db)
    await purge(db, KEEP, NOW, dry_run=False)
    await sql(db, "DELETE FROM audit_row WHERE seq = 7")  # the oldest left
    result = await verdict(db)
    assert (result.ok, result.bad_seq, result.kind) == (False, 7, "deleted")


async def test_a_checkpoint_moved_without_a_purge_is_caught(db: Database) -> None:
    await seed(db)
    await sql(db, "DELETE FROM audit_row WHERE seq <= 2")
    await sql(
        db,
        "UPDATE audit_chain SET base_seq = 2, base_hash = "
        "(SELECT prev_hash FROM audit_row WHERE seq = 3)",
    )
    result = await verdict(db)
    assert not result.ok and result.kind == "checkpoint"

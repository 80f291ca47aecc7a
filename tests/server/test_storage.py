"""What the database keeps: positions (with the incident while an alert is open), and
events for replay, pruned to the retention."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError

from dispatch.storage import store
from dispatch.storage.models import AlertTrack, Crew, Event
from schemas.common import CrewMode
from tests.support import CENTRE, RunningServer, north_of, settings_for, start_server


async def test_positions_reach_the_database_and_the_officers_track_is_kept_with_her_alert(
    server: RunningServer,
) -> None:
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    officer = await server.officer()
    await officer.position(*north_of(CENTRE, 1))  # before any alert: not kept
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    await crew.offer()
    for metres in (10, 20, 30):
        await officer.position(*north_of(CENTRE, metres))
    await crew.position(*north_of(CENTRE, 90))
    # Flushed every 0.2 s here: where she raised it, then each fix.
    track = await server.rows_once(AlertTrack, lambda rows: len(rows) >= 4)
    assert [t.alert_id for t in track] == [alert_id] * 4
    assert [round(t.lat, 6) for t in track] == [
        round(north_of(CENTRE, m)[0], 6) for m in (0, 10, 20, 30)
    ]
    assert all(t.at.tzinfo is not None for t in track)
    there = north_of(CENTRE, 90)[0]
    (stored,) = await server.rows_once(Crew, lambda rows: rows[0].last_lat == pytest.approx(there))
    assert stored.last_fix_at is not None and stored.last_fix_at.tzinfo is not None


@pytest.fixture
def server_settings() -> dict[str, Any]:
    return {
        "realtime.event_retention": 100,
        "realtime.position_flush_s": 0.2,
        "realtime.rate_burst": 1000,  # this test sends 120 messages at once
    }


async def test_pruned_events_make_a_late_reconnect_take_a_snapshot(server: RunningServer) -> None:
    supervisor = await server.supervisor()
    username, seen = supervisor.session["username"], supervisor.state.seq
    await supervisor.close()
    crew = await server.crew(CrewMode.CAR, north_of(CENTRE, 300))
    for _ in range(60):  # two events each: on duty, off duty
        await crew.request("duty", on=False)
        await crew.request("duty", on=True)

    pruned = await server.services.dispatcher.snapshots.prune_events()
    assert pruned > 0
    assert len(await server.rows(Event)) == 100

    back = await server.connect(username, sync=False)
    assert (await back.sync(last_seq=seen))["result"]["mode"] == "snapshot"
    assert back.state.crews[crew.session["crew_id"]]["state"] == "available"


async def test_positions_a_failed_flush_could_not_write_wait_for_the_next_one(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Flushed only when the test says (no periodic flush gets in between).
    running = await start_server(settings_for(sqlite_url, **{"realtime.position_flush_s": 3600}))
    try:
        crew = await running.crew(CrewMode.FOOT, north_of(CENTRE, 100))
        officer = await running.officer()
        alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
        await crew.offer()
        positions = running.services.dispatcher.positions
        await positions.flush()
        for metres in (10, 20, 30):
            await officer.position(*north_of(CENTRE, metres))
        await crew.position(*north_of(CENTRE, 90))

        # Another connection holds the write lock, and a busy database fails at once.
        monkeypatch.setattr(store, "BUSY_GIVE_UP_S", -1.0)
        path = make_url(running.settings.database.url).database
        assert path is not None
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(OperationalError):
                await positions.flush()
        finally:
            other.execute("COMMIT")
            other.close()

        assert await positions.flush() == 4  # the crew's fix and her three
        track = await running.rows(AlertTrack)
        assert [t.alert_id for t in track] == [alert_id] * 4
        assert [round(t.lat, 6) for t in track] == [
            round(north_of(CENTRE, m)[0], 6) for m in (0, 10, 20, 30)
        ]
        (stored,) = await running.rows(Crew)
        assert stored.last_lat == pytest.approx(north_of(CENTRE, 90)[0])
    finally:
        await running.stop()

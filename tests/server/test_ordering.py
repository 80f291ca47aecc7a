"""Every client gets every event it may see, in order: an event committed by another
process whose message never arrived is read from the event table, not dropped."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import col

from dispatch.realtime.events import KIND_CREW, StoredEvent
from dispatch.storage.db import Database
from dispatch.storage.models import EVENT_SEQ, Counter, Event
from schemas.common import CrewMode
from tests.support import CENTRE, RunningServer, north_of


async def commit_behind_its_back(server: RunningServer, payload: str, crew_id: str) -> int:
    """An event stored as a peer process would (number taken, row written), whose message
    is lost: this server only learns of it from the table."""
    db = Database(server.settings.database.url)
    try:
        async with db.session() as s:
            result = await s.exec(
                update(Counter)
                .where(col(Counter.name) == EVENT_SEQ)
                .values(value=col(Counter.value) + 1)
                .returning(col(Counter.value))
            )
            seq = int(result.scalar_one())
            row = StoredEvent(seq, KIND_CREW, crew_id, payload, None, (crew_id,))
            s.add(Event(**row.row_values(datetime.now(UTC))))
            await s.commit()
        return seq
    finally:
        await db.close()


async def test_a_lost_event_is_filled_from_the_table_in_order(server: RunningServer) -> None:
    supervisor = await server.supervisor()
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    crew_frame = next(f for f in crew.frames if f["type"] == "crew")
    peer_view = {**crew_frame["crew"], "callsign": "RENAMED-BY-PEER"}

    lost = await commit_behind_its_back(server, json.dumps(peer_view), crew.session["crew_id"])
    await crew.request("duty", on=False)  # this server's next event comes after the lost one

    frame = await supervisor.wait_for(lambda f: f.get("seq") == lost + 1)
    seqs = [f["seq"] for f in supervisor.frames if f["type"] == "crew"]
    assert lost in seqs and seqs.index(lost) == seqs.index(lost + 1) - 1
    filled = next(f for f in supervisor.frames if f.get("seq") == lost)
    assert filled["crew"]["callsign"] == "RENAMED-BY-PEER"
    assert frame["crew"]["state"] == "off_duty"

"""Supervisors get live positions together: one `positions` frame carries the newest of
each crew and officer since the last, so a board costs one write per tick, not one
per phone."""

from __future__ import annotations

import json

from websockets.asyncio.client import connect

from schemas.common import CrewMode, Role
from tests.support import CENTRE, RunningServer, north_of


async def test_a_supervisor_gets_the_newest_positions_in_one_frame(server: RunningServer) -> None:
    session = await server.sign_in(await server.add_user(Role.SUPERVISOR))
    headers = {"Authorization": f"Bearer {session['token']}"}
    async with connect(server.ws_url, additional_headers=headers) as ws:
        await ws.send(json.dumps({"type": "sync", "id": "s", "last_seq": None}))
        crews = [await server.crew(CrewMode.FOOT, north_of(CENTRE, m)) for m in (100, 200)]
        await crews[0].position(*north_of(CENTRE, 150))  # supersedes its first fix
        batches: list[list[dict[str, object]]] = []
        while sum(len(b) for b in batches) < 2:
            frame = json.loads(await ws.recv())
            assert frame["type"] != "position"  # never one by one
            if frame["type"] == "positions":
                batches.append(frame["positions"])
        newest = {p["subject_id"]: p for batch in batches for p in batch}
        assert set(newest) == {c.session["crew_id"] for c in crews}
        lat = north_of(CENTRE, 150)[0]
        assert any(p["lat"] == lat for p in newest.values())


async def test_an_officer_leaves_the_supervisors_map_when_her_alert_ends(
    server: RunningServer,
) -> None:
    supervisor = await server.supervisor()
    officer = await server.officer()
    her = officer.session["user_id"]

    def hers(start: int) -> list[dict[str, object]]:
        return [
            f
            for f in supervisor.frames[start:]
            if f.get("type") == "position" and f.get("subject_id") == her
        ]

    await officer.position(*north_of(CENTRE, 5))  # no alert, no deployment live: to nobody
    ack = await officer.raise_alert(CENTRE)
    alert_id = ack["result"]["alert_id"]
    await officer.position(*north_of(CENTRE, 20))
    await supervisor.wait_for(lambda f: f.get("subject_id") == her and f["lat"] != CENTRE[0])
    assert north_of(CENTRE, 5)[0] not in [p["lat"] for p in hers(0)]

    assert (await officer.request("alert.cancel", alert_id=alert_id))["type"] == "ack"
    await supervisor.wait_for(lambda f: f["type"] == "alert" and f["alert"]["state"] == "cancelled")
    mark = len(supervisor.frames)
    await officer.position(*north_of(CENTRE, 40))
    # A crew's fix after hers: once it arrives, hers would have come before it.
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 300))
    await supervisor.wait_for(lambda f: f.get("subject_id") == crew.session["crew_id"], start=mark)
    assert hers(mark) == []

    reloaded = await server.connect(supervisor.session["username"])
    snapshot = next(f for f in reloaded.frames if f["type"] == "snapshot")
    assert her not in {p["subject_id"] for p in snapshot["positions"]}

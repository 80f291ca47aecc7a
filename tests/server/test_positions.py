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

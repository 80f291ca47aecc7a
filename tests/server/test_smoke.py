from __future__ import annotations

from schemas.common import CrewMode
from tests.support import CENTRE, RunningServer, north_of


async def test_alert_reaches_nearest_crew(server: RunningServer) -> None:
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 200))
    officer = await server.officer()
    ack = await officer.raise_alert(CENTRE)
    assert ack["type"] == "ack", ack
    offer = await crew.offer()
    assert offer["alert_id"] == ack["result"]["alert_id"]
    await officer.close()
    await crew.close()

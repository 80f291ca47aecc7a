"""The supervisors' board over REST: supervisors only, the same picture as the websocket."""

from __future__ import annotations

import httpx

from schemas.common import CrewMode
from tests.support import CENTRE, RunningServer, north_of


async def test_supervisor_sees_the_board_and_others_are_refused(server: RunningServer) -> None:
    crew = await server.crew(CrewMode.CAR, north_of(CENTRE, 500))
    officer = await server.officer()
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    await crew.offer()
    supervisor = await server.supervisor()

    async with httpx.AsyncClient(base_url=server.base) as http:
        auth = {"Authorization": f"Bearer {supervisor.session['token']}"}
        board = (await http.get("/api/console/board", headers=auth)).json()
        assert [a["id"] for a in board["alerts"]] == [alert_id]
        assert [o["alert_id"] for o in board["offers"]] == [alert_id]
        assert [c["callsign"] for c in board["crews"]] == [crew.callsign]
        assert board["seq"] >= supervisor.state.seq

        for client in (officer, crew):
            refused = await http.get(
                "/api/console/board", headers={"Authorization": f"Bearer {client.session['token']}"}
            )
            assert refused.status_code == 403
            assert refused.json()["code"] == "forbidden"
        anonymous = await http.get("/api/console/board")
        assert anonymous.status_code == 401 and anonymous.json()["code"] == "auth_missing"
        missing = await http.get("/no/such/page")
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"

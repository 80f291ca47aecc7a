"""GET /api/console/alerts/{id}.cap on a real server (SQLite and PostgreSQL): a supervisor
gets the alert as a CAP 1.2 message that the OASIS schema accepts, as raised and once
closed; the export is audited; others are refused, an unknown id is a 404 with a
sentence."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

import httpx

from dispatch.audit.models import AuditRow
from tests.cap.support import WAIT, cap_schema, params, text
from tests.support import CENTRE, RunningServer


async def cap_of(server: RunningServer, token: str, alert_id: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base) as http:
        return await http.get(
            f"/api/console/alerts/{alert_id}.cap", headers={"Authorization": f"Bearer {token}"}
        )


async def test_a_supervisor_exports_an_alert_as_raised_and_as_closed(
    server: RunningServer,
) -> None:
    sup = await server.supervisor()
    officer = await server.officer()
    alert_id = (await officer.raise_alert(CENTRE, category="following"))["result"]["alert_id"]
    await sup.wait_for(lambda f: f["type"] == "alert" and f["alert"]["id"] == alert_id, WAIT)

    raised = await cap_of(server, sup.session["token"], alert_id)

    assert raised.status_code == 200, raised.text
    assert raised.headers["content-type"].startswith("application/cap+xml")
    cap_schema().validate(raised.text)
    root = ET.fromstring(raised.content)
    assert text(root, "cap:msgType") == "Alert"
    assert text(root, "cap:scope") == "Restricted"
    assert text(root, "cap:identifier") == f"alert-{alert_id}"
    assert text(root, "cap:info/cap:event") == "Officer requests assistance: following"
    assert text(root, "cap:info/cap:area/cap:circle") == "52.05650,-2.71600 0.050"
    assert officer.session["user_id"] not in raised.text
    assert officer.session["username"] not in raised.text

    ack = await sup.request(
        "alert.close", alert_id=alert_id, outcome="words_of_advice", reason="By radio", timeout=WAIT
    )
    assert ack["type"] == "ack", ack
    closed = await cap_of(server, sup.session["token"], alert_id)

    cap_schema().validate(closed.text)
    root = ET.fromstring(closed.content)
    assert text(root, "cap:msgType") == "Update"
    assert text(root, "cap:info/cap:responseType") == "AllClear"
    assert params(root)["outcome"] == "words_of_advice"
    assert "By radio" not in closed.text
    exports = [
        r
        for r in await server.rows(AuditRow)
        if r.action == "disclosure" and r.object_id == alert_id and "CAP" in (r.detail or "")
    ]
    assert [r.actor for r in exports] == [sup.session["user_id"]] * 2


async def test_others_are_refused_and_an_unknown_alert_is_a_404_with_a_sentence(
    server: RunningServer,
) -> None:
    sup = await server.supervisor()
    officer = await server.officer()
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]

    unknown = await cap_of(server, sup.session["token"], "no-such-alert")
    refused = await cap_of(server, officer.session["token"], alert_id)

    assert unknown.status_code == 404
    body: dict[str, Any] = unknown.json()
    assert body["code"] == "not_found" and "no-such-alert" in body["message"]
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"

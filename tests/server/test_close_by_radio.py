"""A supervisor closes an alert handled by radio, whatever its open state: with no crew
(unassigned), while it is being offered (dispatching), or urgent with one crew on it and
another offered. Open offers are withdrawn, crews are freed, outcome and reason are kept.
Real server, real websocket clients, SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from dispatch.storage.models import Alert, AlertNote, Crew, Offer
from schemas.common import CrewMode
from tests.support import CENTRE, Client, RunningServer, north_of

WAIT = 20  # seconds: a generous bound on a busy machine, never a measured time


@pytest.fixture
def server_settings() -> dict[str, Any]:
    # Offers stay open for the whole test: only the supervisor's close ends them.
    return {"dispatch.offer_timeout_s": 600, "realtime.position_flush_s": 0.2}


async def alert_row(server: RunningServer, alert_id: str) -> Alert:
    return next(a for a in await server.rows(Alert) if a.id == alert_id)


async def crew_row(server: RunningServer, client: Client) -> Crew:
    return next(c for c in await server.rows(Crew) if c.callsign == client.callsign)


async def seen(client: Client, alert_id: str, state: str) -> dict[str, Any]:
    frame = await client.wait_for(
        lambda f: (
            f["type"] == "alert" and f["alert"]["id"] == alert_id and f["alert"]["state"] == state
        ),
        WAIT,
    )
    alert: dict[str, Any] = frame["alert"]
    return alert


async def test_an_unassigned_alert_closes_with_an_outcome_and_a_reason(
    server: RunningServer,
) -> None:
    sup = await server.supervisor()
    officer = await server.officer()
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    await seen(sup, alert_id, "unassigned")  # no crew anywhere: escalated

    ack = await sup.request(
        "alert.close",
        alert_id=alert_id,
        outcome="offender_not_found",
        reason="Handled by radio: Bravo 2 walked her to the station",
        timeout=WAIT,
    )

    assert ack["type"] == "ack", ack
    assert ack["result"]["state"] == "resolved"
    closed = await seen(sup, alert_id, "resolved")
    assert closed["taken_by"]  # closing took it in hand
    assert alert_id not in sup.state.alerts  # gone from the board
    await officer.wait_for(
        lambda f: f["type"] == "alert" and f["alert"]["status"] == "resolved", WAIT
    )
    row = await alert_row(server, alert_id)
    assert row.state == "resolved" and row.outcome == "offender_not_found"
    assert row.closed_at is not None
    assert "walked her to the station" in (row.close_reason or "")
    kept = [(n.action, n.text) for n in await server.rows(AlertNote) if n.alert_id == alert_id]
    assert ("close", "Handled by radio: Bravo 2 walked her to the station") in kept


async def test_a_dispatching_alert_closes_its_open_offer_is_withdrawn_and_the_crew_is_free(
    server: RunningServer,
) -> None:
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 150))
    sup = await server.supervisor()
    officer = await server.officer()
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    offer = await crew.offer(WAIT)
    assert offer["alert_id"] == alert_id
    await seen(sup, alert_id, "dispatching")

    ack = await sup.request(
        "alert.close", alert_id=alert_id, outcome="false_alarm", reason="She radioed: all fine"
    )

    assert ack["type"] == "ack", ack
    assert ack["result"]["state"] == "resolved"
    await crew.wait_for(
        lambda f: (
            f["type"] == "offer"
            and f["offer"]["id"] == offer["id"]
            and f["offer"]["state"] == "withdrawn"
        ),
        WAIT,
    )
    assert not crew.state.offers  # nothing left on the crew's screen
    offer_row = next(o for o in await server.rows(Offer) if o.id == offer["id"])
    assert offer_row.state == "withdrawn" and offer_row.closed_at is not None
    freed = await crew_row(server, crew)
    assert (freed.state, freed.offer_id, freed.alert_id) == ("available", None, None)
    row = await alert_row(server, alert_id)
    assert (row.state, row.outcome) == ("resolved", "false_alarm")

    # Free again: the next alert is offered to the same crew.
    second = (await officer.raise_alert(north_of(CENTRE, 20)))["result"]["alert_id"]
    again = await crew.wait_for(
        lambda f: (
            f["type"] == "offer"
            and f["offer"]["alert_id"] == second
            and f["offer"]["state"] == "offered"
        ),
        WAIT,
    )
    assert again["offer"]["id"] != offer["id"]


async def test_an_urgent_alert_with_a_crew_on_it_and_another_offered_closes(
    server: RunningServer,
) -> None:
    first = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    second = await server.crew(CrewMode.FOOT, north_of(CENTRE, 300))
    sup = await server.supervisor()
    officer = await server.officer()
    alert_id = (await officer.raise_alert(CENTRE, urgent=True))["result"]["alert_id"]
    taken = await first.offer(WAIT)
    pending = await second.offer(WAIT)
    assert (await first.request("offer.accept", offer_id=taken["id"]))["type"] == "ack"
    await seen(sup, alert_id, "assigned")

    ack = await sup.request(
        "alert.close", alert_id=alert_id, outcome="arrest", reason="Arrest made, told by radio"
    )

    assert ack["result"]["state"] == "resolved", ack
    await second.wait_for(
        lambda f: (
            f["type"] == "offer"
            and f["offer"]["id"] == pending["id"]
            and f["offer"]["state"] == "withdrawn"
        ),
        WAIT,
    )
    freed = [await crew_row(server, first), await crew_row(server, second)]
    assert [(c.state, c.alert_id, c.offer_id) for c in freed] == [("available", None, None)] * 2


async def test_a_blank_reason_or_a_closed_alert_is_refused_and_changes_nothing(
    server: RunningServer,
) -> None:
    sup = await server.supervisor()
    officer = await server.officer()
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    await seen(sup, alert_id, "unassigned")

    blank = await sup.request("alert.close", alert_id=alert_id, outcome="other", reason="   ")
    assert (blank["type"], blank["code"]) == ("error", "invalid"), blank
    assert "reason" in blank["message"]
    row = await alert_row(server, alert_id)
    assert (row.state, row.outcome, row.taken_by) == ("unassigned", None, None)

    await sup.request("alert.cancel", alert_id=alert_id, reason="False alarm, she phoned")
    late = await sup.request("alert.close", alert_id=alert_id, outcome="arrest", reason="late")
    assert (late["type"], late["code"]) == ("error", "illegal_transition"), late
    assert late["message"]
    row = await alert_row(server, alert_id)
    assert (row.state, row.outcome) == ("cancelled", None)

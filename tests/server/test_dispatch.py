"""An officer's alert reaches the nearest crew: ranking, accept, decline, deadline, escalation.

Real server on loopback, real websocket clients, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dispatch.storage.models import Alert
from schemas.common import CrewMode
from tests.support import CENTRE, Client, RunningServer, north_of


async def offers_so_far(crew: Client) -> list[dict[str, Any]]:
    """Frames on one socket arrive in order: once the ack of a later request is in,
    an offer sent before it would be too."""
    await crew.request("duty", on=True)
    return crew.offers_received()


async def no_offer_yet(crew: Client) -> None:
    assert await offers_so_far(crew) == []


# 1. Ranking ----------------------------------------------------------------------------------


async def test_nearest_fresh_crew_gets_the_offer_and_a_stale_one_is_passed_over(
    server: RunningServer,
) -> None:
    two_minutes_ago = datetime.now(UTC) - timedelta(seconds=120)
    stale_near = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100), fix_at=two_minutes_ago)
    fresh_foot = await server.crew(CrewMode.FOOT, north_of(CENTRE, 300))
    far_car = await server.crew(CrewMode.CAR, north_of(CENTRE, 1500))
    officer = await server.officer()

    ack = await officer.raise_alert(CENTRE)

    # Foot at 300 m: 300 x 1.4 / 2.0 = 210 s. Car at 1.5 km: 1500 x 1.4 / 9.0 = 233 s.
    # The stale foot crew at 100 m would be 70 s, but its fix is two minutes old.
    offer = await fresh_foot.offer()
    assert offer["alert_id"] == ack["result"]["alert_id"]
    assert offer["eta_s"] == pytest.approx(210, abs=2)
    assert offer["distance_m"] == pytest.approx(300, abs=3)
    await no_offer_yet(stale_near)
    await no_offer_yet(far_car)


async def test_eta_model_prefers_a_far_car_over_a_slow_foot_crew(server: RunningServer) -> None:
    foot = await server.crew(CrewMode.FOOT, north_of(CENTRE, 900))
    car = await server.crew(CrewMode.CAR, north_of(CENTRE, 1200))
    officer = await server.officer()

    await officer.raise_alert(CENTRE)

    # Foot at 900 m: 900 x 1.4 / 2.0 = 630 s. Car at 1.2 km: 1200 x 1.4 / 9.0 = 187 s.
    offer = await car.offer()
    assert offer["eta_s"] == pytest.approx(187, abs=2)
    await no_offer_yet(foot)


# 2. Accept and the assignment ----------------------------------------------------------------


async def test_accepted_offer_tells_the_officer_and_streams_her_position(
    server: RunningServer,
) -> None:
    crew = await server.crew(CrewMode.BIKE, north_of(CENTRE, 400))
    supervisor = await server.supervisor()
    officer = await server.officer()
    ack = await officer.raise_alert(CENTRE, category="following")
    alert_id = ack["result"]["alert_id"]
    assert ack["result"]["status"] == "received"

    offer = await crew.offer()
    assert offer["category"] == "following"
    accepted = await crew.request("offer.accept", offer_id=offer["id"])
    assert accepted["type"] == "ack", accepted

    await officer.wait_for(
        lambda f: f["type"] == "alert" and f["alert"]["status"] == "crew_assigned"
    )
    assigned = await supervisor.wait_for(
        lambda f: f["type"] == "alert" and f["alert"]["status"] == "crew_assigned"
    )
    assert assigned["alert"]["crews"][0]["callsign"] == crew.callsign
    assert assigned["alert"]["crews"][0]["eta_s"] == pytest.approx(400 * 1.4 / 5.0, abs=2)

    # She moves; the crew sees each fix, tagged with her alert.
    for metres in (10, 20, 30):
        await officer.position(*north_of(CENTRE, metres))
    last = north_of(CENTRE, 30)
    seen = await crew.wait_for(
        lambda f: f["type"] == "position" and f["lat"] == pytest.approx(last[0])
    )
    assert seen["alert_id"] == alert_id and seen["role"] == "officer"

    for status, shown in (("en_route", "crew_assigned"), ("on_scene", "crew_on_scene")):
        reply = await crew.request("assignment.status", alert_id=alert_id, status=status)
        assert reply["type"] == "ack", reply
        await officer.wait_for(
            lambda f, s=shown: f["type"] == "alert" and f["alert"]["status"] == s
        )
    reply = await crew.request(
        "assignment.status", alert_id=alert_id, status="resolved", outcome="words_of_advice"
    )
    assert reply["type"] == "ack", reply
    done = await officer.wait_for(
        lambda f: f["type"] == "alert" and f["alert"]["status"] == "resolved"
    )
    assert done["alert"]["outcome"] == "words_of_advice"
    crew_state = await crew.wait_for(
        lambda f: f["type"] == "crew" and f["crew"]["state"] == "available"
    )
    assert crew_state["crew"]["alert_id"] is None


async def test_resolving_needs_an_outcome(server: RunningServer) -> None:
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    officer = await server.officer()
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    offer = await crew.offer()
    await crew.request("offer.accept", offer_id=offer["id"])
    reply = await crew.request("assignment.status", alert_id=alert_id, status="resolved")
    assert reply["type"] == "error" and reply["code"] == "invalid"


# 3. Decline, deadline, escalation to supervisors, and a crew coming on duty later ------------


@pytest.fixture
def server_settings() -> dict[str, Any]:
    return {"dispatch.offer_timeout_s": 1.0, "realtime.position_flush_s": 0.2}


async def test_decline_and_deadline_move_on_then_supervisors_and_a_new_crew_get_it(
    server: RunningServer,
) -> None:
    supervisor = await server.supervisor()
    near = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    further = await server.crew(CrewMode.FOOT, north_of(CENTRE, 500))
    officer = await server.officer()
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]

    first = await near.offer()
    declined = await near.request("offer.decline", offer_id=first["id"], reason="busy")
    assert declined["type"] == "ack"

    second = await further.offer()  # ... and it lets the 1 s deadline pass
    lapsed = await further.wait_for(
        lambda f: (
            f["type"] == "offer"
            and f["offer"]["id"] == second["id"]
            and f["offer"]["state"] == "expired"
        ),
        timeout=30,  # a bound for a busy machine: the lapse itself is the 1 s deadline
    )
    assert lapsed["offer"]["alert_id"] == alert_id

    escalated = await supervisor.wait_for(
        lambda f: f["type"] == "alert" and f["alert"]["state"] == "unassigned"
    )
    assert escalated["alert"]["id"] == alert_id
    assert escalated["alert"]["status"] == "received"  # what the officer is shown

    late = await server.crew(CrewMode.CAR, north_of(CENTRE, 2000))
    offer = await late.offer()
    assert offer["alert_id"] == alert_id
    accepted = await late.request("offer.accept", offer_id=offer["id"])
    assert accepted["type"] == "ack"
    await officer.wait_for(
        lambda f: f["type"] == "alert" and f["alert"]["status"] == "crew_assigned"
    )


async def test_accepting_an_expired_offer_is_refused(server: RunningServer) -> None:
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    officer = await server.officer()
    await officer.raise_alert(CENTRE)
    offer = await crew.offer()
    await crew.wait_for(lambda f: f["type"] == "offer" and f["offer"]["state"] == "expired", 4)
    reply = await crew.request("offer.accept", offer_id=offer["id"])
    assert reply["type"] == "error" and reply["code"] == "illegal_transition"


async def test_urgent_alert_takes_two_crews(server: RunningServer) -> None:
    crews = [await server.crew(CrewMode.FOOT, north_of(CENTRE, m)) for m in (100, 200, 300)]
    supervisor = await server.supervisor()
    officer = await server.officer()
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    first = await crews[0].offer()
    await crews[0].request("offer.accept", offer_id=first["id"])

    escalated = await officer.request("alert.escalate", alert_id=alert_id)
    assert escalated["type"] == "ack" and escalated["result"]["crews_needed"] == 2
    second = await crews[1].offer()
    await crews[1].request("offer.accept", offer_id=second["id"])
    both = await supervisor.wait_for(
        lambda f: f["type"] == "alert" and len(f["alert"]["crews"]) == 2
    )
    assert both["alert"]["urgent"] is True
    # Her phone is told help is coming, not which crews (issue 12: her view is masked).
    mine = await officer.wait_for(lambda f: f["type"] == "alert" and f["alert"]["urgent"])
    assert mine["alert"]["crews"] == [] and mine["alert"]["status"] == "crew_assigned"
    await no_offer_yet(crews[2])


# 4. Idempotent raise -------------------------------------------------------------------------


async def test_the_same_alert_id_twice_and_across_a_reconnect_is_one_alert(
    server: RunningServer,
) -> None:
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    officer = await server.officer()
    username = officer.session["username"]
    alert_id = uuid.uuid4().hex

    first = await officer.raise_alert(CENTRE, alert_id=alert_id)
    again = await officer.raise_alert(CENTRE, alert_id=alert_id)
    await officer.close()
    phone_back = await server.connect(username)
    third = await phone_back.raise_alert(CENTRE, alert_id=alert_id)

    assert [r["result"]["created"] for r in (first, again, third)] == [True, False, False]
    assert {r["result"]["alert_id"] for r in (first, again, third)} == {alert_id}
    await crew.offer()
    assert len(await offers_so_far(crew)) == 1
    assert [a.id for a in await server.rows(Alert)] == [alert_id]


async def test_a_resend_that_says_urgent_makes_the_stored_alert_urgent(
    server: RunningServer,
) -> None:
    """Her first press was stored but its ack lost; she held again for urgent help, and
    her phone resends the raise saying so: the stored alert becomes urgent."""
    near = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    further = await server.crew(CrewMode.FOOT, north_of(CENTRE, 300))
    officer = await server.officer()
    alert_id = uuid.uuid4().hex

    first = await officer.raise_alert(CENTRE, alert_id=alert_id)
    await near.offer(timeout=30)
    again = await officer.raise_alert(CENTRE, alert_id=alert_id, urgent=True)
    await further.offer(timeout=30)  # a second crew, as for any urgent alert

    assert [r["result"]["created"] for r in (first, again)] == [True, False]
    (alert,) = await server.rows(Alert)
    assert alert.urgent and alert.crews_needed == server.settings.dispatch.urgent_crews


async def test_a_note_is_stored_without_control_characters(server: RunningServer) -> None:
    """PostgreSQL refuses a NUL in text: the alert is stored, the stray characters not."""
    officer = await server.officer()
    reply = await officer.raise_alert(CENTRE, note="blue\x00 car\x07, north")
    assert reply["type"] == "ack", reply
    (alert,) = await server.rows(Alert)
    assert alert.note == "blue car, north"


async def test_another_officer_cannot_take_an_alert_id(server: RunningServer) -> None:
    a, b = await server.officer(), await server.officer()
    alert_id = uuid.uuid4().hex
    await a.raise_alert(CENTRE, alert_id=alert_id)
    reply = await b.raise_alert(CENTRE, alert_id=alert_id)
    assert reply["type"] == "error" and reply["code"] == "conflict"


# 5. Two alerts at once -----------------------------------------------------------------------


async def test_two_alerts_one_free_crew_one_offer_and_the_other_escalates(
    server: RunningServer,
) -> None:
    supervisor = await server.supervisor()
    crew = await server.crew(CrewMode.CAR, north_of(CENTRE, 300))
    officers = [await server.officer(), await server.officer()]

    acks = await asyncio.gather(*(o.raise_alert(CENTRE) for o in officers))
    ids = {a["result"]["alert_id"] for a in acks}

    offer = await crew.offer()
    assert offer["alert_id"] in ids
    other = (ids - {offer["alert_id"]}).pop()
    await supervisor.wait_for(
        lambda f: (
            f["type"] == "alert"
            and f["alert"]["id"] == other
            and f["alert"]["state"] == "unassigned"
        )
    )
    assert len(await offers_so_far(crew)) == 1


async def test_two_alerts_two_crews_each_crew_holds_one_offer(server: RunningServer) -> None:
    crews = [await server.crew(CrewMode.FOOT, north_of(CENTRE, m)) for m in (100, 150)]
    officers = [await server.officer(), await server.officer()]
    await asyncio.gather(*(o.raise_alert(CENTRE) for o in officers))
    offers = [await c.offer() for c in crews]
    assert offers[0]["alert_id"] != offers[1]["alert_id"]
    for c in crews:
        assert len(await offers_so_far(c)) == 1

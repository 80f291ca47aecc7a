"""No fix, no alert no more: an officer whose phone never had a fix raises at once as
"position unknown". On a live deployment it is offered by the deployment's place; with
none it goes straight to the supervisors. Her first fix places it and moves it on, ranked
by her position. Real server, real websocket clients, both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from dispatch.storage.models import Alert, AlertNote, Offer
from schemas.common import CrewMode
from tests.operations.support import api_for
from tests.operations.test_scheduler import plan_one
from tests.support import (
    CENTRE,
    Client,
    ManualClock,
    RunningServer,
    north_of,
    settings_for,
    start_server,
)

WAIT = 20  # seconds: a generous bound on a busy machine, never a measured time
T0 = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)


async def raise_without_fix(officer: Client) -> dict[str, Any]:
    """What her page sends when her phone has no fix yet: no position at all."""
    ack = await officer.request("alert.raise", alert_id=uuid.uuid4().hex)
    assert ack["type"] == "ack", ack
    return ack


async def seen(client: Client, alert_id: str, predicate: Any) -> dict[str, Any]:
    frame = await client.wait_for(
        lambda f: f["type"] == "alert" and f["alert"]["id"] == alert_id and predicate(f["alert"]),
        WAIT,
    )
    alert: dict[str, Any] = frame["alert"]
    return alert


async def offers_of(server: RunningServer, alert_id: str) -> list[Offer]:
    return [o for o in await server.rows(Offer) if o.alert_id == alert_id]


async def test_with_no_deployment_it_goes_to_the_supervisors_until_her_first_fix(
    server: RunningServer,
) -> None:
    her = north_of(CENTRE, 800)
    crew = await server.crew(CrewMode.CAR, north_of(her, 200))  # free, and near her
    sup = await server.supervisor()
    officer = await server.officer()

    ack = await raise_without_fix(officer)
    alert_id = ack["result"]["alert_id"]
    assert ack["result"]["created"] is True

    # Nowhere to offer it from: unassigned for the supervisors, no crew offered it.
    view = await seen(sup, alert_id, lambda a: a["state"] == "unassigned")
    assert (view["position_unknown"], view["lat"], view["lon"]) == (True, None, None)
    assert await offers_of(server, alert_id) == []
    assert crew.offers_received() == []

    # Her first fix places it, and the crew nearest her is offered it.
    await officer.position(*her)
    offer = await crew.offer(WAIT)
    assert offer["alert_id"] == alert_id
    placed = await seen(sup, alert_id, lambda a: not a["position_unknown"])
    assert (placed["lat"], placed["lon"]) == her
    assert placed["state"] == "dispatching"
    assert 150 < offer["distance_m"] < 250
    notes = [n.action for n in await server.rows(AlertNote) if n.alert_id == alert_id]
    assert "located" in notes

    # A second fix changes nothing more of the alert (her positions flow as usual).
    await officer.position(*north_of(her, 30))
    row = next(a for a in await server.rows(Alert) if a.id == alert_id)
    assert (row.lat, row.lon, row.position_source) == (her[0], her[1], None)


async def test_on_a_live_deployment_it_is_offered_by_the_place_then_by_her_first_fix(
    db_url: str,
) -> None:
    clock = ManualClock(T0)
    settings = settings_for(db_url, **{"dispatch.offer_timeout_s": 600})
    server = await start_server(settings, clock)
    try:
        officer = await server.officer()
        team_crew = await server.crew(CrewMode.CAR, CENTRE, on_duty=False)
        planner = await server.supervisor()
        api = await api_for(server, planner.session["username"])
        dep = await plan_one(server, api, officer, team_crew, T0 + timedelta(hours=3))
        await api.close()
        clock.set(datetime.fromisoformat(dep["starts_at"]))
        await server.services.scheduler.run_due()
        live = await officer.wait_for(
            lambda f: f["type"] == "deployment" and f["deployment"]["state"] == "live", WAIT
        )
        place = (live["deployment"]["place"]["lat"], live["deployment"]["place"]["lon"])
        supervisor = await server.supervisor()  # signed in now: a console session idles out
        her = north_of(place, 3000)  # where she really is, far from the place
        # By the place: the team's crew, then the one south of it; by her: the one by her.
        await team_crew.position(*north_of(place, 100))
        south = await server.crew(CrewMode.CAR, north_of(place, -600))
        by_her = await server.crew(CrewMode.CAR, north_of(her, 100))

        ack = await raise_without_fix(officer)
        alert_id = ack["result"]["alert_id"]
        view = await seen(supervisor, alert_id, lambda a: a["state"] == "dispatching")
        assert view["position_unknown"] is True
        assert (view["lat"], view["lon"]) == place
        first = await team_crew.offer(WAIT)
        assert first["alert_id"] == alert_id and 50 < first["distance_m"] < 150
        row = next(a for a in await server.rows(Alert) if a.id == alert_id)
        assert (row.deployment_id, row.position_source) == (dep["id"], "place")

        # Her first fix places the alert; the open offer stands.
        await officer.position(*her)
        placed = await seen(supervisor, alert_id, lambda a: not a["position_unknown"])
        assert (placed["lat"], placed["lon"]) == her
        assert [o.crew_id for o in await offers_of(server, alert_id)] == [
            team_crew.session["crew_id"]
        ]

        # From now on crews are ranked by her position: the crew by her, not the one
        # next nearest the place.
        declined = await team_crew.request("offer.decline", offer_id=first["id"])
        assert declined["type"] == "ack", declined
        second = await by_her.offer(WAIT)
        assert second["alert_id"] == alert_id and second["distance_m"] < 150
        assert south.offers_received() == []
    finally:
        await server.stop()

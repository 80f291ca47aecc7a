"""No screen goes stale: reconnecting clients get what they missed, or a snapshot, and
"old state + events" always equals a fresh snapshot (Zulip's check)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from schemas.common import CrewMode
from tests.support import (
    CENTRE,
    WAIT_S,
    Client,
    RunningServer,
    north_of,
    settings_for,
    start_server,
)


async def until_equal(live: Client, fresh: Client, timeout: float = WAIT_S) -> None:
    """The live client's events may still be in flight: wait until both states agree."""
    deadline = asyncio.get_running_loop().time() + timeout
    while live.state.as_dict() != fresh.state.as_dict():
        if asyncio.get_running_loop().time() > deadline:
            assert live.state.as_dict() == fresh.state.as_dict()
        await asyncio.sleep(0.05)


async def offer_for(crew: Client, alert_id: str) -> dict[str, Any]:
    frame = await crew.wait_for(
        lambda f: (
            f["type"] == "offer"
            and f["offer"]["alert_id"] == alert_id
            and f["offer"]["state"] == "offered"
        )
    )
    offer: dict[str, Any] = frame["offer"]
    return offer


async def busy_night(server: RunningServer, officer: Client, crews: list[Client]) -> str:
    """Alerts raised, declined, accepted, escalated, detailed, on scene, resolved, cancelled.
    Returns the id of the alert left open."""
    first = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    offer = await crews[0].offer()
    await crews[0].request("offer.decline", offer_id=offer["id"])
    offer = await crews[1].offer()
    await crews[1].request("offer.accept", offer_id=offer["id"])
    await officer.request("alert.detail", alert_id=first, category="verbal", note="grey hoodie")
    await officer.request("alert.escalate", alert_id=first)
    offer = await offer_for(crews[2], first)
    await crews[2].request("offer.accept", offer_id=offer["id"])
    await crews[1].request("assignment.status", alert_id=first, status="on_scene")

    second = (await officer.raise_alert(north_of(CENTRE, 50)))["result"]["alert_id"]
    await offer_for(crews[0], second)
    await officer.request("alert.cancel", alert_id=second, reason="false alarm")
    await crews[2].request("assignment.status", alert_id=first, status="resolved", outcome="arrest")
    third = (await officer.raise_alert(north_of(CENTRE, 80)))["result"]["alert_id"]
    return third


async def make_crews(server: RunningServer) -> list[Client]:
    return [await server.crew(CrewMode.FOOT, north_of(CENTRE, m)) for m in (100, 200, 300)]


@pytest.mark.parametrize("role", ["supervisor", "officer", "crew"])
async def test_old_state_plus_events_equals_a_fresh_snapshot(
    server: RunningServer, role: str
) -> None:
    officer = await server.officer()
    crews = await make_crews(server)
    watchers: dict[str, Callable[[], Awaitable[Client]]] = {
        "supervisor": server.supervisor,
        "officer": lambda: server.connect(officer.session["username"]),
        "crew": lambda: server.connect(crews[1].session["username"]),
    }
    live = await watchers[role]()
    await busy_night(server, officer, crews)
    fresh = await watchers[role]()
    await until_equal(live, fresh)
    empty = {"alerts": {}, "offers": {}, "crews": {}, "deployments": {}}
    assert fresh.state.as_dict() != empty or role == "crew"


async def test_reconnect_with_last_seq_gets_exactly_what_was_missed(server: RunningServer) -> None:
    officer = await server.officer()
    crews = await make_crews(server)
    supervisor = await server.supervisor()
    username = supervisor.session["username"]
    seen = supervisor.state.seq
    before: dict[str, Any] = supervisor.state.as_dict()
    await supervisor.close()

    await busy_night(server, officer, crews)

    back = await server.connect(username, sync=False)
    back.state.alerts, back.state.offers, back.state.crews = (
        dict(before["alerts"]),
        dict(before["offers"]),
        dict(before["crews"]),
    )
    ack = await back.sync(last_seq=seen)
    assert ack["result"]["mode"] == "replay"
    replayed = [f for f in back.frames if f["type"] in ("alert", "offer", "crew")]
    assert replayed and all(f["seq"] > seen for f in replayed)
    seqs = [f["seq"] for f in replayed]
    assert seqs == sorted(set(seqs))  # increasing, no duplicates
    assert not any(f["type"] == "snapshot" for f in back.frames)

    fresh = await server.supervisor()
    await until_equal(back, fresh)


async def test_reconnect_with_a_number_too_old_gets_a_snapshot(db_url: str) -> None:
    server = await start_server(settings_for(db_url, **{"realtime.replay_limit": 5}))
    try:
        officer = await server.officer()
        crews = await make_crews(server)
        supervisor = await server.supervisor()
        username, seen = supervisor.session["username"], supervisor.state.seq
        await supervisor.close()
        await busy_night(server, officer, crews)  # far more than 5 events

        back = await server.connect(username, sync=False)
        ack = await back.sync(last_seq=seen)
        assert ack["result"]["mode"] == "snapshot"
        fresh = await server.supervisor()
        await until_equal(back, fresh)
    finally:
        await server.stop()


async def test_an_officer_sent_nothing_lately_is_replayed_from_memory_past_the_ring(
    db_url: str,
) -> None:
    """Her own index reaches back past the ring: nothing of hers left it, so her phone
    is replayed (nothing) rather than sent a snapshot; the same number from another
    sign-in gets a snapshot."""
    server = await start_server(settings_for(db_url, **{"realtime.replay_limit": 5}))
    try:
        quiet = await server.officer()  # the sign-in's first sync, here
        seen, session = quiet.state.seq, quiet.session
        await quiet.close()
        officer = await server.officer()
        crews = await make_crews(server)
        await busy_night(server, officer, crews)  # far more than 5 events, none hers

        back = await Client.open(server.ws_url, session)  # the same sign-in
        ack = await back.sync(last_seq=seen)
        assert (ack["result"]["mode"], ack["result"]["replayed"]) == ("replay", 0)

        again = await server.connect(session["username"], sync=False)  # a new sign-in
        ack = await again.sync(last_seq=seen)
        assert ack["result"]["mode"] == "snapshot"
    finally:
        await server.stop()


async def test_a_number_from_the_future_gets_a_snapshot(server: RunningServer) -> None:
    supervisor = await server.supervisor()
    ack = await supervisor.sync(last_seq=10**9)
    assert ack["result"]["mode"] == "snapshot"


async def test_events_are_held_until_the_client_syncs(server: RunningServer) -> None:
    officer = await server.officer()
    quiet = await server.connect((await server.supervisor()).session["username"], sync=False)
    await officer.raise_alert(CENTRE)
    await asyncio.sleep(0.3)
    assert not [f for f in quiet.frames if f.get("seq")]
    await quiet.sync(last_seq=0)
    assert [f for f in quiet.frames if f["type"] == "alert"]

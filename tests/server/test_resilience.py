"""Connections that drop, a hub that fails, replays too big for a client: nothing is lost."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import pytest

from dispatch.storage.models import Crew
from schemas.common import CrewMode
from schemas.views import CrewState
from tests.realtime.test_hub import REDIS_URL, redis_available
from tests.support import (
    CENTRE,
    IN_CI,
    RunningServer,
    eventually,
    north_of,
    settings_for,
    start_server,
)


@pytest.fixture
def server_settings() -> dict[str, Any]:
    return {"dispatch.offer_timeout_s": 20, "dispatch.disconnect_grace_s": 0.5}


class TestWithinTheGrace:
    """A grace long enough for a loaded machine to reconnect in: the test waits for the
    server to have started the grace, not for a clock to run out."""

    @pytest.fixture
    def server_settings(self) -> dict[str, Any]:
        return {"dispatch.offer_timeout_s": 120, "dispatch.disconnect_grace_s": 60}

    async def test_a_crew_that_drops_and_comes_back_within_the_grace_keeps_its_offer(
        self, server: RunningServer
    ) -> None:
        crews = server.services.dispatcher.crews
        crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
        other = await server.crew(CrewMode.FOOT, north_of(CENTRE, 400))
        officer = await server.officer()
        await officer.raise_alert(CENTRE)
        offer = await crew.offer()
        await crew.close()  # a tunnel, a lift: the phone loses signal for a moment
        await eventually(lambda: crews.withdrawal(offer["crew_id"]) is not None)
        grace = crews.withdrawal(offer["crew_id"])
        assert grace is not None
        back = await server.connect(crew.session["username"])
        assert list(back.state.offers) == [offer["id"]]
        await eventually(grace.done)
        assert grace.cancelled()  # the grace is called off: nothing will withdraw it
        assert (await back.request("offer.accept", offer_id=offer["id"]))["type"] == "ack"
        assert other.offers_received() == []


async def test_a_crew_gone_past_the_grace_loses_the_offer_even_if_it_says_1012(
    server: RunningServer,
) -> None:
    leaving = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    staying = await server.crew(CrewMode.FOOT, north_of(CENTRE, 400))
    officer = await server.officer()
    await officer.raise_alert(CENTRE)
    await leaving.offer()
    await leaving.ws.close(code=1012)  # a client cannot pretend the server is restarting
    offer = await staying.offer()
    assert offer["distance_m"] == pytest.approx(400, abs=3)


async def test_a_crew_whose_offer_was_withdrawn_can_be_offered_it_again(
    server: RunningServer,
) -> None:
    supervisor = await server.supervisor()
    crew = await server.crew(CrewMode.BIKE, north_of(CENTRE, 300))
    officer = await server.officer()
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    await crew.offer()
    await crew.close()
    await supervisor.wait_for(
        lambda f: f["type"] == "alert" and f["alert"]["state"] == "unassigned"
    )
    back = await server.connect(crew.session["username"])
    await back.position(*north_of(CENTRE, 300))
    # Its last fix is still fresh, so the offer may come before its sync (in the snapshot)
    # or after it (as an event).
    frame = await back.wait_for(
        lambda f: (
            (f["type"] == "offer" and f["offer"]["state"] == "offered")
            or (f["type"] == "snapshot" and bool(f["offers"]))
        )
    )
    offer = frame["offer"] if frame["type"] == "offer" else frame["offers"][0]
    assert offer["alert_id"] == alert_id


async def test_a_failed_publish_after_commit_still_acks_and_dispatches(
    server: RunningServer,
) -> None:
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    officer = await server.officer()
    hub = server.services.hub
    real_publish = hub.publish
    failures = iter([True])

    async def flaky_publish(channel: str, message: str) -> None:
        if next(failures, False):
            raise ConnectionError("hub unreachable")
        await real_publish(channel, message)

    hub.publish = flaky_publish  # type: ignore[method-assign]
    ack = await officer.raise_alert(CENTRE)
    assert ack["type"] == "ack", ack  # stored, so never reported as "nothing changed"
    offer = await crew.offer()
    assert offer["alert_id"] == ack["result"]["alert_id"]


async def test_a_crew_change_while_memory_is_read_back_is_not_undone_by_it(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a failed transaction memory is read back from the crew rows. A crew's event
    that arrives while the rows are in hand is newer than its row may be: it stands."""
    ctx = server.services.dispatcher.ctx
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    (crew_id,) = [c.id for c in await server.rows(Crew) if c.callsign == crew.callsign]
    replies: list[dict[str, Any]] = []
    open_session = ctx.db.session

    @contextlib.asynccontextmanager
    async def rows_then_off_duty() -> AsyncIterator[Any]:
        async with open_session() as session:
            if not replies:
                read = session.exec

                async def read_then_change(*args: Any, **kwargs: Any) -> Any:
                    rows = await read(*args, **kwargs)  # still on duty in these
                    replies.append(await crew.request("duty", on=False, timeout=30))
                    return rows

                monkeypatch.setattr(session, "exec", read_then_change)
            yield session

    monkeypatch.setattr(ctx.db, "session", rows_then_off_duty)
    await ctx.resync_after_failure()

    assert [r["type"] for r in replies] == ["ack"]
    assert ctx.crews.states[crew_id] == CrewState.OFF_DUTY
    assert not ctx.index.is_ready(crew_id)  # never offered an alert while off duty


async def test_a_phones_illegal_move_is_refused_without_reading_memory_back(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An illegal move changes nothing, like any refusal: it does not make the server read
    every crew and open alert back from the database (a phone could ask for that at will)."""
    ctx = server.services.dispatcher.ctx
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    officer = await server.officer()
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    offer = await crew.offer(timeout=30)
    assert (await crew.request("offer.accept", offer_id=offer["id"], timeout=30))["type"] == "ack"
    on_scene = {"alert_id": alert_id, "status": "on_scene", "timeout": 30}
    assert (await crew.request("assignment.status", **on_scene))["type"] == "ack"
    resyncs: list[None] = []
    read_back = ctx.resync_after_failure

    async def counted() -> None:
        resyncs.append(None)
        await read_back()

    monkeypatch.setattr(ctx, "resync_after_failure", counted)
    back = await crew.request("assignment.status", alert_id=alert_id, status="en_route", timeout=30)

    assert (back["type"], back["code"]) == ("error", "illegal_transition"), back
    assert resyncs == []


async def test_a_replay_bigger_than_the_outbox_becomes_a_snapshot(db_url: str) -> None:
    server = await start_server(settings_for(db_url, **{"realtime.outbox_limit": 10}))
    try:
        supervisor = await server.supervisor()
        username, seen = supervisor.session["username"], supervisor.state.seq
        await supervisor.close()
        for _ in range(4):  # each crew: created, on duty => several events each
            await server.crew(CrewMode.CAR, north_of(CENTRE, 500))
        officer = await server.officer()
        for _ in range(3):
            await officer.raise_alert(CENTRE)
        back = await server.connect(username, sync=False)
        ack = await back.sync(last_seq=seen)
        assert ack["result"]["mode"] == "snapshot"
        assert back.ws.close_code is None
    finally:
        await server.stop()


@pytest.fixture
async def redis_server(sqlite_url: str) -> AsyncIterator[RunningServer]:
    if not await redis_available():
        if IN_CI:
            pytest.fail("Redis is not reachable on 127.0.0.1:6379 (required under CI=true)")
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    server = await start_server(settings_for(sqlite_url, **{"pubsub.url": REDIS_URL}))
    try:
        yield server
    finally:
        await server.stop()


async def test_over_redis_an_alert_reaches_the_crew(redis_server: RunningServer) -> None:
    crew = await redis_server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    officer = await redis_server.officer()
    ack = await officer.raise_alert(CENTRE)
    assert (await crew.offer())["alert_id"] == ack["result"]["alert_id"]


async def test_when_redis_drops_the_subscription_clients_resync_and_carry_on(
    redis_server: RunningServer,
) -> None:
    supervisor = await redis_server.supervisor()
    # Kill this server's subscriber connections inside Redis: a real failure.
    subprocess.run(  # noqa: ASYNC221 (a short command)
        ["redis-cli", "-h", "127.0.0.1", "-p", "6379", "CLIENT", "KILL", "TYPE", "pubsub"],
        check=True,
        capture_output=True,
        timeout=10,
    )
    await asyncio.wait_for(supervisor.reader, 5)
    assert supervisor.ws.close_code == 1013

    back = await redis_server.connect(supervisor.session["username"])
    crew = await redis_server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    officer = await redis_server.officer()
    ack = await officer.raise_alert(CENTRE)
    assert (await crew.offer())["alert_id"] == ack["result"]["alert_id"]
    await back.wait_for(
        lambda f: f["type"] == "alert" and f["alert"]["id"] == ack["result"]["alert_id"]
    )

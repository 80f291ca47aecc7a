"""Two real processes behind HAProxy on PostgreSQL and Redis: one dispatch, failover,
ordered delivery, same-id raises, and logs with nothing personal in them."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

from sqlmodel import col, select

from dispatch.storage.db import Database
from dispatch.storage.models import Alert, Event, User
from schemas.common import CrewMode, Role
from tests.cluster.conftest import ClusterUnderTest
from tests.support import CENTRE, Client, north_of


async def stored_events(cluster: ClusterUnderTest, after: int) -> list[int]:
    db = Database(cluster.settings.database.url)
    try:
        async with db.session() as s:
            rows = await s.exec(select(Event.seq).where(col(Event.seq) > after))
            return sorted(rows.all())
    finally:
        await db.close()


def seqs(client: Client) -> list[int]:
    return [f["seq"] for f in client.frames if isinstance(f.get("seq"), int)]


async def test_a_crew_on_one_process_gets_the_alert_raised_on_the_other(
    cluster: ClusterUnderTest,
) -> None:
    a, b = cluster.node(0), cluster.node(1)
    crew = await a.crew(CrewMode.FOOT, north_of(CENTRE, 150))
    officer = await b.officer()
    ack = await officer.raise_alert(CENTRE)
    assert ack["type"] == "ack", ack
    offer = await crew.offer(timeout=10)
    assert offer["alert_id"] == ack["result"]["alert_id"]
    # And back: accepted on A, the officer on B sees her crew coming.
    assert (await crew.request("offer.accept", offer_id=offer["id"]))["type"] == "ack"
    await officer.wait_for(
        lambda f: f["type"] == "alert" and f["alert"]["state"] == "assigned", timeout=10
    )


async def test_kill_9_of_the_process_holding_an_offer_moves_it_on_and_its_phones_resync(
    cluster: ClusterUnderTest,
) -> None:
    a, b = cluster.node(0), cluster.node(1)
    near = await a.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    far = await b.crew(CrewMode.FOOT, north_of(CENTRE, 900))
    officer = await a.officer()
    ack = await officer.raise_alert(CENTRE)
    alert_id = ack["result"]["alert_id"]
    assert (await near.offer(timeout=10))["alert_id"] == alert_id

    killed = time.monotonic()
    await asyncio.to_thread(cluster.launcher.kill, 0)  # the near crew's phone stays away
    offer = await far.offer(timeout=40)
    moved_after = time.monotonic() - killed
    print(f"offer moved to the next crew {moved_after:.2f} s after kill -9 (target 5 s)")
    assert offer["alert_id"] == alert_id
    # Not the deadline: the offer timeout is 60 s in this cluster.
    assert moved_after < 30

    # Her phone comes back through the balancer (to the live process) and resyncs.
    back = await cluster.connect(officer.session["username"], last_seq=officer.state.seq)
    await back.wait_for(
        lambda f: (
            (f["type"] == "alert" and f["alert"]["id"] == alert_id)
            or (f["type"] == "snapshot" and any(x["id"] == alert_id for x in f["alerts"]))
            or f["type"] == "synced"
        )
    )
    assert alert_id in back.state.alerts or alert_id in officer.state.alerts
    assert back.state.alerts.get(alert_id, officer.state.alerts[alert_id])["state"] in (
        "raised",
        "dispatching",
    )


async def test_every_supervisor_on_either_process_gets_every_event_in_order(
    cluster: ClusterUnderTest,
) -> None:
    a, b = cluster.node(0), cluster.node(1)
    supervisors = [await a.supervisor(), await b.supervisor()]
    for i in range(3):
        await a.crew(CrewMode.CAR, north_of(CENTRE, 200 + 100 * i))
        await b.crew(CrewMode.CAR, north_of(CENTRE, 250 + 100 * i))
    start = max(s.state.seq for s in supervisors)
    officers = [await (a if i % 2 else b).officer() for i in range(20)]

    async def five(officer: Client) -> list[dict[str, object]]:
        return list(
            await asyncio.gather(*(officer.raise_alert(north_of(CENTRE, 10 * k)) for k in range(5)))
        )

    acks = [ack for batch in await asyncio.gather(*(five(o) for o in officers)) for ack in batch]
    assert len(acks) == 100 and all(a["type"] == "ack" for a in acks), acks[:3]
    # Wait until both supervisors have the newest stored event, then compare.
    expected = await stored_events(cluster, start)
    for sup in supervisors:
        await sup.wait_for(lambda f: f.get("seq") == expected[-1], timeout=30)
    expected = await stored_events(cluster, start)
    for sup in supervisors:
        got = [s for s in seqs(sup) if s > start]
        assert got == sorted(got), "out of order"
        assert len(got) == len(set(got)), "delivered twice"
        assert got == expected[: len(got)] and set(expected) - set(got) <= {
            s for s in expected if s > got[-1]
        }, f"missing {sorted(set(expected[: len(got)]) - set(got))[:10]}"
    raised = {str(a["result"]["alert_id"]) for a in acks}  # type: ignore[index]
    for sup in supervisors:
        assert raised <= set(sup.state.alerts)


async def test_five_concurrent_raises_of_one_id_across_processes_give_one_alert(
    cluster: ClusterUnderTest,
) -> None:
    a, b = cluster.node(0), cluster.node(1)
    username = await a.add_user(Role.OFFICER)
    phones = [await (a if i % 2 else b).connect(username) for i in range(5)]
    await a.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    alert_id = uuid.uuid4().hex
    acks = await asyncio.gather(*(p.raise_alert(CENTRE, alert_id=alert_id) for p in phones))
    assert [x["type"] for x in acks] == ["ack"] * 5, acks
    assert {x["result"]["alert_id"] for x in acks} == {alert_id}
    alerts = await cluster.rows(Alert)
    assert [x.id for x in alerts] == [alert_id]


async def test_no_log_line_of_a_whole_scenario_names_an_officer_or_her_position(
    cluster: ClusterUnderTest,
) -> None:
    a, b = cluster.node(0), cluster.node(1)
    crew = await a.crew(CrewMode.FOOT, north_of(CENTRE, 120))
    officer = await b.officer()
    here = (52.0571234, -2.7154321)
    alert_id = uuid.uuid4().hex
    acks = await asyncio.gather(
        officer.raise_alert(here, alert_id=alert_id),
        (await a.connect(officer.session["username"])).raise_alert(here, alert_id=alert_id),
    )
    assert all(x["type"] == "ack" for x in acks)
    offer = await crew.offer(timeout=10)
    await officer.request("position", position={"lat": here[0], "lon": here[1], "accuracy": 4})
    await officer.ws.send("{not json")
    await officer.ws.send(json.dumps({"type": "alert.raise", "id": "x", "alert_id": 7}))
    assert (await crew.request("offer.accept", offer_id=offer["id"]))["type"] == "ack"
    second = await b.officer()
    assert (await second.raise_alert(here))["type"] == "ack"  # no crew free: unassigned
    await asyncio.sleep(1.0)  # the position flush and the heartbeats run meanwhile

    users = {u.username: u for u in await cluster.rows(User)}
    her = users[officer.session["username"]]
    logs = cluster.logs()
    assert logs.strip(), "the processes logged nothing at all"
    secrets = (her.id, her.username, her.display_name, "52.05712", "-2.71543", "2.71543")
    for secret in (*secrets, officer.session["token"], crew.session["token"]):
        assert secret not in logs, f"{secret!r} is in the logs"
    # Every log line is one JSON object (the start-up banner is printed, not logged).
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    assert any(line.get("alert_id") for line in lines), "no line names its alert"

"""Redis restarted mid-run, PostgreSQL unreachable for 30 s: nothing acknowledged is
lost, phones get the ack or an error (never silence), and afterwards every client
resyncs and the cluster dispatches again without a restart."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx

from dispatch.storage.models import Alert
from schemas.common import CrewMode
from tests.cluster.conftest import ClusterUnderTest, NodeUnderTest, running_cluster
from tests.cluster.tcp_proxy import TcpProxy
from tests.support import CENTRE, Client, north_of

OUTAGE_S = 30


async def raise_until_acked(
    node: NodeUnderTest, officer: Client, alert_id: str, tries: int = 40
) -> tuple[Client, dict[str, Any]]:
    """What her phone does: resend the same alert (reconnecting if need be) until acked."""
    for _ in range(tries):
        if officer.reader.done():
            try:
                officer = await node.connect(officer.session["username"], last_seq=None)
            except Exception:
                await asyncio.sleep(0.5)
                continue
        try:
            answer = await officer.raise_alert(CENTRE, alert_id=alert_id)
        except AssertionError:
            continue
        if answer["type"] == "ack":
            return officer, answer
        await asyncio.sleep(0.5)
    raise AssertionError(f"alert {alert_id} was never acknowledged")


async def wait_ready(cluster: ClusterUnderTest, timeout_s: float = 60) -> None:
    """Every process ready, and the balancer sending to them again."""
    async with httpx.AsyncClient() as http:
        for base in [n.base for n in cluster.launcher.nodes] + [cluster.base]:
            for _ in range(int(timeout_s * 4)):
                try:
                    if (await http.get(base + "/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.25)
            else:
                raise AssertionError(f"{base} never became ready again")


async def test_redis_restarted_then_postgres_away_30_s_loses_nothing_acknowledged(
    tmp_path: Path,
) -> None:
    proxy = TcpProxy(5432)
    await proxy.start()
    try:
        async with running_cluster(tmp_path, through=proxy) as cluster:
            await run_outages(cluster, proxy)
    finally:
        await proxy.stop()


async def run_outages(cluster: ClusterUnderTest, proxy: TcpProxy) -> None:
    a, b = cluster.node(0), cluster.node(1)
    supervisor = await b.supervisor()
    first = await a.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    officer = await b.officer()
    before = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    offer = await first.offer(timeout=10)
    assert offer["alert_id"] == before
    assert (await first.request("offer.accept", offer_id=offer["id"]))["type"] == "ack"
    second = await a.crew(CrewMode.FOOT, north_of(CENTRE, 200))

    # 1. Redis restarted: every socket is told to resync (1013); they come back and sync.
    cluster.redis.stop()
    await cluster.redis.start()
    for client in (supervisor, second, officer):
        await asyncio.wait_for(client.reader, 20)
    supervisor = await b.connect(supervisor.session["username"], last_seq=supervisor.state.seq)
    second = await a.connect(second.session["username"], last_seq=second.state.seq)
    officer = await b.connect(officer.session["username"], last_seq=officer.state.seq)
    after_redis = uuid.uuid4().hex
    officer, _ = await raise_until_acked(b, officer, after_redis)
    assert (await second.offer(timeout=15))["alert_id"] == after_redis  # across processes
    await supervisor.wait_for(
        lambda f: f["type"] == "alert" and f["alert"]["id"] == after_redis, timeout=15
    )

    # 2. PostgreSQL unreachable for 30 s: an alert gets an error, never a false ack.
    proxy.cut()
    during = uuid.uuid4().hex
    answer = await officer.request(
        "alert.raise",
        timeout=30,
        alert_id=during,
        position={"lat": CENTRE[0], "lon": CENTRE[1], "accuracy": 8.0},
    )
    assert answer["type"] == "error", answer
    async with httpx.AsyncClient() as http:
        ready = await http.get(cluster.launcher.nodes[0].base + "/readyz", timeout=10)
    assert ready.status_code == 503 and ready.json()["code"] == "unavailable"
    await asyncio.sleep(OUTAGE_S)
    proxy.restore()
    await wait_ready(cluster)

    # Her phone resends; it is stored once and offered; every client resyncs.
    officer, _ = await raise_until_acked(b, officer, during)
    third = await a.crew(CrewMode.FOOT, north_of(CENTRE, 300))
    assert (await third.offer(timeout=20))["alert_id"] == during
    watcher = await cluster.connect(supervisor.session["username"], last_seq=None)
    for alert_id in (before, after_redis, during):
        assert alert_id in watcher.state.alerts
    stored = {x.id for x in await cluster.rows(Alert)}
    assert {before, after_redis, during} <= stored and len(stored) == 3

"""/healthz, /readyz and /metrics: what the balancer and the operators read."""

from __future__ import annotations

import httpx

from dispatch.storage.models import User
from schemas.common import CrewMode
from tests.support import CENTRE, RunningServer, north_of, settings_for, start_server


async def test_healthz_says_alive_and_nothing_else(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.base) as http:
        assert (await http.get("/healthz")).json() == {"ok": True}
        ready = await http.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"ready": True}


async def test_metrics_count_the_alert_path_and_name_nobody(server: RunningServer) -> None:
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    officer = await server.officer()
    here = (52.0561234, -2.7167654)
    await officer.raise_alert(here)
    offer = await crew.offer()
    assert (await crew.request("offer.accept", offer_id=offer["id"]))["type"] == "ack"
    async with httpx.AsyncClient(base_url=server.base) as http:
        text = (await http.get("/metrics")).text
    for line in (
        'dispatch_connections{role="crew"} 1.0',
        'dispatch_connections{role="officer"} 1.0',
        'dispatch_alerts_total{state="dispatching"} 1.0',
        'dispatch_offers_total{state="offered"} 1.0',
        'dispatch_offers_total{state="accepted"} 1.0',
        "dispatch_offer_to_accept_seconds_count 1.0",
        "dispatch_alert_to_offer_seconds_count 1.0",
        'dispatch_events_total{kind="alert",way="committed"}',
        'dispatch_events_total{kind="alert",way="delivered"}',
        "dispatch_events_gap_filled",
        "dispatch_gc_pause_seconds",
        "dispatch_loop_stall_seconds",
        "dispatch_db_pool_in_use",
    ):
        assert line in text, line
    for user in await server.rows(User):
        assert user.id not in text and user.username not in text
    assert "52.05612" not in text and "2.71676" not in text


async def test_metrics_are_refused_to_an_address_not_allowed(sqlite_url: str) -> None:
    running = await start_server(settings_for(sqlite_url, **{"metrics.allow": ["192.0.2.1"]}))
    try:
        async with httpx.AsyncClient(base_url=running.base) as http:
            refused = await http.get("/metrics")
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    finally:
        await running.stop()

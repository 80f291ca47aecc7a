"""Builders for incident and report tests: an operation with a live deployment, and
alerts in it played out by real websocket clients on a clock the test moves."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from schemas.common import CrewMode
from tests.operations.support import Api, api_for, operation_body
from tests.support import (
    CENTRE,
    Client,
    ManualClock,
    RunningServer,
    north_of,
    settings_for,
    start_server,
)

# Offers must not run out while the test moves the clock by minutes.
INCIDENT_SETTINGS = {"dispatch.offer_timeout_s": 900, "scheduler.brief_lead_min": 60}


@contextlib.asynccontextmanager
async def clocked_server(
    db_url: str, start: datetime
) -> AsyncIterator[tuple[RunningServer, ManualClock]]:
    """A server whose clock the test moves, from `start`, with the incident settings."""
    clock = ManualClock(start)
    server = await start_server(settings_for(db_url, **INCIDENT_SETTINGS), clock)
    try:
        yield server, clock
    finally:
        await server.stop()


@dataclass
class Scene:
    server: RunningServer
    clock: ManualClock
    api: Api  # the supervisor's REST client
    supervisor: Client
    officer: Client
    crew: Client
    operation: dict[str, Any]
    deployment: dict[str, Any]


async def live_operation(server: RunningServer, clock: ManualClock, name: str) -> Scene:
    """An operation of two places whose one deployment (an officer and a car crew) is
    live from now on."""
    officer = await server.officer()
    crew = await server.crew(CrewMode.CAR, north_of(CENTRE, 400), on_duty=False)
    supervisor = await server.supervisor()
    api = await api_for(server, supervisor.session["username"])
    body = operation_body(
        name,
        clock.now + timedelta(hours=2),
        days=0.25,
        officers=[officer.session["user_id"]],
        crews=[crew.session["crew_id"]],
        count=1,
        n_places=2,
        min_duration_min=60,
        max_duration_min=60,
    )
    op = await api.call("POST", "/api/operations", 201, json=body)
    await api.call("POST", f"/api/operations/{op['id']}/generate")
    dep = (await api.call("POST", f"/api/operations/{op['id']}/publish"))["deployments"][0]
    start = datetime.fromisoformat(dep["starts_at"])
    clock.set(start - timedelta(minutes=60))
    await server.services.scheduler.run_due()  # the brief
    clock.set(start)
    await server.services.scheduler.run_due()  # live: the crew comes on duty
    await crew.wait_for(lambda f: f["type"] == "crew" and f["crew"]["state"] == "available")
    await crew.position(*north_of(CENTRE, 400))
    return Scene(server, clock, api, supervisor, officer, crew, op, dep)


async def fresh_fix(scene: Scene) -> None:
    """The crew's position, as of the (moved) clock: matching ignores stale fixes."""
    await scene.crew.position(*north_of(CENTRE, 400))


async def ok(client: Client, type_: str, **body: Any) -> dict[str, Any]:
    reply = await client.request(type_, **body)
    assert reply["type"] == "ack", reply
    return reply


async def accepted_and_resolved(
    scene: Scene, *, note: str, accept_after_s: float, on_scene_after_s: float, outcome: str
) -> str:
    """The officer raises; the crew accepts after `accept_after_s`, is on scene
    `on_scene_after_s` after the alert, and resolves it ten minutes later."""
    await fresh_fix(scene)
    start = len(scene.crew.frames)
    raised = scene.clock.now
    ack = await scene.officer.raise_alert(CENTRE, category="following", note=note)
    alert_id: str = ack["result"]["alert_id"]
    offer = await scene.crew.offer(start=start)
    scene.clock.set(raised + timedelta(seconds=accept_after_s))
    await ok(scene.crew, "offer.accept", offer_id=offer["id"])
    scene.clock.set(raised + timedelta(seconds=on_scene_after_s))
    await ok(scene.crew, "assignment.status", alert_id=alert_id, status="on_scene")
    scene.clock.advance(timedelta(minutes=10))
    await ok(
        scene.crew,
        "assignment.status",
        alert_id=alert_id,
        status="resolved",
        outcome=outcome,
        note="offender identified",
    )
    return alert_id


async def declined_then_assigned_by_hand(scene: Scene) -> str:
    """The only crew declines after ten seconds and the alert is escalated; a minute after
    it was raised a supervisor assigns the crew by hand (so 60 s to accept); the crew is
    on scene at five minutes; the supervisor closes it with an outcome."""
    await fresh_fix(scene)
    start = len(scene.crew.frames)
    raised = scene.clock.now
    ack = await scene.officer.raise_alert(CENTRE, category="intimidation", note="group at bench")
    alert_id: str = ack["result"]["alert_id"]
    offer = await scene.crew.offer(start=start)
    scene.clock.set(raised + timedelta(seconds=10))
    await ok(scene.crew, "offer.decline", offer_id=offer["id"], reason="wrong side of the river")
    await scene.supervisor.wait_for(
        lambda f: (
            f["type"] == "alert"
            and f["alert"]["id"] == alert_id
            and f["alert"]["state"] == "unassigned"
        )
    )
    scene.clock.set(raised + timedelta(seconds=60))
    await ok(
        scene.supervisor,
        "alert.assign",
        alert_id=alert_id,
        crew_id=scene.crew.session["crew_id"],
        reason="reached by radio",
    )
    scene.clock.set(raised + timedelta(seconds=300))
    await ok(scene.crew, "assignment.status", alert_id=alert_id, status="on_scene")
    scene.clock.advance(timedelta(minutes=5))
    await ok(
        scene.supervisor,
        "alert.close",
        alert_id=alert_id,
        outcome="offender_not_found",
        reason="crew reported by radio",
    )
    return alert_id

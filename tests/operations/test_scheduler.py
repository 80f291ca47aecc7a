"""The scheduler carries out a published plan: brief, live, stand-down; the database is
the truth across restarts. Time is driven by the test's clock, except in the one test
that proves APScheduler itself fires on time (a few seconds of real time)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from dispatch.core.deployments import Step
from dispatch.storage.models import Alert
from schemas.common import CrewMode
from tests.operations.support import Api, api_for, operation_body, publish_one_soon
from tests.support import (
    CENTRE,
    Client,
    ManualClock,
    RunningServer,
    north_of,
    settings_for,
    start_server,
)

T0 = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
SETTINGS = {"dispatch.offer_timeout_s": 5, "scheduler.brief_lead_min": 60}


def deployment_frames(client: Client) -> list[dict[str, Any]]:
    return [f["deployment"] for f in client.frames if f["type"] == "deployment"]


async def plan_one(
    server: RunningServer, api: Api, officer: Client, crew: Client, start: datetime
) -> dict[str, Any]:
    body = operation_body(
        "Night walk",
        start,
        days=0.25,
        officers=[officer.session["user_id"]],
        crews=[crew.session["crew_id"]],
        count=1,
        n_places=2,
        min_duration_min=60,
        max_duration_min=60,
    )
    op = await api.call("POST", "/api/operations", 201, json=body)
    plan = await api.call("POST", f"/api/operations/{op['id']}/generate")
    assert len(plan["deployments"]) == 1
    published = await api.call("POST", f"/api/operations/{op['id']}/publish")
    dep: dict[str, Any] = published["deployments"][0]
    assert dep["state"] == "published"
    return dep


async def test_brief_live_and_stand_down_reach_only_the_team(db_url: str) -> None:
    clock = ManualClock(T0)
    server = await start_server(settings_for(db_url, **SETTINGS), clock)
    try:
        officer, outsider = await server.officer(), await server.officer()
        crew = await server.crew(CrewMode.CAR, north_of(CENTRE, 400), on_duty=False)
        other_crew = await server.crew(CrewMode.CAR, north_of(CENTRE, 300), on_duty=False)
        supervisor = await server.supervisor()
        api = await api_for(server, supervisor.session["username"])
        dep = await plan_one(server, api, officer, crew, T0 + timedelta(hours=3))
        start = datetime.fromisoformat(dep["starts_at"])
        end = datetime.fromisoformat(dep["ends_at"])
        scheduler = server.services.scheduler

        # Published: supervisors see it, the team does not yet; its job is at the brief.
        await supervisor.wait_for(
            lambda f: f["type"] == "deployment" and f["deployment"]["state"] == "published"
        )
        assert scheduler.jobs()[dep["id"]] == start - timedelta(minutes=60)
        clock.set(start - timedelta(minutes=61))
        assert await scheduler.run_due() == {}
        assert deployment_frames(officer) == [] and deployment_frames(crew) == []

        # The brief reaches the officer and the crew of the team, and no one else.
        clock.set(start - timedelta(minutes=60))
        assert await scheduler.run_due() == {dep["id"]: [Step.BRIEF]}
        for member in (officer, crew):
            brief = await member.wait_for(lambda f: f["type"] == "deployment")
            assert brief["deployment"]["state"] == "briefed"
            assert brief["deployment"]["place"]["name"] == dep["place_name"]
        assert scheduler.jobs()[dep["id"]] == start

        # At the start it goes live and the team's crew comes on duty (the other does not).
        clock.set(start)
        assert await scheduler.run_due() == {dep["id"]: [Step.START]}
        await officer.wait_for(
            lambda f: f["type"] == "deployment" and f["deployment"]["state"] == "live"
        )
        await crew.wait_for(lambda f: f["type"] == "crew" and f["crew"]["state"] == "available")
        fresh = await server.connect(officer.session["username"])
        assert [d["state"] for d in fresh.state.deployments.values()] == ["live"]

        # An alert raised while live belongs to the deployment, and the crew takes it.
        await crew.position(*north_of(CENTRE, 400))
        ack = await officer.raise_alert(CENTRE)
        offer = await crew.offer()
        assert (await crew.request("offer.accept", offer_id=offer["id"]))["type"] == "ack"
        await crew.wait_for(lambda f: f["type"] == "crew" and f["crew"]["state"] == "assigned")
        await officer.wait_for(
            lambda f: f["type"] == "alert" and f["alert"]["status"] == "crew_assigned"
        )
        alert = next(a for a in await server.rows(Alert) if a.id == ack["result"]["alert_id"])
        assert alert.deployment_id == dep["id"]

        # The stand-down ends the deployment but never drops the open alert.
        clock.set(end)
        assert await scheduler.run_due() == {dep["id"]: [Step.END]}
        await officer.wait_for(
            lambda f: f["type"] == "deployment" and f["deployment"]["state"] == "ended"
        )
        assert dep["id"] not in scheduler.jobs()
        assert [a["status"] for a in officer.state.alerts.values()] == ["crew_assigned"]
        assert crew.state.crews[crew.session["crew_id"]]["state"] == "assigned"
        resolved = await crew.request(
            "assignment.status", alert_id=alert.id, status="resolved", outcome="words_of_advice"
        )
        assert resolved["type"] == "ack"

        # Nothing of the deployment ever reached the outsiders.
        for stranger in (outsider, other_crew):
            again = await server.connect(stranger.session["username"])
            assert again.state.deployments == {}
            assert deployment_frames(stranger) == [] and deployment_frames(again) == []
        assert other_crew.state.crews[other_crew.session["crew_id"]]["state"] == "off_duty"
        await api.close()
    finally:
        await server.stop()


async def test_a_restart_starts_late_or_reports_missed(sqlite_url: str) -> None:
    clock = ManualClock(T0)
    settings = settings_for(sqlite_url, **SETTINGS)
    server = await start_server(settings, clock)
    officer = await server.officer()
    crew = await server.crew(CrewMode.FOOT, CENTRE, on_duty=False)
    api = await api_for(server, (await server.supervisor()).session["username"])
    body = operation_body(
        "Two nights",
        T0,
        days=2,
        officers=[officer.session["user_id"]],
        crews=[crew.session["crew_id"]],
        count=2,
        n_places=2,
        rules={"place_gap_h": 0, "rest_h": 0, "per_officer_per_day": 6},
    )
    op = await api.call("POST", "/api/operations", 201, json=body)
    plan = await api.call("POST", f"/api/operations/{op['id']}/generate")
    first, second = plan["deployments"]
    path = f"/api/operations/{op['id']}/deployments"
    t1, t2 = T0 + timedelta(hours=4), T0 + timedelta(hours=10)
    await api.call(
        "PATCH",
        f"{path}/{first['id']}",
        json={"starts_at": t1.isoformat(), "ends_at": (t1 + timedelta(hours=1)).isoformat()},
    )
    await api.call(
        "PATCH",
        f"{path}/{second['id']}",
        json={"starts_at": t2.isoformat(), "ends_at": (t2 + timedelta(hours=1)).isoformat()},
    )
    await api.call("POST", f"/api/operations/{op['id']}/publish")
    await api.close()
    await server.stop()

    # The server was down from 08:00 to 18:30: the first deployment came and went, the
    # second started at 18:00.
    clock.set(t2 + timedelta(minutes=30))
    server = await start_server(settings, clock)
    try:
        api = await api_for(server, (await server.supervisor()).session["username"])
        states = {
            d["id"]: d
            for d in (await api.call("GET", f"/api/operations/{op['id']}/plan"))["deployments"]
        }
        assert states[first["id"]]["state"] == "missed"
        assert "missed" in states[first["id"]]["note"]
        assert states[second["id"]]["state"] == "live"
        assert states[second["id"]]["note"] == "started 30 min late (the server was down)"
        assert server.services.scheduler.jobs() == {second["id"]: t2 + timedelta(hours=1)}
        fresh = await server.connect(officer.session["username"])
        assert [d["id"] for d in fresh.state.deployments.values()] == [second["id"]]
        await api.close()
    finally:
        await server.stop()


async def test_apscheduler_fires_the_jobs_on_time(sqlite_url: str) -> None:
    """Real time, a lead of three seconds: the brief and the start arrive by themselves."""
    settings = settings_for(sqlite_url, **{"scheduler.brief_lead_min": 0.05})
    server = await start_server(settings)
    try:
        officer = await server.officer()
        crew = await server.crew(CrewMode.BIKE, CENTRE, on_duty=False)
        api = await api_for(server, (await server.supervisor()).session["username"])
        start = await publish_one_soon(
            api, "Soon", officer.session["user_id"], crew.session["crew_id"], in_seconds=5
        )
        briefed = await officer.wait_for(
            lambda f: f["type"] == "deployment" and f["deployment"]["state"] == "briefed", 10
        )
        live = await officer.wait_for(
            lambda f: f["type"] == "deployment" and f["deployment"]["state"] == "live", 15
        )
        assert briefed["seq"] < live["seq"]
        assert datetime.now(UTC) >= start
        await crew.wait_for(lambda f: f["type"] == "crew" and f["crew"]["state"] == "available")
        await api.close()
    finally:
        await server.stop()


async def test_two_processes_carry_out_each_step_once(tmp_path: Any) -> None:
    """Scale-out: every server process runs the scheduler; the row lock on the
    deployment makes each step happen once on the shared PostgreSQL database."""
    from dispatch.storage.models import Event
    from tests.support import fresh_database

    async with fresh_database("postgres", tmp_path) as url:
        clock = ManualClock(T0)
        first = await start_server(settings_for(url, **SETTINGS), clock)
        second = await start_server(settings_for(url, **SETTINGS), clock)
        try:
            officer = await first.officer()
            crew = await first.crew(CrewMode.CAR, CENTRE, on_duty=False)
            api = await api_for(first, (await first.supervisor()).session["username"])
            dep = await plan_one(first, api, officer, crew, T0 + timedelta(hours=3))
            await second.services.scheduler.rebuild()  # it learns of the plan at its start
            assert dep["id"] in second.services.scheduler.jobs()
            clock.set(datetime.fromisoformat(dep["starts_at"]))
            a, b = await asyncio.gather(
                first.services.scheduler.run_due(), second.services.scheduler.run_due()
            )
            steps = a.get(dep["id"], []) + b.get(dep["id"], [])
            assert sorted(steps) == sorted([Step.BRIEF, Step.START])
            events = [e for e in await first.rows(Event) if e.entity_id == dep["id"]]
            # Brief and start fell due together: one transaction, one event.
            assert [json.loads(e.payload)["state"] for e in events] == ["published", "live"]
            await api.close()
        finally:
            await second.stop()
            await first.stop()

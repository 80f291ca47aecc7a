"""Nothing of operations leaks through the public API: the same exchange with a server in
the middle of a live deployment (an officer connected, an alert raised and offered) and
with a server that has no operation gives the same statuses, the same headers (but Date),
the same bodies but for the random parts (which keep their sizes), and nothing of the
operation anywhere."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from dispatch.public_reports import pow
from tests.ops_console.incident_support import INCIDENT_SETTINGS, live_operation
from tests.public_reports.support import body
from tests.support import (
    CENTRE,
    ManualClock,
    RunningServer,
    fresh_database,
    settings_for,
    start_server,
)

T0 = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
HEX32 = re.compile(r"[0-9a-f]{32}")


@contextlib.asynccontextmanager
async def clocked_server(url: str) -> AsyncIterator[tuple[RunningServer, ManualClock]]:
    clock = ManualClock(T0)
    settings = settings_for(url, **INCIDENT_SETTINGS, **{"public_reports.pow_bits": 4})
    server = await start_server(settings, clock)
    try:
        yield server, clock
    finally:
        await server.stop()


async def exchange(base: str) -> list[httpx.Response]:
    """Every public route, with good and bad input, as anyone on the internet could."""
    async with httpx.AsyncClient(base_url=base) as http:
        got = [await http.get("/report"), await http.get("/api/public/challenge")]
        token = got[-1].json()["challenge"]
        work = {"challenge": token, "nonce": pow.solve(token, 4)}
        got.append(await http.post("/api/public/reports", json={**body(), **work}))
        got.append(await http.post("/api/public/reports", json={**body(), **work}))  # reused
        got.append(await http.post("/api/public/reports", json={**body(lat=51.5), **work}))
        got.append(await http.post("/api/public/reports", json={**body(), "nonce": "0"}))
        got.append(await http.post("/api/public/reports", content=b"{"))
        got.append(await http.get("/api/public/reports"))
        got.append(await http.get(f"/api/public/reports/{'0' * 32}"))
    return got


def masked(text: str) -> str:
    """Random parts (challenges, references) as placeholders of their own length."""
    return HEX32.sub("<hex32>", re.sub(r"v1\.[0-9]+\.", "v1.<t>.", text))


def shape(response: httpx.Response) -> tuple[Any, ...]:
    headers = sorted((k, v) for k, v in response.headers.items() if k != "date")
    return response.status_code, headers, len(response.content), masked(response.text)


async def test_the_public_api_says_the_same_during_a_live_deployment(tmp_path: Path) -> None:
    (tmp_path / "live").mkdir()
    (tmp_path / "none").mkdir()
    async with (
        fresh_database("sqlite", tmp_path / "live") as live_url,
        fresh_database("sqlite", tmp_path / "none") as none_url,
        clocked_server(live_url) as (live, clock),
        clocked_server(none_url) as (quiet, quiet_clock),
    ):
        scene = await live_operation(live, clock, "Op Nightjar")
        await scene.crew.position(*CENTRE)
        ack = await scene.officer.raise_alert(CENTRE, category="following", note="by the bridge")
        alert_id = ack["result"]["alert_id"]
        offer = await scene.crew.offer(timeout=30)
        quiet_clock.set(clock.now)

        during = await exchange(live.base)
        without = await exchange(quiet.base)
        assert [shape(r) for r in during] == [shape(r) for r in without]
        assert [r.status_code for r in during] == [200, 200, 201, 403, 422, 403, 400, 405, 404]

        secrets_of_the_operation = {
            "Op Nightjar",
            alert_id,
            offer["id"],
            scene.operation["id"],
            scene.deployment["id"],
            scene.officer.session["user_id"],
            scene.officer.session["username"],
            scene.crew.session["crew_id"],
            scene.crew.callsign,
            "by the bridge",
            *(p["name"] for p in scene.operation["places"]),
        }
        for response in during:
            seen = response.text + json.dumps(dict(response.headers))
            assert [s for s in secrets_of_the_operation if s and s in seen] == []
        # The clock moved with the operation; the same exchange a minute later is alike.
        clock.advance(timedelta(minutes=1))
        quiet_clock.set(clock.now)
        assert [shape(r) for r in await exchange(live.base)] == [
            shape(r) for r in await exchange(quiet.base)
        ]
        await scene.api.close()

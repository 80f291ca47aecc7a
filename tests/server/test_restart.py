"""A restart loses nothing: open offers are re-armed from their stored deadlines and
alerts left mid-flight carry on. The server here is a separate process, killed with
SIGKILL (no chance to tidy up) and started again on the same database."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from dispatch.config import Settings
from dispatch.storage.db import Database
from dispatch.storage.models import Crew, Offer
from schemas.common import CrewMode
from tests.support import CENTRE, Builders, north_of, settings_for


@dataclass
class ProcessServer(Builders):
    settings: Settings
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    _counter: Any = field(default_factory=lambda: itertools.count(1))

    async def start(self) -> None:
        env = {
            **os.environ,
            "DISPATCH_DATABASE_URL": self.settings.database.url,
            "DISPATCH_DISPATCH_OFFER_TIMEOUT_S": str(self.settings.dispatch.offer_timeout_s),
            "DISPATCH_REALTIME_POSITION_FLUSH_S": "0.1",
            "DISPATCH_AUTH_SUPERVISOR_SECOND_FACTOR": "false",
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: ASYNC220 (spawns, does not wait)
                [sys.executable, "-m", "dispatch.cli", "serve", "--port", str(self.port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        async with httpx.AsyncClient(base_url=self.base) as http:
            for _ in range(200):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/healthz")).status_code == 200:
                        return
                assert self.process.poll() is None, self.log.read_text()
                await asyncio.sleep(0.05)
        raise AssertionError("server process did not start: " + self.log.read_text())

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


async def lapse_open_offers(server: ProcessServer) -> None:
    db = Database(server.settings.database.url)
    try:
        async with db.session() as s:
            past = datetime.now(UTC) - timedelta(seconds=1)
            await s.exec(update(Offer).where(Offer.state == "offered").values(deadline=past))
            await s.commit()
    finally:
        await db.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def process_server(db_url: str, tmp_path: Path) -> Any:
    # Offers stay open far longer than a restart takes, even on a busy machine; a test
    # that needs a deadline to pass while the server is down moves it in the database.
    settings = settings_for(db_url, **{"dispatch.offer_timeout_s": 120.0})
    server = ProcessServer(settings, free_port(), tmp_path / "server.log")
    await server.start()
    try:
        yield server
    finally:
        server.kill()


async def test_open_offer_survives_a_crash_and_can_still_be_accepted(
    process_server: ProcessServer,
) -> None:
    crew = await process_server.crew(CrewMode.FOOT, north_of(CENTRE, 200))
    officer = await process_server.officer()
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    offer = await crew.offer()

    process_server.kill()
    await process_server.start()

    crew_back = await process_server.connect(crew.session["username"])
    assert list(crew_back.state.offers) == [offer["id"]]  # the snapshot still holds it
    accepted = await crew_back.request("offer.accept", offer_id=offer["id"])
    assert accepted["type"] == "ack", accepted
    officer_back = await process_server.connect(officer.session["username"])
    assert officer_back.state.alerts[alert_id]["status"] == "crew_assigned"


async def test_offer_whose_deadline_passed_while_down_moves_on_after_restart(
    process_server: ProcessServer,
) -> None:
    first = await process_server.crew(CrewMode.FOOT, north_of(CENTRE, 100))
    second = await process_server.crew(CrewMode.FOOT, north_of(CENTRE, 400))
    officer = await process_server.officer()
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    await first.offer()
    # The crews' positions reach the database (flushed every 0.1 s).
    await process_server.rows_once(
        Crew, lambda rows: sum(c.last_fix_at is not None for c in rows) == 2
    )

    process_server.kill()
    await lapse_open_offers(process_server)  # the deadline passes while no server runs
    await process_server.start()

    supervisor = await process_server.supervisor()
    assert alert_id in supervisor.state.alerts  # not lost
    # The board still shows where each crew was last seen, and when.
    snapshot = next(f for f in supervisor.frames if f["type"] == "snapshot")
    assert len({p["subject_id"] for p in snapshot["positions"] if p["role"] == "crew"}) == 2
    second_back = await process_server.connect(second.session["username"])
    offer = await second_back.offer(timeout=8)
    assert offer["alert_id"] == alert_id
    first_back = await process_server.connect(first.session["username"])
    assert first_back.state.offers == {}  # its lapsed offer is not re-offered to it


async def test_graceful_restart_keeps_the_offer_open(process_server: ProcessServer) -> None:
    crew = await process_server.crew(CrewMode.BIKE, north_of(CENTRE, 300))
    officer = await process_server.officer()
    await officer.raise_alert(CENTRE)
    offer = await crew.offer()
    assert process_server.process is not None
    process_server.process.send_signal(signal.SIGTERM)  # uvicorn closes sockets with 1012
    process_server.process.wait(10)
    await process_server.start()
    crew_back = await process_server.connect(crew.session["username"])
    assert list(crew_back.state.offers) == [offer["id"]]

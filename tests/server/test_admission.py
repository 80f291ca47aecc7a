"""A storm of reconnects is met with "come back in N ms", never with a queue that
holds everyone: while too many sockets wait for their first sync, a new crew or
supervisor socket is closed with 1013 and a jittered retry time. Officers always
get in (her alert goes before her sync)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest

from schemas.common import CrewMode, Role
from tests.support import CENTRE, RunningServer, settings_for, start_server


@pytest.fixture
async def strict_server(sqlite_url: str) -> AsyncIterator[RunningServer]:
    running = await start_server(settings_for(sqlite_url, **{"realtime.admit_unsynced": 1}))
    try:
        yield running
    finally:
        await running.stop()


async def test_a_crew_is_told_to_come_back_while_others_wait_for_their_sync(
    strict_server: RunningServer,
) -> None:
    waiting = await strict_server.connect(await strict_server.add_user(Role.SUPERVISOR), sync=False)

    crew_user = await strict_server.add_user(
        Role.CREW, crew=await strict_server.add_crew(CrewMode.FOOT)
    )
    refused = await strict_server.connect(crew_user, sync=False)
    await asyncio.wait_for(refused.reader, 5)
    assert refused.ws.close_code == 1013
    wait = re.search(r"retry_after_ms=(\d+)", refused.ws.close_reason or "")
    assert wait is not None and 250 <= int(wait.group(1)) <= 3000

    officer = await strict_server.officer()  # never turned away
    ack = await officer.raise_alert(CENTRE)
    assert ack["type"] == "ack"

    await waiting.sync()  # the backlog clears: the crew gets in on its next try
    back = await strict_server.connect(crew_user)
    assert (await back.request("duty", on=True))["type"] == "ack"


async def test_a_socket_that_never_syncs_is_told_to_reconnect(sqlite_url: str) -> None:
    settings = settings_for(
        sqlite_url, **{"realtime.sync_within_s": 0.5, "dispatch.sweep_interval_s": 0.1}
    )
    running = await start_server(settings)
    try:
        idle = await running.connect(await running.add_user(Role.SUPERVISOR), sync=False)
        await asyncio.wait_for(idle.reader, 30)
        assert idle.ws.close_code == 1013
        assert "no sync within 0.5 s" in (idle.ws.close_reason or "")
    finally:
        await running.stop()

"""A burst of new connections is let read a few per turn of the event loop, and every one
is answered; a phone's socket works as before. Real server, real sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from dispatch.realtime.handshake_gate import HandshakeGate
from schemas.common import CrewMode
from tests.support import CENTRE, RunningServer, north_of, settings_for, start_server

PER_TURN = 3
BURST = 120


@pytest.fixture
async def server(sqlite_url: str) -> AsyncIterator[RunningServer]:
    running = await start_server(
        settings_for(sqlite_url, **{"realtime.handshakes_per_turn": PER_TURN})
    )
    try:
        yield running
    finally:
        await running.stop()


def gate_of(server: RunningServer) -> HandshakeGate:
    factory: Any = server.server.config.http
    gate: HandshakeGate = factory.keywords["gate"]
    return gate


async def healthz(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()


async def test_a_burst_of_connections_is_let_read_a_few_per_turn_and_all_are_answered(
    server: RunningServer,
) -> None:
    gate = gate_of(server)
    assert gate.per_turn == PER_TURN

    answers = await asyncio.gather(*(healthz(server.port) for _ in range(BURST)))

    assert all(a.startswith(b"HTTP/1.1 200") for a in answers), answers[:3]
    assert all(a.endswith(b'{"ok":true}') for a in answers)
    # More arrived in one turn than it lets read: some were held back, then let in.
    assert gate.held > 0
    assert not gate.waiting


async def test_phones_connect_through_the_gate_and_an_alert_is_offered(
    server: RunningServer,
) -> None:
    crews = await asyncio.gather(
        *(server.crew(CrewMode.FOOT, north_of(CENTRE, 100 * (i + 1))) for i in range(4))
    )
    officer = await server.officer()

    ack = await officer.raise_alert(CENTRE)

    offer = await crews[0].offer()
    assert offer["alert_id"] == ack["result"]["alert_id"]

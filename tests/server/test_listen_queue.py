"""The server's listen queue is `server.backlog` deep: a reconnect storm's connections
wait in it rather than being dropped (a dropped one's phone retries a second later)."""

from __future__ import annotations

import asyncio
import shutil

from tests.support import settings_for, start_server


async def listen_queue_depth(port: int) -> int:
    """The backlog of the socket listening on `port`, as the kernel reports it (`ss`
    shows it as a listening socket's Send-Q)."""
    ss = shutil.which("ss")
    assert ss is not None, "ss (iproute2) is needed to read a listen queue's depth"
    proc = await asyncio.create_subprocess_exec(
        ss, "-ltnH", f"sport = :{port}", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    rows = [line.split() for line in out.decode().splitlines() if line.strip()]
    assert len(rows) == 1, f"one listening socket on {port} expected: {rows}"
    return int(rows[0][2])  # State Recv-Q Send-Q Local Peer


async def test_the_listen_queue_is_as_deep_as_configured(sqlite_url: str) -> None:
    running = await start_server(settings_for(sqlite_url, **{"server.backlog": 77}))
    try:
        assert await listen_queue_depth(running.port) == 77
    finally:
        await running.stop()

"""A connection's outbox over a real uvicorn websocket on loopback: frames leave in the
order they were put, whether the reader sends them at once (`send_now`) or the writer
task does; and a client that stops reading never stops the server reading from it
(a send its socket cannot take goes on in a task: the reader never waits on it)."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.client import ClientProtocol
from websockets.uri import parse_uri

from dispatch.auth.sessions import Viewer
from dispatch.config import RealtimeSettings
from dispatch.realtime.connection import Connection
from schemas.common import Role

BIG = "x" * 65_536  # 64 KB a frame: a few hundred fill any socket buffer on loopback


class Echo:
    """For each text received: `fill` big frames, then the text back as a reply (the
    writer not woken for it), sent at once."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.fill = 0
        self.expected = 0  # `all_in` is set once this many texts were received
        self.all_in = asyncio.Event()
        self.left: list[int] = []

    async def endpoint(self, websocket: WebSocket) -> None:
        await websocket.accept()
        viewer = Viewer("u", "u", Role.CREW, "c", datetime.now(UTC) + timedelta(hours=1), "h")
        conn = Connection(websocket, viewer, RealtimeSettings(outbox_limit=100_000))
        writer = asyncio.create_task(conn.writer())
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message["text"]
                self.received.append(text)
                if len(self.received) == self.expected:
                    self.all_in.set()
                for i in range(self.fill):
                    conn.push(json.dumps({"after": text, "n": i, "pad": BIG}))
                conn.reply(json.dumps({"echo": text}))  # as the endpoint answers
                conn.send_now()
                self.left.append(conn.outbox.qsize())  # what the writer still has to send
                if text.startswith("late"):
                    conn.push(json.dumps({"late": text}))  # left to the writer task
        finally:
            conn.close(1000, "")
            await asyncio.wait_for(writer, 10)


@pytest.fixture
async def echo() -> AsyncIterator[tuple[Echo, int]]:
    app_state = Echo()
    app = Starlette(routes=[WebSocketRoute("/ws", app_state.endpoint)])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, ws="websockets-sansio", log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        assert not task.done()
        await asyncio.sleep(0.01)
    yield app_state, sock.getsockname()[1]
    server.should_exit = True
    await task


async def test_frames_leave_in_order_from_the_reader_and_the_writer(
    echo: tuple[Echo, int],
) -> None:
    state, port = echo
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as ws:
        got = []
        for i in range(50):
            text = f"late {i}" if i % 3 == 0 else f"now {i}"
            await ws.send(text)
            got.append(json.loads(await ws.recv()))
            if text.startswith("late"):
                got.append(json.loads(await ws.recv()))
    expected = []
    for i in range(50):
        text = f"late {i}" if i % 3 == 0 else f"now {i}"
        expected.append({"echo": text})
        if text.startswith("late"):
            expected.append({"late": text})
    assert got == expected
    assert state.left == [0] * 50  # each answer sent by the reader itself, at once


class RawClient:
    """A websocket client over a plain socket (websockets' sans-I/O protocol): it reads
    only when told to, as a phone that stopped reading; its receive buffer is a phone's
    (64 KB), not the 32 MB loopback would give it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.loop = sock, asyncio.get_running_loop()
        self.protocol = ClientProtocol(parse_uri("ws://127.0.0.1/ws"), max_size=None)

    @classmethod
    async def connect(cls, port: int) -> RawClient:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65_536)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        client = cls(sock)
        client.protocol.send_request(client.protocol.connect())
        await client.flush()
        while not client.protocol.events_received():  # the handshake's response
            client.protocol.receive_data(await client.loop.sock_recv(sock, 65_536))
        return client

    async def flush(self) -> None:
        for data in self.protocol.data_to_send():
            await self.loop.sock_sendall(self.sock, data)

    async def send(self, text: str) -> None:
        self.protocol.send_text(text.encode())
        await self.flush()

    async def texts(self, count: int) -> list[str]:
        got: list[str] = []
        while len(got) < count:
            self.protocol.receive_data(await self.loop.sock_recv(self.sock, 1 << 20))
            got += [e.data.decode() for e in self.protocol.events_received()]
        return got


async def test_a_client_that_stops_reading_never_stops_the_server_reading_it(
    echo: tuple[Echo, int],
) -> None:
    state, port = echo
    state.fill, state.expected = 40, 8  # 2.5 MB a message: more than the buffers take
    client = await RawClient.connect(port)
    try:
        for i in range(8):
            await client.send(f"m{i}")  # nothing read meanwhile: the server's sends back up
        async with asyncio.timeout(30):
            await state.all_in.wait()  # all read by the server, few answered yet
        got = [json.loads(text) for text in await client.texts(8 * 41)]
    finally:
        client.sock.close()
    keys = [(f["after"], f["n"]) if "after" in f else f["echo"] for f in got]
    expected: list[object] = []
    for i in range(8):
        expected += [(f"m{i}", n) for n in range(40)] + [f"m{i}"]
    assert keys == expected

"""Builders for behaviour tests: a real server on loopback, real websocket clients."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from sqlmodel import select
from websockets.asyncio.client import ClientConnection, connect

from dispatch.app import create_app
from dispatch.config import Settings, load_settings
from dispatch.people import add_crew, add_user
from dispatch.server import uvicorn_config
from dispatch.services import Services
from dispatch.storage.db import Database
from dispatch.usecases.context import Clock
from schemas.common import CrewMode, Role

PASSWORD = "correct horse battery"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
# How long a test waits for a frame, an answer or a connection before it fails: a bound
# for a busy machine, never a deadline that the behaviour under test races against.
WAIT_S = 30.0
IN_CI = os.environ.get("CI", "").lower() == "true"

# Hereford town centre and points at known distances from it.
CENTRE = (52.0565, -2.7160)


def north_of(point: tuple[float, float], metres: float) -> tuple[float, float]:
    return (point[0] + metres / 111_195.0, point[1])


def settings_for(db_url: str, **overrides: Any) -> Settings:
    # Supervisors sign in with a password only, unless a test asks for the second factor
    # (tests/server/test_second_factor.py, tests/e2e/test_console_second_factor.py).
    base = {
        "database.url": db_url,
        "pubsub.url": "memory://",
        "server.port": 0,
        "auth.supervisor_second_factor": False,
        # Tests move their clocks by hours and days: a console session outlives them,
        # unless a test asks for the idle-out (tests/server/test_second_factor.py).
        "auth.console_idle_s": 365 * 86400,
        "auth.console_max_s": 365 * 86400,
    }
    base.update(overrides)
    return load_settings(env={}, overrides=base)


async def eventually(condition: Callable[[], bool], within_s: float = 30) -> None:
    """Wait until `condition` holds, checking every 10 ms; fail after `within_s`, a bound
    for a loaded machine, not a deadline the behaviour under test races against."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + within_s
    while not condition():
        if loop.time() > give_up:
            raise AssertionError(f"the condition did not hold within {within_s} s")
        await asyncio.sleep(0.01)


async def wait_until_blocked(conn: asyncpg.Connection, statement: str = "%") -> None:
    """Until another backend's statement like `statement` (a LIKE pattern) waits for a
    lock this connection holds. Its transaction would see pg_stat_activity as it was at
    the first look: the snapshot is cleared each time. Fails after WAIT_S."""
    give_up = asyncio.get_running_loop().time() + WAIT_S
    while True:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        waiting = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE $1 = ANY(pg_blocking_pids(pid)) AND query LIKE $2",
            conn.get_server_pid(),
            statement,
        )
        if waiting:
            return
        if asyncio.get_running_loop().time() > give_up:
            raise AssertionError(f"no statement like {statement!r} waited in {WAIT_S:g} s")
        await asyncio.sleep(0.01)


async def postgres_available() -> bool:
    try:
        conn = await asyncpg.connect(PG_ADMIN, timeout=2)
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


@contextlib.asynccontextmanager
async def fresh_database(kind: str, tmp_path: Any) -> Any:
    """A new, empty database of the given kind; yields its SQLAlchemy URL."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/dispatch.db"
        return
    if not await postgres_available():
        if IN_CI:
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 (required under CI=true)")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"dispatch_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


class Builders:
    """People, crews and connected clients for any server this test can reach."""

    settings: Settings
    port: int
    _counter: Any

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def _name(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter)}"

    async def add_user(self, role: Role, *, crew: str | None = None) -> str:
        username = self._name(role.value)
        db = Database(self.settings.database.url)
        try:
            await add_user(
                db,
                username=username,
                password=PASSWORD,
                role=role,
                now=datetime.now(UTC),
                crew_callsign=crew,
            )
        finally:
            await db.close()
        return username

    async def add_crew(self, mode: CrewMode) -> str:
        callsign = self._name(mode.value.upper() + "-")
        db = Database(self.settings.database.url)
        try:
            await add_crew(db, callsign=callsign, mode=mode, now=datetime.now(UTC))
        finally:
            await db.close()
        return callsign

    async def rows_once(
        self, model: Any, enough: Callable[[list[Any]], bool], within_s: float = 30
    ) -> list[Any]:
        """The table's rows once `enough` says they are there (written by a periodic
        flush, say); fails after `within_s`, a bound for a loaded machine."""
        give_up = asyncio.get_running_loop().time() + within_s
        while not enough(rows := await self.rows(model)):
            if asyncio.get_running_loop().time() > give_up:
                raise AssertionError(f"{model.__name__}: not there in {within_s} s: {rows}")
            await asyncio.sleep(0.05)
        return rows

    async def rows(self, model: Any) -> list[Any]:
        """Every stored row of a table, read straight from the server's database."""
        db = Database(self.settings.database.url)
        try:
            async with db.session() as s:
                return list((await s.exec(select(model))).all())
        finally:
            await db.close()

    async def sign_in(self, username: str, password: str = PASSWORD) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.base) as http:
            response = await http.post(
                "/api/session", json={"username": username, "password": password}
            )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def connect(
        self, username: str, *, sync: bool = True, last_seq: int | None = None
    ) -> Client:
        session = await self.sign_in(username)
        client = await Client.open(self.ws_url, session)
        if sync:
            await client.sync(last_seq)
        return client

    async def officer(self) -> Client:
        return await self.connect(await self.add_user(Role.OFFICER))

    async def supervisor(self) -> Client:
        return await self.connect(await self.add_user(Role.SUPERVISOR))

    async def crew(
        self,
        mode: CrewMode,
        at: tuple[float, float],
        *,
        on_duty: bool = True,
        fix_at: datetime | None = None,
    ) -> Client:
        callsign = await self.add_crew(mode)
        client = await self.connect(await self.add_user(Role.CREW, crew=callsign))
        client.callsign = callsign
        if on_duty:
            assert (await client.request("duty", on=True))["type"] == "ack"
        await client.position(*at, at=fix_at)
        return client


@dataclass
class RunningServer(Builders):
    """A uvicorn server in this test's event loop, on a loopback port."""

    settings: Settings
    server: uvicorn.Server
    task: asyncio.Task[None]
    port: int
    _counter: Any = field(default_factory=lambda: itertools.count(1))

    @property
    def services(self) -> Services:
        app: Any = self.server.config.app
        services: Services = app.state.services
        return services

    async def stop(self) -> None:
        self.server.should_exit = True
        await asyncio.wait_for(self.task, 10)


class ManualClock:
    """A clock the test moves by hand (the server's `clock`)."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now

    def set(self, now: datetime) -> datetime:
        assert now.tzinfo is not None
        self.now = now
        return now


async def start_server(settings: Settings, clock: Clock | None = None) -> RunningServer:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", settings.server.port))
    port = sock.getsockname()[1]
    app = create_app(settings, clock=clock) if clock is not None else create_app(settings)
    config = uvicorn_config(app, settings, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    with contextlib.suppress(AssertionError):  # a bound for a loaded machine
        await eventually(lambda: server.started or task.done(), WAIT_S)
    if not server.started:
        sock.close()
        if task.done():
            task.result()
        raise AssertionError("server did not start")
    return RunningServer(settings, server, task, port)


class Client:
    """A websocket client that keeps every frame and the state they build."""

    def __init__(self, ws: ClientConnection, session: dict[str, Any]) -> None:
        self.ws, self.session = ws, session
        self.frames: list[dict[str, Any]] = []
        self._arrived = asyncio.Condition()
        self._ids = itertools.count(1)
        self.state = ClientState()
        self.callsign = ""
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, session: dict[str, Any]) -> Client:
        ws = await connect(
            url,
            additional_headers={"Authorization": f"Bearer {session['token']}"},
            max_size=2**22,
            open_timeout=WAIT_S,
        )
        return cls(ws, session)

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for text in self.ws:
                frame = json.loads(text)
                # Supervisors get positions together: each is applied as if on its own.
                batch = frame["positions"] if frame.get("type") == "positions" else [frame]
                for one in batch:
                    self.state.apply(one)
                async with self._arrived:
                    self.frames.extend(batch)
                    self._arrived.notify_all()
        async with self._arrived:
            self._arrived.notify_all()

    async def send(self, type_: str, **body: Any) -> str:
        msg_id = f"m{next(self._ids)}"
        await self.ws.send(json.dumps({"type": type_, "id": msg_id, **body}, default=str))
        return msg_id

    async def request(self, type_: str, timeout: float = WAIT_S, **body: Any) -> dict[str, Any]:
        msg_id = await self.send(type_, **body)
        return await self.wait_for(
            lambda f: f.get("type") in ("ack", "error") and f.get("id") == msg_id, timeout
        )

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = WAIT_S, start: int = 0
    ) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            async with self._arrived:
                while True:
                    for frame in self.frames[start:]:
                        if predicate(frame):
                            return frame
                    if self.reader.done():
                        raise AssertionError(f"socket closed; frames: {self.frames[-5:]}")
                    await self._arrived.wait()

        try:
            return await asyncio.wait_for(find(), timeout)
        except TimeoutError:
            raise AssertionError(f"no such frame in {timeout}s; last: {self.frames[-6:]}") from None

    async def sync(self, last_seq: int | None = None) -> dict[str, Any]:
        start = len(self.frames)
        ack = await self.request("sync", last_seq=last_seq)
        assert ack["type"] == "ack", ack
        await self.wait_for(lambda f: f["type"] == "synced", start=start)
        return ack

    async def position(
        self, lat: float, lon: float, *, accuracy: float = 5.0, at: datetime | None = None
    ) -> None:
        pos: dict[str, Any] = {"lat": lat, "lon": lon, "accuracy": accuracy}
        if at is not None:
            pos["at"] = at.isoformat()
        ack = await self.request("position", position=pos)
        assert ack["type"] == "ack", ack

    async def raise_alert(
        self, at: tuple[float, float], alert_id: str | None = None, **extra: Any
    ) -> dict[str, Any]:
        alert_id = alert_id or uuid.uuid4().hex
        return await self.request(
            "alert.raise",
            alert_id=alert_id,
            position={"lat": at[0], "lon": at[1], "accuracy": 8.0},
            **extra,
        )

    async def offer(self, timeout: float = WAIT_S, start: int = 0) -> dict[str, Any]:
        """The next open offer: as an event, or in the snapshot of a (re)connect (a crew
        that is ready may be offered an alert between its connect and its sync)."""
        frame = await self.wait_for(
            lambda f: (
                (f["type"] == "offer" and f["offer"]["state"] == "offered")
                or (f["type"] == "snapshot" and bool(f["offers"]))
            ),
            timeout,
            start,
        )
        offer: dict[str, Any] = frame["offer"] if frame["type"] == "offer" else frame["offers"][0]
        return offer

    def offers_received(self) -> list[dict[str, Any]]:
        return [
            f["offer"]
            for f in self.frames
            if f["type"] == "offer" and f["offer"]["state"] == "offered"
        ]

    async def close(self) -> None:
        await self.ws.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.reader, 5)


class ClientState:
    """What a client knows, built from a snapshot and then events, as docs/protocol.md says."""

    def __init__(self) -> None:
        self.seq = 0
        self.alerts: dict[str, dict[str, Any]] = {}
        self.offers: dict[str, dict[str, Any]] = {}
        self.crews: dict[str, dict[str, Any]] = {}
        self.deployments: dict[str, dict[str, Any]] = {}  # briefed and live ones

    def apply(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "snapshot":
            self.alerts = {a["id"]: a for a in frame["alerts"]}
            self.offers = {o["id"]: o for o in frame["offers"]}
            self.crews = {c["id"]: c for c in frame["crews"]}
            self.deployments = {d["id"]: d for d in frame["deployments"]}
        elif kind == "deployment":
            dep = frame["deployment"]
            if dep["state"] in ("briefed", "live"):
                self.deployments[dep["id"]] = dep
            else:
                self.deployments.pop(dep["id"], None)
        elif kind == "alert":
            alert = frame["alert"]
            if alert["state"] in ("resolved", "cancelled"):
                self.alerts.pop(alert["id"], None)
            else:
                self.alerts[alert["id"]] = alert
        elif kind == "alert.removed":
            self.alerts.pop(frame["alert_id"], None)
        elif kind == "offer":
            offer = frame["offer"]
            if offer["state"] == "offered":
                self.offers[offer["id"]] = offer
            else:
                self.offers.pop(offer["id"], None)
        elif kind == "crew":
            self.crews[frame["crew"]["id"]] = frame["crew"]
        if isinstance(frame.get("seq"), int):
            assert frame["seq"] >= self.seq or kind in ("snapshot", "synced"), (frame, self.seq)
            self.seq = max(self.seq, frame["seq"]) if kind != "snapshot" else frame["seq"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "alerts": self.alerts,
            "offers": self.offers,
            "crews": self.crews,
            "deployments": self.deployments,
        }

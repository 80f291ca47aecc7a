"""The servers under test (their own processes) and the benchmark's database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import httpx
from sqlalchemy import insert

from loadgen.common import ROOT, free_port, random_point

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
_RUNNING: list[subprocess.Popen[bytes]] = []  # stopped by stop_all() whatever happens
SERVER_ROOT = ROOT  # the checkout the server runs from (--server-root)


def server_env(db_url: str, port: int, extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, "DISPATCH_CONFIG": str(SERVER_ROOT / "config.toml"),
            "PYTHONPATH": str(SERVER_ROOT),
            "DISPATCH_DATABASE_URL": db_url, "DISPATCH_PUBSUB_URL": "memory://",
            "DISPATCH_SERVER_HOST": "127.0.0.1", "DISPATCH_SERVER_PORT": str(port),
            "DISPATCH_DISPATCH_OFFER_TIMEOUT_S": "120", **extra}  # fmt: skip


def server_settings(db_url: str, extra: dict[str, str]) -> Any:
    """The server's Settings, as it will load them."""
    from dispatch.config import load_settings

    return load_settings(env=server_env(db_url, 0, extra))


class Target(Protocol):
    """What the phases load and measure: one process (`Server`) or a cluster of them
    behind a balancer (`loadgen.cluster.ClusterTarget`)."""

    @property
    def ws_url(self) -> str: ...  # where the phones connect

    @property
    def pids(self) -> list[int]: ...  # the server processes (CPU, RSS)

    @property
    def metric_bases(self) -> list[str]: ...  # each process's own address, for /metrics

    @property
    def logs(self) -> list[Path]: ...

    async def ready(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def pids(self) -> list[int]:
        return [self.proc.pid]

    @property
    def metric_bases(self) -> list[str]:
        return [self.base]

    @property
    def logs(self) -> list[Path]:
        return [self.log]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def ready(self, timeout: float = 60.0) -> None:
        async with httpx.AsyncClient(timeout=2) as http:
            for _ in range(int(timeout / 0.1)):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited ({self.proc.returncode}); see {self.log}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(self.base + "/healthz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"server did not answer /healthz in {timeout:.0f} s; see {self.log}")

    def stop(self) -> None:
        stop(self.proc)


def start(argv: list[str], env: dict[str, str], port: int, log: Path) -> Server:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, *argv], cwd=SERVER_ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip
    _RUNNING.append(proc)
    return Server(proc, port, log)


def start_product(db_url: str, log: Path, extra_env: dict[str, str]) -> Server:
    port = free_port()
    argv = ["-m", "dispatch.cli", "serve", "--port", str(port)]
    return start(argv, server_env(db_url, port, extra_env), port, log)


def start_echo(db_url: str, log: Path, extra_env: dict[str, str]) -> Server:
    port = free_port()
    argv = [str(ROOT / "bench/echo_app.py")]
    return start(argv, server_env(db_url, port, extra_env), port, log)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    with contextlib.suppress(ValueError):
        _RUNNING.remove(proc)


def stop_all() -> None:
    for proc in list(_RUNNING):
        with contextlib.suppress(Exception):
            stop(proc)


# -- the database ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def database(kind: str, tmp: str) -> AsyncIterator[str]:
    """A fresh database; yields its SQLAlchemy URL. PostgreSQL's is dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp}/load-bench.db"
        return
    import asyncpg

    name = f"dispatch_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN, timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@dataclass
class Person:
    user_id: str
    role: str  # "crew" | "officer" | "supervisor"
    token: str
    crew_id: str | None
    lat: float
    lon: float


async def seed(db_url: str, crews: int, officers: int, supervisors: int) -> list[Person]:
    """Accounts, crews and session tokens straight into the database, in bulk (one argon2
    hash for everybody), before the server starts."""
    from dispatch.auth.passwords import hash_password
    from dispatch.auth.sessions import token_hash
    from dispatch.storage.db import Database
    from dispatch.storage.models import Crew, SessionToken, User
    from schemas.common import CrewMode, Role
    from schemas.views import CrewState

    password_hash = await asyncio.to_thread(hash_password, secrets.token_urlsafe(12))
    now = datetime.now(UTC)
    run = uuid.uuid4().hex[:6]
    modes = list(CrewMode)
    crew_rows, user_rows, token_rows, people = [], [], [], []
    roles = [Role.CREW] * crews + [Role.OFFICER] * officers + [Role.SUPERVISOR] * supervisors
    for i, role in enumerate(roles):
        uid, crew_id, token = uuid.uuid4().hex, None, secrets.token_urlsafe(32)
        lat, lon = random_point()
        if role == Role.CREW:
            crew_id = uuid.uuid4().hex
            crew_rows.append({"id": crew_id, "callsign": f"B{run}-{i}", "mode": modes[i % 3],
                              "state": CrewState.OFF_DUTY, "updated_at": now,
                              "last_lat": lat, "last_lon": lon, "last_accuracy": 5.0,
                              "last_fix_at": now})  # fmt: skip
        user_rows.append({"id": uid, "username": f"{role.value[0]}{run}-{i}",
                          "display_name": f"{role.value} {i}", "role": role,
                          "password_hash": password_hash, "crew_id": crew_id, "disabled": False,
                          "failed_logins": 0, "created_at": now})  # fmt: skip
        token_rows.append({"token_hash": token_hash(token), "user_id": uid, "created_at": now,
                           "expires_at": now + timedelta(hours=12)})  # fmt: skip
        people.append(Person(uid, role.value, token, crew_id, lat, lon))
    random.shuffle(people)  # connect crews and officers interleaved
    db = Database(db_url)
    try:
        await db.create_tables()
        async with db.engine.begin() as conn:
            for table, rows in ((Crew, crew_rows), (User, user_rows), (SessionToken, token_rows)):
                for k in range(0, len(rows), 1000):
                    await conn.execute(insert(table.__table__), rows[k : k + 1000])  # type: ignore[attr-defined]
    finally:
        await db.close()
    return people


async def offers_between(db_url: str, t0: datetime, t1: datetime) -> list[tuple[str, str, str]]:
    """(offer id, crew id, alert id) of the offers created in [t0, t1], read from the table."""
    from sqlmodel import col, select

    from dispatch.storage.db import Database
    from dispatch.storage.models import Offer

    db = Database(db_url)
    try:
        async with db.session() as s:
            q = select(Offer.id, Offer.crew_id, Offer.alert_id).where(
                col(Offer.created_at) >= t0, col(Offer.created_at) <= t1
            )
            return [tuple(r) for r in (await s.exec(q)).all()]  # type: ignore[misc]
    finally:
        await db.close()

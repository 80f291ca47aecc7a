"""Real processes behind a real HAProxy: two `dispatch serve` processes started by the
same launcher as `dispatch cluster`, on a fresh PostgreSQL database and a Redis server
of the test's own (so that restarting it disturbs nothing else)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from dispatch.config import Settings
from dispatch.launcher import Cluster
from dispatch.storage.db import Database
from tests.cluster.tcp_proxy import TcpProxy
from tests.support import IN_CI, Builders, fresh_database, settings_for

# What every process of a test cluster runs with (environment overrides of config.toml).
NODE_ENV = {
    "DISPATCH_DISPATCH_OFFER_TIMEOUT_S": "60",  # a move within seconds is never a lapse
    "DISPATCH_DISPATCH_REOFFER_AFTER_S": "600",
    "DISPATCH_REALTIME_POSITION_FLUSH_S": "0.2",
    "DISPATCH_LOGGING_JSON_LINES": "true",
    "DISPATCH_LOGGING_LEVEL": "debug",  # the log test checks the most talkative level
    "DISPATCH_AUTH_SUPERVISOR_SECOND_FACTOR": "false",  # supervisors sign in by password here
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} is not installed (scripts/ensure-tools installs it)"
        if IN_CI:
            pytest.fail(message + "; required under CI=true")
        pytest.skip(message)
    return path


class RedisProcess:
    """A redis-server of this test's own, on a free port."""

    def __init__(self, workdir: Path) -> None:
        self.binary = need("redis-server")
        self.port = free_port()
        self.log = workdir / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--logfile", str(self.log)]
        self.process = subprocess.Popen([self.binary, *args])  # noqa: ASYNC220 (returns at once)
        client = Redis.from_url(self.url)
        try:
            for _ in range(200):
                try:
                    await client.ping()
                    return
                except Exception:
                    await asyncio.sleep(0.05)
            raise AssertionError(f"redis-server did not start; see {self.log}")
        finally:
            await client.aclose()

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@dataclass
class NodeUnderTest(Builders):
    """One process of the cluster, reached directly (not through the balancer)."""

    settings: Settings
    port: int
    _counter: Any


@dataclass
class ClusterUnderTest(Builders):
    """The cluster, reached through the balancer; `node(i)` reaches process i."""

    settings: Settings
    port: int
    launcher: Cluster
    redis: RedisProcess
    _counter: Any = field(default_factory=lambda: itertools.count(1))

    def node(self, index: int) -> NodeUnderTest:
        return NodeUnderTest(self.settings, self.launcher.nodes[index].port, self._counter)

    def logs(self) -> str:
        return "".join(n.log.read_text(errors="replace") for n in self.launcher.nodes)


@contextlib.asynccontextmanager
async def running_cluster(
    tmp_path: Path, *, through: TcpProxy | None = None
) -> AsyncIterator[ClusterUnderTest]:
    """Two processes and HAProxy; `through` puts a proxy between them and PostgreSQL."""
    need("haproxy")
    redis = RedisProcess(tmp_path)
    await redis.start()
    try:
        async with fresh_database("postgres", tmp_path) as url:
            db = Database(url)
            await db.create_tables()  # once, before the processes start
            await db.close()
            node_url = url if through is None else url.replace(":5432/", f":{through.port}/")
            launcher = Cluster(
                processes=2,
                port=free_port(),
                node_ports=[free_port(), free_port()],
                database_url=node_url,
                pubsub_url=redis.url,
                workdir=tmp_path / "cluster",
                env=NODE_ENV,
            )
            try:
                await asyncio.to_thread(launcher.start, 120)
                yield ClusterUnderTest(settings_for(url), launcher.port, launcher, redis)
            finally:
                await asyncio.to_thread(launcher.stop)
    finally:
        redis.stop()


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[ClusterUnderTest]:
    async with running_cluster(tmp_path) as running:
        yield running

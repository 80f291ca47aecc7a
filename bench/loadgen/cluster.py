"""The cluster mode: N `dispatch serve` processes behind HAProxy on one PostgreSQL
database and a private redis-server, started by `dispatch.launcher.Cluster` (as
`dispatch cluster` and the cluster tests start them), with the environment the single
server gets. Phones connect through the balancer; /metrics is read from each process's
own port (the balancer refuses it)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from loadgen.common import free_port
from loadgen.servers import Target, server_env, start_product

_LIVE: list[ClusterTarget] = []  # stopped by stop_all() whatever happens
# set by Cluster itself, per process
_OWN_KEYS = ("DISPATCH_DATABASE_URL", "DISPATCH_PUBSUB_URL", "DISPATCH_SERVER_HOST",
             "DISPATCH_SERVER_PORT")  # fmt: skip


class RedisServer:
    """A redis-server of the benchmark's own on a free port: no disk, nothing shared."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (scripts/ensure-tools)")
        self.binary, self.port, self.log = binary, free_port(), workdir / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self, timeout: float = 10) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--logfile", str(self.log)]  # fmt: skip
        self.process = subprocess.Popen([self.binary, *args])  # noqa: ASYNC220 (returns at once)
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited; see {self.log}")
            if await asyncio.to_thread(self._pong):
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer PING in {timeout:.0f} s; see {self.log}")

    def _pong(self) -> bool:
        address = ("127.0.0.1", self.port)
        with contextlib.suppress(OSError), socket.create_connection(address, 1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.process = None


class ClusterTarget:
    """`processes` servers and HAProxy in front; `ready()` starts them (Redis first),
    `stop()` stops whatever was started. Logs: `workdir`/node<i>.log, haproxy.log,
    redis.log."""

    def __init__(self, processes: int, db_url: str, workdir: Path, extra_env: dict[str, str]):
        self.processes, self.db_url, self.workdir = processes, db_url, workdir
        env = server_env(db_url, 0, extra_env)
        self.env = {k: v for k, v in env.items() if k not in _OWN_KEYS}
        # The launcher starts `python -m dispatch.cli` in this process's directory, which
        # -m would put first on sys.path: import the server from PYTHONPATH (--server-root)
        self.env["PYTHONSAFEPATH"] = "1"
        self.port, self.node_ports = free_port(), [free_port() for _ in range(processes)]
        self.redis: RedisServer | None = None
        self.cluster: Any = None  # dispatch.launcher.Cluster, imported from --server-root
        _LIVE.append(self)

    @property
    def ws_url(self) -> str:  # the balancer
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def nodes(self) -> list[Any]:
        return list(self.cluster.nodes) if self.cluster is not None else []

    @property
    def pids(self) -> list[int]:
        return [n.process.pid for n in self.nodes if n.process is not None]

    @property
    def metric_bases(self) -> list[str]:
        return [n.base for n in self.nodes]

    @property
    def logs(self) -> list[Path]:
        return [n.log for n in self.nodes]

    async def ready(self) -> None:
        from dispatch.launcher import Cluster

        self.workdir.mkdir(parents=True, exist_ok=True)
        for old in self.workdir.glob("*.log"):  # the launcher appends: start clean
            old.unlink()
        self.redis = RedisServer(self.workdir)
        await self.redis.start()
        self.cluster = Cluster(processes=self.processes, port=self.port,
                               node_ports=self.node_ports,
                               database_url=self.db_url, pubsub_url=self.redis.url,
                               workdir=self.workdir, env=self.env)  # fmt: skip
        await asyncio.to_thread(self.cluster.start, 120)

    def balancer_downs(self) -> int:
        """How often HAProxy took a process out (its /readyz check failed or was late)."""
        log = self.workdir / "haproxy.log"
        return log.read_text(errors="replace").count(" is DOWN") if log.exists() else 0

    def stop(self) -> None:
        """SIGTERM, as the single server gets (the launcher's SIGINT makes each process
        log a KeyboardInterrupt traceback), then the launcher stops the rest."""
        try:
            procs = [n.process for n in self.nodes if n.process is not None]
            for proc in procs:
                if proc.poll() is None:
                    proc.terminate()
            for proc in procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(15)
            if self.cluster is not None:
                self.cluster.stop()
        finally:
            if self.redis is not None:
                self.redis.stop()
            with contextlib.suppress(ValueError):
                _LIVE.remove(self)


def start_target(processes: int, db_url: str, log: Path, extra_env: dict[str, str]) -> Target:
    """One server process (its log at `log`), or a cluster (its logs in the directory
    `log`). Both start for good in `ready()`."""
    if processes == 1:
        return start_product(db_url, log, extra_env)
    return ClusterTarget(processes, db_url, log, extra_env)


def stop_all() -> None:
    for target in list(_LIVE):
        with contextlib.suppress(Exception):
            target.stop()

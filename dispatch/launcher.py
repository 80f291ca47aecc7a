"""Several server processes behind HAProxy on one port: `dispatch cluster`, the cluster
tests and the cluster benchmark all start them through this.

Each process is a plain `dispatch serve` on its own loopback port, on the same
PostgreSQL database and Redis hub. HAProxy passes websockets, sends a new connection
to the process with the fewest, health-checks `/readyz` every half second (a process
that stops answering is out within a second; its phones reconnect through the
balancer to a peer), and keeps `/metrics` to the processes' own addresses.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

HAPROXY_CONFIG = """\
global
    maxconn {maxconn}

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    timeout http-request 10s
    option redispatch
    retries 2

frontend dispatch
    bind {host}:{port}
    # /metrics is open only to the processes' own addresses; through the balancer every
    # client would look local.
    http-request deny deny_status 403 if {{ path_beg /metrics }}
    default_backend nodes

backend nodes
    balance leastconn
    option httpchk
    http-check send meth GET uri /readyz
    http-check expect status 200
    # A busy process may answer late: 2 s to answer, 3 misses in a row to be taken out
    # (a dead one is out at once: its port refuses).
    timeout check 2s
    default-server inter 500ms fall 3 rise 2
{servers}
"""


def haproxy_config(host: str, port: int, nodes: list[int], maxconn: int = 20000) -> str:
    servers = "\n".join(f"    server n{i} 127.0.0.1:{p} check" for i, p in enumerate(nodes, 1))
    return HAPROXY_CONFIG.format(host=host, port=port, servers=servers, maxconn=maxconn)


@dataclass
class Node:
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    _out: IO[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    """N `dispatch serve` processes and HAProxy in front of them."""

    processes: int
    port: int
    database_url: str
    pubsub_url: str
    workdir: Path
    host: str = "127.0.0.1"
    node_ports: list[int] = field(default_factory=list)  # default: the port + 1, + 2...
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None  # where the processes run (their config.toml, their code)
    nodes: list[Node] = field(default_factory=list)
    balancer: subprocess.Popen[bytes] | None = None
    _balancer_out: IO[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 60) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        ports = self.node_ports or [self.port + 1 + i for i in range(self.processes)]
        self.nodes = [Node(p, self.workdir / f"node{i + 1}.log") for i, p in enumerate(ports)]
        for node in self.nodes:
            self.start_node(node)
        for node in self.nodes:
            wait_ready(node.base, timeout_s, node.log, node.process)
        haproxy = shutil.which("haproxy")
        if haproxy is None:
            raise RuntimeError("haproxy is not installed (apt-get install -y haproxy)")
        config = self.workdir / "haproxy.cfg"
        ports = [n.port for n in self.nodes]
        config.write_text(haproxy_config(self.host, self.port, ports, maxconn=_maxconn()))
        self._balancer_out = (self.workdir / "haproxy.log").open("ab")
        self.balancer = subprocess.Popen(
            [haproxy, "-f", str(config), "-db"],
            stdout=self._balancer_out,
            stderr=subprocess.STDOUT,
        )
        wait_ready(self.base, timeout_s, self.workdir / "haproxy.log", self.balancer)

    def start_node(self, node: Node) -> None:
        env = {
            **os.environ,
            **self.env,
            "DISPATCH_DATABASE_URL": self.database_url,
            "DISPATCH_PUBSUB_URL": self.pubsub_url,
            "DISPATCH_SERVER_HOST": "127.0.0.1",
        }
        node._out = node.log.open("ab")
        node.process = subprocess.Popen(
            [sys.executable, "-m", "dispatch.cli", "serve", "--port", str(node.port)],
            env=env,
            cwd=self.cwd,
            stdout=node._out,
            stderr=subprocess.STDOUT,
        )

    def kill(self, index: int) -> None:
        """kill -9 one process: no goodbye, no clean close."""
        node = self.nodes[index]
        if node.process is not None:
            node.process.send_signal(signal.SIGKILL)
            node.process.wait()

    def stop(self) -> None:
        if self.balancer is not None:
            self.balancer.terminate()
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)  # uvicorn's graceful stop
        deadline = time.monotonic() + 15
        for proc in [n.process for n in self.nodes] + [self.balancer]:
            if proc is None:
                continue
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for out in [n._out for n in self.nodes] + [self._balancer_out]:
            if out is not None:
                out.close()

    def wait(self) -> int:
        """Run until the balancer or a process ends (or Ctrl-C); returns its exit code."""
        while True:
            for proc in [self.balancer, *(n.process for n in self.nodes)]:
                if proc is not None and proc.poll() is not None:
                    return proc.returncode or 0
            time.sleep(0.5)


def _maxconn() -> int:
    """As many connections as the file limit allows HAProxy (two descriptors each),
    raising this process's soft limit to the hard one first (HAProxy inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    limit = 200_000 if soft == resource.RLIM_INFINITY else soft
    return max(100, min(50_000, (limit - 200) // 2))


def wait_ready(
    base: str, timeout_s: float, log: Path, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{base}: the process ended ({process.returncode}); see {log}")
        try:
            if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{base} was not ready within {timeout_s:.0f} s; see {log}")

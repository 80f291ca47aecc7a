"""Load benchmark: N websocket clients against a real dispatch server on 127.0.0.1.

Crews and officers send positions every --interval s; officers raise alerts at
--alert-rate per second. Reports alert-sent -> offer-received-at-the-crew latency,
positions absorbed per second and server RSS, and writes them as JSON.
Run from the repository root: .venv/bin/python bench/dispatch_bench.py --help
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import itertools
import json
import math
import os
import platform
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from dispatch import people
from dispatch.storage.db import Database
from schemas.common import CrewMode, Role

ROOT = Path(__file__).resolve().parent.parent
CENTRE = (52.0565, -2.7160)  # Hereford
PASSWORD = "bench-password-123"
NO_OFFER_AFTER_S = 10.0


@dataclass
class Stats:
    respond: str = "resolve"
    measuring: bool = False
    joined: int = 0
    pos_sent: int = 0
    pos_acked: int = 0
    offers: int = 0
    sent: dict[str, float] = field(default_factory=dict)  # alert id -> perf_counter at send
    acked: dict[str, float] = field(default_factory=dict)  # alert id -> its ack arrived
    offered: dict[str, float] = field(default_factory=dict)  # alert id -> first offer at a crew
    errors: Counter[str] = field(default_factory=Counter)


def random_point(radius_m: float = 3000.0) -> tuple[float, float]:
    r, a = radius_m * math.sqrt(random.random()), random.uniform(0, 2 * math.pi)
    lat = CENTRE[0] + r * math.cos(a) / 111_195.0
    return lat, CENTRE[1] + r * math.sin(a) / (111_195.0 * math.cos(math.radians(lat)))


class Client:
    def __init__(self, ws: ClientConnection, role: Role, stats: Stats) -> None:
        self.ws, self.role, self.stats = ws, role, stats
        self.lat, self.lon = random_point()
        self.ids = itertools.count(1)
        self.waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.reader = asyncio.create_task(self.read())

    @classmethod
    async def join(cls, ws_url: str, token: str, role: Role, sem: asyncio.Semaphore,
                   stats: Stats) -> Client:  # fmt: skip
        async with sem:
            headers = {"Authorization": f"Bearer {token}"}
            ws = await connect(ws_url, additional_headers=headers, open_timeout=60,
                               ping_interval=None)  # fmt: skip
            client = cls(ws, role, stats)
            await client.request("sync", until="synced", last_seq=None)
            if role == Role.CREW:
                ack = await client.request("duty", on=True)
                assert ack["type"] == "ack", ack
            await client.send_position()
        stats.joined += 1
        if stats.joined % 200 == 0:
            print(f"  {stats.joined} clients connected", flush=True)
        return client

    async def send(self, type_: str, mid: str, **body: Any) -> None:
        await self.ws.send(json.dumps({"type": type_, "id": mid, **body}))

    async def request(self, type_: str, *, until: str = "", **body: Any) -> dict[str, Any]:
        """Send; wait for its ack or error, or for the frame type `until` ("synced")."""
        mid = f"s{next(self.ids)}"
        fut = self.waiters[until or mid] = asyncio.get_running_loop().create_future()
        await self.send(type_, mid, **body)
        return await asyncio.wait_for(fut, 60)

    async def send_position(self) -> None:
        self.lat += random.gauss(0, 2e-5)
        self.lon += random.gauss(0, 3e-5)
        self.stats.pos_sent += self.stats.measuring
        pos = {"lat": self.lat, "lon": self.lon, "accuracy": 5.0}
        await self.send("position", f"p{next(self.ids)}", position=pos)

    async def walk(self, interval: float) -> None:
        await asyncio.sleep(random.uniform(0, interval))
        while True:
            await self.send_position()
            await asyncio.sleep(interval * random.uniform(0.9, 1.1))

    async def read(self) -> None:
        st = self.stats
        try:
            async for text in self.ws:
                f = json.loads(text)
                kind = f["type"]
                if kind == "offer" and f["offer"]["state"] == "offered":
                    aid = f["offer"]["alert_id"]
                    st.offered.setdefault(aid, time.perf_counter())
                    st.offers += 1
                    verb = "offer.accept" if st.respond == "resolve" else "offer.decline"
                    await self.send(verb, f"x-{aid}", offer_id=f["offer"]["id"])
                elif kind in ("ack", "error"):
                    mid = f.get("id") or ""
                    if (fut := self.waiters.pop(mid, None)) is not None:
                        fut.set_result(f)
                    if kind == "error":
                        st.errors[f["code"]] += 1
                    elif mid[:1] == "p":
                        st.pos_acked += st.measuring
                    elif mid[:2] == "a-":
                        st.acked.setdefault(mid[2:], time.perf_counter())
                    elif mid[:2] == "x-" and st.respond == "resolve":  # accepted: clear at once
                        await self.send("assignment.status", f"r-{mid[2:]}", alert_id=mid[2:],
                                        status="resolved", outcome="false_alarm")  # fmt: skip
                elif kind == "synced" and (fut := self.waiters.pop("synced", None)) is not None:
                    fut.set_result(f)
        except Exception as exc:  # counted, not hidden: a socket lost mid-run skews the figures
            st.errors[f"loader:{type(exc).__name__}"] += 1
        for fut in self.waiters.values():
            if not fut.done():
                fut.set_exception(ConnectionError("socket closed during setup"))


async def sign_in(http: httpx.AsyncClient, user: str, sem: asyncio.Semaphore, stats: Stats) -> str:
    body, r = {"username": user, "password": PASSWORD}, None
    for _attempt in range(5):  # the server answers 500 "database is locked" at times
        async with sem:
            with contextlib.suppress(httpx.TransportError):
                if (r := await http.post("/api/session", json=body)).status_code < 500:
                    break
        stats.errors["setup:sign-in retried"] += 1
        await asyncio.sleep(0.5)
    if r is None:
        raise RuntimeError(f"could not sign in {user}")
    r.raise_for_status()
    token: str = r.json()["token"]
    return token


async def create_people(url: str, crews: int, officers: int) -> list[tuple[str, Role]]:
    """Crews and accounts straight into the database, before the server starts."""
    people.hash_password = functools.cache(people.hash_password)  # one argon2 hash, not N
    db, run, now = Database(url), uuid.uuid4().hex[:6], datetime.now(UTC)
    made: list[tuple[str, Role]] = []
    try:
        await db.create_tables()
        for i in range(crews + officers):
            user, role, callsign = f"o{run}-{i}", Role.OFFICER, None
            if i < crews:
                user, role, callsign = f"c{run}-{i}", Role.CREW, f"B{run}-{i}"
                mode = random.choice(list(CrewMode))
                await people.add_crew(db, callsign=callsign, mode=mode, now=now)
            await people.add_user(db, username=user, password=PASSWORD, role=role, now=now,
                                  crew_callsign=callsign)  # fmt: skip
            made.append((user, role))
    finally:
        await db.close()
    return made


def proc_figures(pid: int) -> tuple[float, float]:
    """(RSS in MB, CPU seconds used so far) of a process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return rss_kb / 1024, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def loop_lag(lags: list[float]) -> None:
    """The loader's own event-loop lag: if it is high, the loader is the bottleneck."""
    while True:
        t = time.perf_counter()
        await asyncio.sleep(0.05)
        lags.append((time.perf_counter() - t - 0.05) * 1000)


def pct(xs: list[float], q: float) -> float | None:
    return round(xs[max(0, math.ceil(q * len(xs)) - 1)], 2) if xs else None


def summary(xs: list[float]) -> dict[str, float | None]:
    xs = sorted(xs)
    out = {f"p{round(q * 100)}": pct(xs, q) for q in (0.5, 0.9, 0.99)}
    return {**out, "max": pct(xs, 1.0), "mean": round(sum(xs) / len(xs), 2) if xs else None}


async def run(args: argparse.Namespace, tmp: str) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    assert main_task is not None
    loop.add_signal_handler(signal.SIGTERM, main_task.cancel)  # so `finally` still runs
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    db_url = args.db or f"sqlite+aiosqlite:///{tmp}/bench.db"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DISPATCH_CONFIG": str(ROOT / "config.toml"),
           "DISPATCH_DATABASE_URL": db_url, "DISPATCH_PUBSUB_URL": "memory://",
           "DISPATCH_SERVER_HOST": "127.0.0.1", "DISPATCH_SERVER_PORT": str(port),
           "DISPATCH_DISPATCH_OFFER_TIMEOUT_S": "120"}  # fmt: skip
    t_setup = time.perf_counter()
    users = await create_people(db_url, args.crews, args.officers)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    log_path = args.out.with_name(args.out.stem + "-server.log")
    proc: subprocess.Popen[bytes] | None = None
    server_task: asyncio.Task[None] | None = None
    tasks: list[asyncio.Task[None]] = []
    clients: list[Client] = []
    stats, lags = Stats(respond=args.respond), []
    try:
        if args.server == "subprocess":
            # A plain Popen (it does not block): `finally` can stop it even if the loop is gone.
            with log_path.open("wb") as log:
                proc = subprocess.Popen(  # noqa: ASYNC220
                    [sys.executable, "-m", "dispatch.cli", "serve", "--port", str(port)],
                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
            pid = proc.pid
        else:  # shares the loader's event loop: for comparison only
            import uvicorn

            from dispatch.app import create_app
            from dispatch.config import load_settings
            from dispatch.server import uvicorn_config

            settings = load_settings(env=env)
            cfg = uvicorn_config(create_app(settings), settings, log_level="warning")
            server_task, pid = asyncio.create_task(uvicorn.Server(cfg).serve()), os.getpid()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/", timeout=120) as http:
            for _ in range(300):
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"server exited ({proc.returncode}); see {log_path}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"server did not answer /healthz; see {log_path}")
            # The server verifies argon2 hashes (~0.1-0.3 s) on its event loop, one at a time:
            # more concurrent sign-ins only hold SQLite write locks longer ("database is
            # locked"). All sign in first: meanwhile the server loop is busy (see README).
            sem = asyncio.Semaphore(2)
            tokens = await asyncio.gather(*(sign_in(http, u, sem, stats) for u, _ in users))
            t_signed = time.perf_counter()
            print(f"setup: {len(tokens)} signed in: {t_signed - t_setup:.1f} s", flush=True)
            sem, ws_url = asyncio.Semaphore(50), f"ws://127.0.0.1:{port}/ws"
            pairs = zip(tokens, (role for _, role in users), strict=True)
            joins = [Client.join(ws_url, token, role, sem, stats) for token, role in pairs]
            clients = list(await asyncio.gather(*joins))
        setup_s = time.perf_counter() - t_setup
        connect_s = time.perf_counter() - t_signed
        print(f"setup: {len(clients)} connected, synced, on duty: {connect_s:.1f} s", flush=True)
        officers = [c for c in clients if c.role == Role.OFFICER]
        tasks = [asyncio.create_task(c.walk(args.interval)) for c in clients]
        tasks.append(asyncio.create_task(loop_lag(lags)))
        await asyncio.sleep(args.interval)  # warm-up: position senders spread over one period
        stats.measuring, cpu0, t0 = True, proc_figures(pid)[1], time.perf_counter()
        for k in range(int(args.duration * args.alert_rate)):
            await asyncio.sleep(max(0.0, t0 + k / args.alert_rate - time.perf_counter()))
            officer, aid = random.choice(officers), uuid.uuid4().hex
            pos = {"lat": officer.lat, "lon": officer.lon, "accuracy": 8.0}
            stats.sent[aid] = time.perf_counter()
            await officer.send("alert.raise", f"a-{aid}", alert_id=aid, position=pos)
        await asyncio.sleep(max(0.0, t0 + args.duration - time.perf_counter()))
        stats.measuring, window = False, time.perf_counter() - t0
        rss_mb, cpu1 = proc_figures(pid)
        pos_sent, pos_acked = stats.pos_sent, stats.pos_acked
        for _ in range(int(NO_OFFER_AFTER_S / 0.2)):  # let the last alerts find their crews
            if stats.sent.keys() <= stats.offered.keys():
                break
            await asyncio.sleep(0.2)
    finally:
        for t in tasks:
            t.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*(c.ws.close() for c in clients)), 20)
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if server_task is not None:
            server_task.cancel()
            with contextlib.suppress(BaseException):
                await server_task
    delays = {a: stats.offered[a] - t for a, t in stats.sent.items() if a in stats.offered}
    lat = [d * 1000 for d in delays.values() if d <= NO_OFFER_AFTER_S]
    log_text = log_path.read_text(errors="replace") if proc is not None else ""
    config = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    config["db"] = db_url.rsplit("@", 1)[-1] if args.db else "sqlite (temporary file)"
    return {
        "config": config,
        "alerts_sent": len(stats.sent),
        "alerts_with_offer": len(lat),
        "no_offer": len(stats.sent) - len(lat),
        "latency_ms": summary(lat),
        "alert_ack_ms": summary(
            [(stats.acked[a] - t) * 1000 for a, t in stats.sent.items() if a in stats.acked]
        ),
        "offers_received": stats.offers,
        "positions_sent_per_s": round(pos_sent / window, 1),
        "positions_acked_per_s": round(pos_acked / window, 1),
        "server_rss_mb": round(rss_mb, 1),
        "server_cpu_pct": round(100 * (cpu1 - cpu0) / window, 1),
        "loader_loop_lag_ms": summary(lags),
        "client_errors": dict(stats.errors),
        "server_log_tracebacks": log_text.count("Traceback"),
        "server_log": str(log_path) if proc is not None else None,
        "setup_s": round(setup_s, 1),
        "setup_connect_s": round(connect_s, 1),
        "window_s": round(window, 2),
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--crews", type=int, default=800)
    p.add_argument("--officers", type=int, default=200)
    p.add_argument("--interval", type=float, default=5.0, help="position period, seconds")
    p.add_argument("--alert-rate", type=float, default=2.0, help="alerts per second")
    p.add_argument("--duration", type=float, default=30.0, help="measured seconds")
    p.add_argument("--db", help="postgresql+asyncpg://... (default: a temporary SQLite file)")
    p.add_argument("--out", type=Path, default=ROOT / "bench/results/dispatch.json")
    p.add_argument("--server", choices=["subprocess", "inproc"], default="subprocess",
                   help="inproc shares the loader's event loop: comparison only")  # fmt: skip
    p.add_argument("--respond", choices=["resolve", "decline"], default="resolve",
                   help="a crew's answer to an offer: accept then resolve, or decline")  # fmt: skip
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="dispatch-bench-") as tmp:
        try:
            result = asyncio.run(run(args, tmp))
        except (KeyboardInterrupt, asyncio.CancelledError):
            sys.exit("interrupted: the server was stopped, nothing written")
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result.items():
        if key not in ("config", "machine"):
            if isinstance(value, dict):
                value = " ".join(f"{k}={v}" for k, v in value.items()) or "none"
            print(f"  {key:<22} {value}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Load benchmark: N websocket clients against a real dispatch server on 127.0.0.1.

Crews and officers send positions every --interval s; officers raise alerts at
--alert-rate per second. Reports alert-sent -> offer-received latency at the
crew, positions absorbed per second and server RSS; writes them as JSON.
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
    measuring: bool = False
    pos_sent: int = 0
    pos_acked: int = 0
    offers: int = 0
    sent: dict[str, float] = field(default_factory=dict)  # alert id -> perf_counter at send
    acked: dict[str, float] = field(default_factory=dict)  # alert id -> raise acked
    offered: dict[str, float] = field(default_factory=dict)  # alert id -> first offer at a crew
    errors: Counter[str] = field(default_factory=Counter)


def random_point(radius_m: float = 3000.0) -> tuple[float, float]:
    r, a = radius_m * math.sqrt(random.random()), random.uniform(0, 2 * math.pi)
    lat = CENTRE[0] + r * math.cos(a) / 111_195.0
    return lat, CENTRE[1] + r * math.sin(a) / (111_195.0 * math.cos(math.radians(lat)))


class Client:
    def __init__(self, ws: ClientConnection, role: Role, stats: Stats, respond: str) -> None:
        self.ws, self.role, self.stats, self.respond = ws, role, stats, respond
        self.lat, self.lon = random_point()
        self.ids = itertools.count(1)
        self.waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.reader = asyncio.create_task(self.read())

    async def request(self, type_: str, *, until: str = "", **body: Any) -> dict[str, Any]:
        """Send; wait for its ack or error, or for the frame keyed `until` ("synced")."""
        mid = f"s{next(self.ids)}"
        fut = self.waiters[until or mid] = asyncio.get_running_loop().create_future()
        await self.ws.send(json.dumps({"type": type_, "id": mid, **body}))
        return await asyncio.wait_for(fut, 60)

    async def setup(self) -> None:
        await self.request("sync", until="synced", last_seq=None)
        if self.role == Role.CREW:
            ack = await self.request("duty", on=True)
            assert ack["type"] == "ack", ack
        await self.send_position()

    async def send_position(self) -> None:
        self.lat += random.gauss(0, 2e-5)
        self.lon += random.gauss(0, 3e-5)
        if self.stats.measuring:
            self.stats.pos_sent += 1
        pos = {"lat": self.lat, "lon": self.lon, "accuracy": 5.0}
        await self.ws.send(
            json.dumps({"type": "position", "id": f"p{next(self.ids)}", "position": pos})
        )

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
                if kind == "offer":
                    offer = f["offer"]
                    if offer["state"] == "offered":
                        st.offers += 1
                        st.offered.setdefault(offer["alert_id"], time.perf_counter())
                        verb = "offer.accept" if self.respond == "resolve" else "offer.decline"
                        aid = offer["alert_id"]
                        await self.ws.send(
                            json.dumps({"type": verb, "id": f"x-{aid}", "offer_id": offer["id"]})
                        )
                elif kind in ("ack", "error"):
                    mid = f.get("id") or ""
                    if kind == "error":
                        st.errors[f["code"]] += 1
                    if (fut := self.waiters.pop(mid, None)) is not None:
                        fut.set_result(f)
                    elif kind == "error":
                        pass
                    elif mid[:1] == "p":
                        st.pos_acked += st.measuring
                    elif mid[:2] == "a-":
                        st.acked.setdefault(mid[2:], time.perf_counter())
                    elif mid[:2] == "x-" and self.respond == "resolve":
                        msg = {
                            "type": "assignment.status",
                            "id": f"r-{mid[2:]}",
                            "alert_id": mid[2:],
                            "status": "resolved",
                            "outcome": "false_alarm",
                        }
                        await self.ws.send(json.dumps(msg))
                elif kind == "synced" and (fut := self.waiters.pop("synced", None)) is not None:
                    fut.set_result(f)
        except Exception as exc:  # counted, not hidden: a socket lost mid-run skews the figures
            st.errors[f"loader:{type(exc).__name__}"] += 1
        for fut in self.waiters.values():
            if not fut.done():
                fut.set_exception(ConnectionError("socket closed during setup"))


async def create_people(url: str, crews: int, officers: int, run: str) -> list[tuple[str, Role]]:
    people.hash_password = functools.cache(people.hash_password)  # one argon2 hash, not N
    db = Database(url)
    await db.create_tables()
    now, made = datetime.now(UTC), []
    try:
        for i in range(crews):
            callsign = f"B{run}-{i}"
            await people.add_crew(
                db, callsign=callsign, mode=random.choice(list(CrewMode)), now=now
            )
            await people.add_user(
                db,
                username=f"c{run}{i}",
                password=PASSWORD,
                role=Role.CREW,
                now=now,
                crew_callsign=callsign,
            )
            made.append((f"c{run}{i}", Role.CREW))
        for i in range(officers):
            await people.add_user(
                db, username=f"o{run}{i}", password=PASSWORD, role=Role.OFFICER, now=now
            )
            made.append((f"o{run}{i}", Role.OFFICER))
    finally:
        await db.close()
    return made


async def join(
    http: httpx.AsyncClient,
    ws_url: str,
    user: str,
    role: Role,
    sem: asyncio.Semaphore,
    stats: Stats,
    respond: str,
) -> Client:
    async with sem:
        r = await http.post("/api/session", json={"username": user, "password": PASSWORD})
    r.raise_for_status()
    ws = await connect(
        ws_url,
        additional_headers={"Authorization": f"Bearer {r.json()['token']}"},
        open_timeout=60,
        ping_interval=None,
        max_size=2**22,
    )
    client = Client(ws, role, stats, respond)
    await client.setup()
    return client


def proc_figures(pid: int) -> tuple[float, float]:
    """(RSS in MB, CPU seconds used) of a process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return rss_kb / 1024, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def loop_lag(lags: list[float]) -> None:
    while True:
        t = time.perf_counter()
        await asyncio.sleep(0.05)
        lags.append((time.perf_counter() - t - 0.05) * 1000)


def pct(xs: list[float], q: float) -> float:
    return round(xs[max(0, math.ceil(q * len(xs)) - 1)], 2) if xs else float("nan")


async def run(args: argparse.Namespace, tmp: str) -> dict[str, Any]:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    db_url = args.db or f"sqlite+aiosqlite:///{tmp}/bench.db"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "DISPATCH_CONFIG": str(ROOT / "config.toml"),
        "DISPATCH_DATABASE_URL": db_url,
        "DISPATCH_PUBSUB_URL": "memory://",
        "DISPATCH_SERVER_HOST": "127.0.0.1",
        "DISPATCH_DISPATCH_OFFER_TIMEOUT_S": "120",
    }
    t_setup = time.perf_counter()
    users = await create_people(db_url, args.crews, args.officers, uuid.uuid4().hex[:6])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    log_path = args.out.with_name(args.out.stem + "-server.log")
    proc: subprocess.Popen[bytes] | None = None
    server_task: asyncio.Task[None] | None = None
    tasks: list[asyncio.Task[None]] = []
    clients: list[Client] = []
    stats, lags = Stats(), []
    try:
        if args.server == "subprocess":
            with log_path.open("wb") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "dispatch.cli", "serve", "--port", str(port)],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            pid = proc.pid
        else:  # same process and event loop as the load: figures are for comparison only
            import uvicorn

            from dispatch.app import create_app
            from dispatch.config import load_settings
            from dispatch.server import uvicorn_config

            settings = load_settings(env={**env, "DISPATCH_SERVER_PORT": str(port)})
            cfg = uvicorn_config(create_app(settings), settings, log_level="warning")
            server_task = asyncio.create_task(uvicorn.Server(cfg).serve())
            pid = os.getpid()
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            for _ in range(300):
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"server exited ({proc.returncode}); see {log_path}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"server did not answer /healthz; see {log_path}")
            sem = asyncio.Semaphore(8)
            clients = list(
                await asyncio.gather(
                    *(
                        join(http, f"ws://127.0.0.1:{port}/ws", u, r, sem, stats, args.respond)
                        for u, r in users
                    )
                )
            )
        setup_s = time.perf_counter() - t_setup
        print(f"setup: {len(clients)} clients signed in, synced, on duty in {setup_s:.1f} s")
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
            await officer.ws.send(
                json.dumps(
                    {"type": "alert.raise", "id": f"a-{aid}", "alert_id": aid, "position": pos}
                )
            )
        await asyncio.sleep(max(0.0, t0 + args.duration - time.perf_counter()))
        stats.measuring, window = False, time.perf_counter() - t0
        rss_mb, cpu1 = proc_figures(pid)
        pos_sent, pos_acked = stats.pos_sent, stats.pos_acked
        deadline = time.perf_counter() + NO_OFFER_AFTER_S
        while time.perf_counter() < deadline and len(stats.offered.keys() & stats.sent) < len(
            stats.sent
        ):
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
    lat = sorted(
        (stats.offered[a] - t) * 1000
        for a, t in stats.sent.items()
        if a in stats.offered and stats.offered[a] - t <= NO_OFFER_AFTER_S
    )
    ack = sorted((stats.acked[a] - t) * 1000 for a, t in stats.sent.items() if a in stats.acked)
    lags.sort()
    log_text = log_path.read_text(errors="replace") if log_path.exists() else ""
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    config["db"] = db_url.split("@")[-1] if args.db else "sqlite (temporary file)"
    return {
        "config": config,
        "alerts_sent": len(stats.sent),
        "alerts_with_offer": len(lat),
        "no_offer": len(stats.sent) - len(lat),
        "latency_ms": {
            "p50": pct(lat, 0.5),
            "p90": pct(lat, 0.9),
            "p99": pct(lat, 0.99),
            "max": pct(lat, 1.0),
            "mean": round(sum(lat) / len(lat), 2) if lat else None,
        },
        "alert_ack_ms": {"p50": pct(ack, 0.5), "p99": pct(ack, 0.99), "max": pct(ack, 1.0)},
        "offers_received": stats.offers,
        "positions_sent_per_s": round(pos_sent / window, 1),
        "positions_acked_per_s": round(pos_acked / window, 1),
        "server_rss_mb": round(rss_mb, 1),
        "server_cpu_pct": round(100 * (cpu1 - cpu0) / window, 1),
        "loader_loop_lag_ms": {"p99": pct(lags, 0.99), "max": pct(lags, 1.0)},
        "client_errors": dict(stats.errors),
        "server_log_tracebacks": log_text.count("Traceback"),
        "server_log": str(log_path) if args.server == "subprocess" else None,
        "setup_s": round(setup_s, 1),
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
    p.add_argument(
        "--server",
        choices=["subprocess", "inproc"],
        default="subprocess",
        help="inproc shares the loader's event loop: comparison only",
    )
    p.add_argument(
        "--respond",
        choices=["resolve", "decline"],
        default="resolve",
        help="what a crew does with an offer: accept then resolve, or decline",
    )
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="dispatch-bench-") as tmp:
        result = asyncio.run(run(args, tmp))
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    lat, cfg = result["latency_ms"], result["config"]
    rows = [
        ("clients", f"{cfg['crews']} crews + {cfg['officers']} officers"),
        (
            "alerts sent / with offer / no offer",
            f"{result['alerts_sent']} / {result['alerts_with_offer']} / {result['no_offer']}",
        ),
        (
            "offer latency ms p50/p90/p99/max",
            f"{lat['p50']} / {lat['p90']} / {lat['p99']} / {lat['max']}  (mean {lat['mean']})",
        ),
        ("alert ack ms p50/p99/max", " / ".join(str(v) for v in result["alert_ack_ms"].values())),
        (
            "positions sent / acked per s",
            f"{result['positions_sent_per_s']} / {result['positions_acked_per_s']}",
        ),
        ("server RSS MB / CPU %", f"{result['server_rss_mb']} / {result['server_cpu_pct']}"),
        (
            "loader loop lag ms p99/max",
            " / ".join(str(v) for v in result["loader_loop_lag_ms"].values()),
        ),
        ("client errors", result["client_errors"] or "none"),
        ("server log tracebacks", result["server_log_tracebacks"]),
        ("setup s / window s", f"{result['setup_s']} / {result['window_s']}"),
    ]
    for name, value in rows:
        print(f"  {name:<38} {value}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

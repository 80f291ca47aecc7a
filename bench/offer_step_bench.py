"""The offer step alone, in one process, no sockets: 10,000 crews, all ready and fresh.

- ranking: `CrewIndex.rank` for the nearest crew (limit 1) and for two (an urgent alert);
- the whole offer step: `alerts.raise_alert` (the alert stored and its first offer made
  and stored in one transaction, events numbered, delivered in memory), on a real
  database (SQLite file by default, `--db postgresql+asyncpg://...` for PostgreSQL);
- the same step spaced out, `--gap-ms` apart (default 50: a night's raises come one at
  a time, not back to back). Back to back, each raise finds the one before it in the
  processor's caches; spaced out, it pays to fetch its code and data again, and on
  this machine that doubled it.
- the anchor: a bare TCP round trip (one byte) to an echo in another process, back to
  back and spaced alike. Spaced out, even that costs several times as much here: the
  sleeping process and processor are woken, and their caches fetched again. It is the
  machine's part of the spaced cost, which no code of ours can take away.

Prints p50 / p99 / max in microseconds with the sample counts and the load average, and
writes them to bench/results/offer_step.json.
Run from the repository root: .venv/bin/python bench/offer_step_bench.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from dispatch.auth.sessions import Viewer
from dispatch.config import load_settings
from dispatch.gc_policy import GcKeeper
from dispatch.realtime.hub import make_hub
from dispatch.storage.db import Database
from dispatch.storage.models import Crew, User
from dispatch.usecases.dispatcher import Dispatcher
from schemas.client import AlertRaise
from schemas.common import Position, Role

ROOT = Path(__file__).resolve().parent.parent
CENTRE = (52.0565, -2.7160)
MODES = ("foot", "bike", "car")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return round(xs[max(0, math.ceil(q * len(xs)) - 1)], 1)


def summary(xs: list[float]) -> dict[str, float]:
    return {"n": len(xs), "p50": pct(xs, 0.5), "p99": pct(xs, 0.99), "max": pct(xs, 1.0)}


ECHO_CHILD = """
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while data := s.recv(64):
    s.sendall(data)
"""


def bare_round_trips(samples: int, spaced: int, gap_s: float) -> tuple[list[float], list[float]]:
    """One byte to an echo in another process and back (us): back to back, then spaced."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        child = subprocess.Popen([sys.executable, "-c", ECHO_CHILD, str(listener.getsockname()[1])])
        conn, _ = listener.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    series: tuple[list[float], list[float]] = ([], [])
    with conn:
        for k in range(samples + spaced):
            if k >= samples:
                time.sleep(gap_s)
            start = time.perf_counter()
            conn.sendall(b"x")
            conn.recv(64)
            series[k >= samples].append((time.perf_counter() - start) * 1e6)
    child.wait(timeout=30)
    return series


def point(rng: random.Random) -> tuple[float, float]:
    return CENTRE[0] + rng.uniform(-0.05, 0.05), CENTRE[1] + rng.uniform(-0.08, 0.08)


async def run(args: argparse.Namespace, tmp: str) -> dict[str, Any]:
    rng = random.Random(7)
    url = args.db or f"sqlite+aiosqlite:///{tmp}/offer.db"
    settings = load_settings(env={}, overrides={"database.url": url, "pubsub.url": "memory://"})
    db = Database(url)
    await db.create_tables()
    now = datetime.now(UTC)
    # One officer per alert, as on a real night (one open alert each): a single officer
    # holding thousands of open alerts would time her position's fan-out over all of them.
    officers = [
        User(id=uuid.uuid4().hex, username=f"o{i}", display_name=f"o{i}", role="officer",
             password_hash="x", created_at=now)
        for i in range(args.samples + args.spaced_samples)
    ]  # fmt: skip
    crews = [
        {
            "id": uuid.uuid4().hex,
            "callsign": f"C{i}",
            "mode": MODES[i % 3],
            "state": "available",
            "last_lat": (p := point(rng))[0],
            "last_lon": p[1],
            "last_fix_at": now,
            "updated_at": now,
        }
        for i in range(args.crews)
    ]
    async with db.session() as s:
        s.add_all(officers)
        await s.commit()
        conn = await s.connection()
        await conn.execute(insert(Crew), crews)
        await s.commit()
    hub = make_hub("memory://")
    await hub.connect()
    d = Dispatcher.build(db=db, hub=hub, settings=settings)
    await d.start()
    for crew in crews:
        await d.crews.connected(crew["id"])
    GcKeeper(every_s=0, after_closed=1, closed=lambda: 0).start()  # as `dispatch serve` does
    index, rules, t = d.ctx.index, d.ctx.rules, time.time()
    rank1, rank2 = [], []
    for _ in range(args.samples):
        lat, lon = point(rng)
        start = time.perf_counter()
        index.rank(lat, lon, now=t, rules=rules, limit=1)
        rank1.append((time.perf_counter() - start) * 1e6)
        start = time.perf_counter()
        index.rank(lat, lon, now=t, rules=rules, limit=2)
        rank2.append((time.perf_counter() - start) * 1e6)
    steps: list[float] = []
    spaced: list[float] = []
    for k, officer in enumerate(officers):
        viewer = Viewer(officer.id, "o", Role.OFFICER, None, now + timedelta(hours=1), "h")
        lat, lon = point(rng)
        msg = AlertRaise(type="alert.raise", id="a", alert_id=uuid.uuid4().hex,
                         position=Position(lat=lat, lon=lon, accuracy=5.0))  # fmt: skip
        series = steps if k < args.samples else spaced
        if series is spaced:
            await asyncio.sleep(args.gap_ms / 1000)
        start = time.perf_counter()
        view, _ = await d.alerts.raise_alert(viewer, msg)
        series.append((time.perf_counter() - start) * 1e6)
        assert view.state == "dispatching", view.state
    await d.stop()
    await hub.disconnect()
    await db.close()
    return {
        "crews": args.crews,
        "db": "sqlite (temporary file)" if not args.db else url.rsplit("@", 1)[-1],
        "rank_nearest_us": summary(rank1),
        "rank_two_us": summary(rank2),
        "offer_step_us": summary(steps),
        "offer_step_spaced_us": summary(spaced) if spaced else None,
        "gap_ms": args.gap_ms,
        "targets": {"rank_nearest_us": 50, "offer_step_us": 1000},
        "load_average": os.getloadavg(),
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version()},
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--crews", type=int, default=10_000)
    p.add_argument("--samples", type=int, default=2000)
    p.add_argument("--spaced-samples", type=int, default=300,
                   help="raises timed after a pause of --gap-ms each (0: none)")  # fmt: skip
    p.add_argument("--gap-ms", type=float, default=50.0)
    p.add_argument("--db", help="postgresql+asyncpg://... (default: a temporary SQLite file)")
    p.add_argument("--out", type=Path, default=ROOT / "bench/results/offer_step.json")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="dispatch-offer-") as tmp:
        result = asyncio.run(run(args, tmp))
    bare, bare_spaced = bare_round_trips(args.samples, args.spaced_samples, args.gap_ms / 1000)
    result["anchor_round_trip_us"] = summary(bare)
    result["anchor_round_trip_spaced_us"] = summary(bare_spaced) if bare_spaced else None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{result['crews']} crews, all ready and fresh; {result['db']}; "
          f"load average {result['load_average']}")  # fmt: skip
    keys = ("rank_nearest_us", "rank_two_us", "offer_step_us", "offer_step_spaced_us")
    anchors = ("anchor_round_trip_us", "anchor_round_trip_spaced_us")
    for key in keys + anchors:
        s = result[key]
        if s is not None:
            print(f"  {key:<20} n={s['n']} p50={s['p50']} p99={s['p99']} max={s['max']}")
    if result["offer_step_spaced_us"] is not None:
        print(f"  (spaced: each raise {result['gap_ms']:g} ms after the one before)")
    print("  (anchor: one byte to an echo in another process and back, over TCP)")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

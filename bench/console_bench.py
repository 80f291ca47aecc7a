"""How the supervisor console's read paths scale: a real server over a seeded database.

Seeds a fresh database straight through the storage layer: one published operation
(20 places, 6 deployments a day for four weeks, one live now, two to come), 30
officers, 200 crews with two members each, 3 supervisors and --alerts closed alerts
over the four weeks (1-3 offers each, notes, outcomes, a few hundred track points;
most raised during a deployment). Then starts `python -m dispatch.cli serve` in its
own process, signs in as a supervisor and times each console read --repeat times
with httpx: the alert log (first page, searches, an operation, the next page), one
alert's timeline, the operation's report and CSV, the board and the people list.
Prints p50/p90/max per endpoint and writes everything to bench/results/console_bench.json.
Run from the repository root: .venv/bin/python bench/console_bench.py --help
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from pydantic_core import PydanticUndefined
from sqlalchemy import func, select, text

from dispatch.auth.passwords import hash_password
from dispatch.people import new_user
from dispatch.storage import models as m
from dispatch.storage.db import Database
from schemas.common import Role

ROOT = Path(__file__).resolve().parent.parent
CENTRE = (52.0565, -2.7160)  # Hereford
PASSWORD = "bench-password-123"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"  # as tests/support.py
OPERATION = "Jog On - Hereford (bench)"
SPEED = {"foot": 2.0, "bike": 5.0, "car": 9.0}  # config.toml [dispatch.speed_mps]
DETOUR = 1.4
PLACES = ["Castle Green", "Bishop's Meadow", "Riverside path", "High Town", "Commercial Road",
          "Widemarsh Street", "Old Market", "Edgar Street", "Victoria Bridge", "Hunderton Road",
          "Broad Street", "King George V Fields", "Aylestone Park", "Holmer Road", "Eign Gate",
          "Greyfriars Bridge", "Belmont Road", "Tupsley Common", "Newton Farm",
          "Rotherwas"]  # fmt: skip
FIRST = ["Amy", "Beth", "Cara", "Dana", "Ella", "Fay", "Gwen", "Hana", "Isla", "Jo", "Kate",
         "Lucy", "Mia", "Nia", "Orla", "Pia", "Rae", "Sian", "Tess", "Zoe"]  # fmt: skip
LAST = ["Evans", "Price", "Morgan", "Hughes", "Lloyd", "Powell", "Davies", "Bowen", "Pugh",
        "Rees", "Jones", "Watkins", "Griffiths", "Vaughan", "Parry"]  # fmt: skip
OUTCOMES = {"words_of_advice": 35, "offender_not_found": 25, "arrest": 15, "false_alarm": 15,
            "other": 10}  # fmt: skip
CATEGORIES = {"verbal": 45, "following": 25, "intimidation": 15, "physical": 8, "vehicle": 7}
NOTES = ["Suspect described as male, 20s, grey hoodie, heading towards the bridge.",
         "Second officer nearby asked to hold position.", "CCTV requested for the area.",
         "Officer reports the man has left on a bicycle.", "Witness details taken."]  # fmt: skip


# -- seeding -------------------------------------------------------------------------------


def near(point: tuple[float, float], rng: random.Random, radius_m: float) -> tuple[float, float]:
    r, a = radius_m * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
    lat = point[0] + r * math.cos(a) / 111_195.0
    return lat, point[1] + r * math.sin(a) / (111_195.0 * math.cos(math.radians(lat)))


def pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def uid() -> str:
    return uuid.uuid4().hex


def _default(value: Any) -> Any:
    return None if value is PydanticUndefined else value


class Seed:
    """Rows built in memory, then inserted in bulk, table by table."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng, self.now = rng, now
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.track_left = 0
        self.names: dict[str, str] = {}

    def add(self, model: type[Any], **given: Any) -> dict[str, Any]:
        """A row of `model`: the fields given, the model's defaults (or None) for the rest."""
        row = {k: given.get(k, _default(f.default)) for k, f in model.model_fields.items()}
        if row.get("id", 0) is None:  # autoincrement
            del row["id"]
        self.rows.setdefault(model.__tablename__, []).append(row)
        return row

    def people(self) -> None:
        digest, now, rng = hash_password(PASSWORD), self.now, self.rng  # one argon2 hash

        def user(name: str, display: str, role: Role, crew_id: str | None = None) -> str:
            u = new_user(
                username=name,
                display_name=display,
                role=role,
                password_hash=digest,
                crew_id=crew_id,
                now=now,
                pin_hashes=None,
            )
            self.add(m.User, **u.model_dump())
            self.names[u.id] = display
            return u.id

        self.supervisors = [
            user(f"sgt{i}", f"Sgt {rng.choice(LAST)}", Role.SUPERVISOR) for i in range(1, 4)
        ]
        self.officers = [
            user(f"officer{i:02}", f"PC {rng.choice(FIRST)} {rng.choice(LAST)}", Role.OFFICER)
            for i in range(1, 31)
        ]
        self.crews: list[tuple[str, str, str]] = []  # (id, callsign, mode)
        self.crew_of: dict[str, tuple[str, str, str]] = {}
        for i in range(1, 201):
            mode = rng.choices(["car", "bike", "foot"], [5, 3, 2])[0]
            crew_id, callsign = uid(), f"{mode.upper()}-{i:03}"
            lat, lon = near(CENTRE, rng, 3000)
            fix = now - timedelta(minutes=rng.uniform(1, 48 * 60))
            self.add(
                m.Crew,
                id=crew_id,
                callsign=callsign,
                mode=mode,
                state="off_duty",
                last_lat=lat,
                last_lon=lon,
                last_accuracy=rng.uniform(4, 20),
                last_fix_at=fix,
                updated_at=fix,
            )
            self.crews.append((crew_id, callsign, mode))
            self.crew_of[crew_id] = self.crews[-1]
            for k in (1, 2):
                user(
                    f"crew{i:03}{'ab'[k - 1]}", f"{callsign} {rng.choice(LAST)}", Role.CREW, crew_id
                )

    def operation(self) -> None:
        rng, now = self.rng, self.now
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        start, self.op_id = today - timedelta(days=28), uid()
        self.places = []
        for name in PLACES:
            pid, (lat, lon), risk = uid(), near(CENTRE, rng, 2500), round(rng.uniform(0.5, 4), 1)
            self.add(
                m.Place,
                id=pid,
                operation_id=self.op_id,
                name=name,
                lat=lat,
                lon=lon,
                radius_m=rng.choice([100.0, 150.0, 200.0, 250.0]),
                risk=risk,
            )
            self.places.append((pid, lat, lon, risk))
        self.add(
            m.Operation,
            id=self.op_id,
            name=OPERATION,
            area="Hereford",
            timezone="Europe/London",
            window_start=start,
            window_end=today + timedelta(days=2),
            deployments=171,
            min_duration_min=45,
            max_duration_min=120,
            allowed_hours=json.dumps(list(range(7, 23))),
            officer_ids=json.dumps(self.officers),
            crew_ids=json.dumps([c[0] for c in self.crews]),
            officers_per_deployment=2,
            crews_per_deployment=2,
            place_gap_h=12.0,
            rest_h=10.0,
            per_officer_per_day=2,
            state="published",
            created_at=start - timedelta(days=3),
            updated_at=start - timedelta(days=2),
        )
        self.deployments: list[tuple[str, datetime, datetime, list[str], list[str], int]] = []
        for day in range(28):
            for hour in rng.sample(range(7, 22), 6):
                begin = start + timedelta(days=day, hours=hour, minutes=rng.choice([0, 15, 30]))
                self.deployment(begin, rng.randint(45, 120), "ended")
        self.deployment(now - timedelta(minutes=30), 90, "live")
        for days in (1, 2):
            self.deployment(today + timedelta(days=days, hours=19), 90, "published")

    def deployment(self, begin: datetime, minutes: int, state: str) -> None:
        rng, dep_id = self.rng, uid()
        end = begin + timedelta(minutes=minutes)
        place = rng.choices(range(len(self.places)), [p[3] for p in self.places])[0]
        past = state in ("ended", "live")
        self.add(
            m.Deployment,
            id=dep_id,
            operation_id=self.op_id,
            place_id=self.places[place][0],
            starts_at=begin,
            ends_at=end,
            state=state,
            briefed_at=begin - timedelta(hours=2) if past else None,
            started_at=begin if past else None,
            ended_at=end if state == "ended" else None,
            updated_at=end if state == "ended" else begin,
        )
        officers, crews = rng.sample(self.officers, 2), rng.sample(range(len(self.crews)), 2)
        for officer in officers:
            self.add(m.DeploymentMember, deployment_id=dep_id, user_id=officer)
        for c in crews:
            self.add(m.DeploymentMember, deployment_id=dep_id, crew_id=self.crews[c][0])
        if state == "live":
            for c in crews:
                self.rows["crew"][c]["state"] = "available"
        if state == "ended":
            self.deployments.append(
                (dep_id, begin, end, officers, [self.crews[c][0] for c in crews], place)
            )

    def alerts(self, n: int) -> None:
        rng, start = self.rng, self.deployments[0][1].replace(hour=0, minute=0)
        weights = [self.places[d[5]][3] for d in self.deployments]
        self.track_left = 400
        for _ in range(n):
            if rng.random() < 0.85:
                dep = rng.choices(self.deployments, weights)[0]
                dep_id, begin, end, officers, team, place = dep
                raised = begin + (end - begin) * rng.random()
                officer, at = rng.choice(officers), near(self.places[place][1:3], rng, 200)
            else:
                dep_id, team, officer = None, [], rng.choice(self.officers)
                raised = start + timedelta(days=rng.randrange(28), hours=rng.uniform(7, 23))
                at = near(CENTRE, rng, 3000)
            self.alert(raised.replace(microsecond=0), officer, at, dep_id, team)

    def alert(
        self,
        raised: datetime,
        officer: str,
        at: tuple[float, float],
        dep_id: str | None,
        team: list[str],
    ) -> None:
        rng, alert_id = self.rng, uid()
        urgent, cancelled = rng.random() < 0.05, rng.random() < 0.22
        tries = rng.choices([1, 2, 3], [60, 28, 12])[0]
        order = team + [c[0] for c in rng.sample(self.crews, 6) if c[0] not in team]
        t = raised + timedelta(seconds=rng.uniform(0.3, 2.0))
        notes: list[tuple[datetime, str | None, str, str | None, str]] = []
        taker = rng.choice(self.supervisors)
        by_hand = tries > 1 and rng.random() < 0.5
        accepted = on_scene = None
        for k in range(tries + (1 if urgent else 0)):
            if k == tries:  # the second crew of an urgent alert, once she pressed "urgent"
                t = max(t, raised + timedelta(seconds=rng.uniform(5.2, 6)))
            crew_id, _callsign, mode = self.crew_of[order[k]]
            distance = rng.uniform(150, 1200 if mode == "foot" else 3000)
            eta = distance * DETOUR / SPEED[mode]
            row = self.add(
                m.Offer,
                id=uid(),
                alert_id=alert_id,
                crew_id=crew_id,
                state="offered",
                created_at=t,
                deadline=t + timedelta(seconds=30),
                distance_m=round(distance, 1),
                eta_s=round(eta, 1),
            )
            if k < tries - 1:  # declined or let expire: the next crew is offered at once
                gone = rng.random() < 0.6
                t = t + timedelta(seconds=rng.uniform(4, 25) if gone else 30)
                row.update(state="declined" if gone else "expired", closed_at=t)
                continue
            if k == tries - 1 and by_hand:  # nobody left: escalated, taken, assigned by hand
                notes.append((t, None, "unassigned", None, "No crew free: escalated."))
                t = t + timedelta(seconds=rng.uniform(10, 60))
                notes.append((t, taker, "take", None, ""))
                t = t + timedelta(seconds=rng.uniform(5, 40))
                notes.append((t, taker, "assign", crew_id, "Nearest crew, finishing a stop."))
                row.update(created_at=t, deadline=t, accepted_at=t, assigned_by=taker)
            else:
                row["accepted_at"] = t + timedelta(seconds=rng.uniform(3, 25))
            accepted = min(accepted or row["accepted_at"], row["accepted_at"])
            row.update(state="accepted", assignment_status="cleared")
            if cancelled and not by_hand and rng.random() < 0.5:
                row.update(
                    state="withdrawn",
                    reason="alert cancelled",
                )
                accepted = None
                continue
            if not cancelled:
                row["on_scene_at"] = row["accepted_at"] + timedelta(
                    seconds=eta * rng.uniform(0.7, 1.4)
                )
                on_scene = min(on_scene or row["on_scene_at"], row["on_scene_at"])
        last = on_scene or accepted or t
        closed = last + timedelta(
            seconds=rng.uniform(60, 40 * 60) if on_scene else rng.uniform(20, 300)
        )
        for offer in self.rows["offer"][-(tries + urgent) :]:
            offer["closed_at"] = offer["closed_at"] or closed
        outcome = None if cancelled else pick(rng, OUTCOMES)
        reason = "resolved by crew"
        if cancelled:
            reason = "cancelled by the officer"
            if rng.random() < 0.5:
                why = rng.choice(["Officer safe, false alarm.", "Pressed by mistake."])
                notes.append((closed, taker, "cancel", None, why))
                reason = f"cancelled by a supervisor: {why}"
        if rng.random() < 0.15:
            notes.append((raised + (closed - raised) / 2, taker, "note", None, rng.choice(NOTES)))
        if urgent:
            notes.append((raised + timedelta(seconds=5), None, "urgent", None, ""))
        for when, user_id, action, crew, words in sorted(notes, key=lambda x: x[0]):
            note = {
                "at": when,
                "user_id": user_id,
                "action": action,
                "crew_id": crew,
                "text": words,
            }
            self.add(m.AlertNote, alert_id=alert_id, **note)
        if self.track_left > 0 and (urgent or rng.random() < 0.01):
            lat, lon = at
            for i in range(min(self.track_left, rng.randint(4, 12))):
                lat, lon = near((lat, lon), rng, 8)
                self.add(
                    m.AlertTrack,
                    alert_id=alert_id,
                    lat=lat,
                    lon=lon,
                    accuracy=6.0,
                    at=raised + timedelta(seconds=5 * i),
                )
                self.track_left -= 1
        self.add(
            m.Alert,
            id=alert_id,
            officer_id=officer,
            state="cancelled" if cancelled else "resolved",
            urgent=urgent,
            crews_needed=2 if urgent else 1,
            category=pick(rng, CATEGORIES) if rng.random() < 0.8 else None,
            note="Man following me along the path." if rng.random() < 0.1 else None,
            lat=at[0],
            lon=at[1],
            accuracy=round(rng.uniform(4, 25), 1),
            raised_at=raised,
            updated_at=closed,
            closed_at=closed,
            outcome=outcome,
            outcome_note="Spoken to and sent on his way." if outcome == "words_of_advice" else None,
            close_reason=reason,
            deployment_id=dep_id,
            taken_by=self.names[taker] if by_hand else None,
        )


ORDER: list[type[Any]] = [
    m.Crew,
    m.User,
    m.Operation,
    m.Place,
    m.Deployment,
    m.DeploymentMember,
    m.Alert,
    m.Offer,
    m.AlertNote,
    m.AlertTrack,
]


async def seed(url: str, alerts: int, rng: random.Random) -> dict[str, Any]:
    """Build the rows and insert them; returns what the timings need."""
    data = Seed(rng, datetime.now(UTC).replace(microsecond=0))
    data.people()
    data.operation()
    data.alerts(alerts)
    db = Database(url)
    try:
        await db.create_tables()
        async with db.engine.begin() as conn:
            for model in ORDER:
                rows = data.rows.get(model.__tablename__, [])
                for i in range(0, len(rows), 2000):
                    await conn.execute(model.__table__.insert(), rows[i : i + 2000])
        counts: dict[str, int] = {}
        async with db.engine.connect() as conn:
            if not db.is_sqlite:  # autovacuum would, soon after; the planner needs the figures
                await conn.execute(text("ANALYZE"))
            for model in ORDER:
                counts[model.__tablename__] = (
                    await conn.execute(select(func.count()).select_from(model.__table__))
                ).scalar_one()
    finally:
        await db.close()
    busy = Counter(offer["crew_id"] for offer in data.rows["offer"])
    callsign = next(c[1] for c in data.crews if busy.get(c[0]))
    return {
        "counts": counts,
        "alert_ids": [a["id"] for a in data.rows["alert"]],
        "callsign": callsign,
    }


async def create_pg_database() -> str:
    name = f"dispatch_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name


async def drop_pg_database(name: str) -> None:
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def pg_size(name: str) -> int:
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        size: int = await admin.fetchval("SELECT pg_database_size($1)", name)
    finally:
        await admin.close()
    return size


# -- timing --------------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    try:
        import psutil  # type: ignore[import-untyped]

        return float(psutil.Process(pid).memory_info().rss) / 2**20
    except ImportError:
        status = Path(f"/proc/{pid}/status").read_text()
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        return kb / 1024


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return round(xs[max(0, math.ceil(q * len(xs)) - 1)], 1)


@contextlib.contextmanager
def server(db_url: str, log_path: Path) -> Iterator[tuple[int, int]]:
    """The real server in its own process; yields (port, pid)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "DISPATCH_CONFIG": str(ROOT / "config.toml"),
        "DISPATCH_DATABASE_URL": db_url,
        "DISPATCH_PUBSUB_URL": "memory://",
        "DISPATCH_SERVER_HOST": "127.0.0.1",
        "DISPATCH_SERVER_PORT": str(port),
    }
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dispatch.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(f"server exited ({proc.returncode}); see {log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError(f"server did not answer /healthz; see {log_path}")
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def get(http: httpx.Client, path: str) -> httpx.Response:
    """GET, once more on a fresh connection if the server dropped the kept-alive one
    (it does after an unhandled error)."""
    try:
        return http.get(path)
    except httpx.TransportError:
        return http.get(path)


def measure(http: httpx.Client, repeat: int, paths: Callable[[int], str]) -> dict[str, Any]:
    """One untimed first call, then `repeat` timed ones; path i may differ per call.
    A refusal or a server error is recorded (status and text), not timed."""
    first = get(http, paths(-1))
    if not first.is_success:
        return {"status": first.status_code, "error": first.text[:300]}
    times, size = [], 0
    for i in range(repeat):
        t = time.perf_counter()
        r = get(http, paths(i))
        times.append((time.perf_counter() - t) * 1000)
        if not r.is_success:
            return {"status": r.status_code, "error": r.text[:300]}
        size = len(r.content)
    return {
        "p50_ms": pct(times, 0.5),
        "p90_ms": pct(times, 0.9),
        "max_ms": pct(times, 1.0),
        "first_ms": round(first.elapsed.total_seconds() * 1000, 1),
        "bytes": size,
    }


def time_console(
    port: int, repeat: int, seeded: dict[str, Any], rng: random.Random
) -> dict[str, Any]:
    base = f"http://127.0.0.1:{port}"
    body = {"username": "sgt1", "password": PASSWORD}
    token = httpx.post(f"{base}/api/session", json=body, timeout=60).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    results: dict[str, Any] = {}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as http:
        page = http.get("/api/console/alerts").json()
        cursor, op = page["next_cursor"], httpx.QueryParams(operation=OPERATION)
        ids = rng.sample(seeded["alert_ids"], repeat + 1)
        report = get(http, f"/api/console/operations/{OPERATION}/report")
        paths: dict[str, Callable[[int], str]] = {
            "alerts first page": lambda i: "/api/console/alerts",
            "alerts q=arrest": lambda i: "/api/console/alerts?q=arrest",
            f"alerts q={seeded['callsign']}": lambda i: (
                f"/api/console/alerts?q={seeded['callsign']}"
            ),
            "alerts q=nomatch": lambda i: "/api/console/alerts?q=nomatch",
            "alerts operation=": lambda i: f"/api/console/alerts?{op}",
            "alerts next page": lambda i: f"/api/console/alerts?cursor={cursor}",
            "alert timeline": lambda i: f"/api/console/alerts/{ids[i]}",
            "operation report": lambda i: f"/api/console/operations/{OPERATION}/report",
            "operation report.csv": lambda i: f"/api/console/operations/{OPERATION}/report.csv",
            "board": lambda i: "/api/console/board",
            "people": lambda i: "/api/console/people",
        }
        for name, path in paths.items():
            results[name] = measure(http, repeat, path)
            r = results[name]
            if "error" in r:
                print(f"  {name:<26} FAILED {r['status']}: {r['error'][:60]}", flush=True)
                continue
            print(
                f"  {name:<26} p50 {r['p50_ms']:>8} ms  p90 {r['p90_ms']:>8}"
                f"  max {r['max_ms']:>8}  ({r['bytes']:,} bytes)",
                flush=True,
            )
    covered = report.json()["alerts"] if report.is_success else None
    return {"endpoints": results, "report_alerts": covered}


# -- main ----------------------------------------------------------------------------------


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--alerts", type=int, default=20_000, help="closed alerts to seed")
    p.add_argument("--repeat", type=int, default=20, help="timed calls per endpoint")
    p.add_argument(
        "--postgres",
        action="store_true",
        help="a fresh PostgreSQL database on 127.0.0.1:5432 (dropped afterwards)",
    )
    p.add_argument("--seed", type=int, default=1, help="the data's random seed")
    p.add_argument("--out", type=Path, default=ROOT / "bench/results/console_bench.json")
    args = p.parse_args()
    rng = random.Random(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="console-bench-") as tmp:
        pg_name = asyncio.run(create_pg_database()) if args.postgres else None
        url = (
            f"postgresql+asyncpg://postgres@127.0.0.1:5432/{pg_name}"
            if pg_name
            else f"sqlite+aiosqlite:///{tmp}/bench.db"
        )
        try:
            t = time.perf_counter()
            seeded = asyncio.run(seed(url, args.alerts, rng))
            seed_s = time.perf_counter() - t
            print(f"seeded {seeded['counts']} in {seed_s:.1f} s", flush=True)
            if pg_name:
                size = asyncio.run(pg_size(pg_name))
            else:
                size = sum(f.stat().st_size for f in Path(tmp).glob("bench.db*"))
            log_path = args.out.with_name(args.out.stem + "-server.log")
            with server(url, log_path) as (port, pid):
                timed = time_console(port, args.repeat, seeded, rng)
                rss = rss_mb(pid)
        finally:
            if pg_name:
                asyncio.run(drop_pg_database(pg_name))
    result = {
        "database": "postgresql" if pg_name else "sqlite",
        "database_mb": round(size / 2**20, 1),
        "rows": seeded["counts"],
        "seed_s": round(seed_s, 1),
        **timed,
        "server_rss_mb": round(rss, 1),
        "server_log_tracebacks": log_path.read_text(errors="replace").count("Traceback"),
        "config": {"alerts": args.alerts, "repeat": args.repeat, "seed": args.seed},
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"  database {result['database']} {result['database_mb']} MB, seeded in {seed_s:.1f} s;"
        f" report covers {timed['report_alerts']} alerts; server RSS {rss:.0f} MB"
    )
    print(f"wrote {args.out}")
    failed = [name for name, r in timed["endpoints"].items() if "error" in r]
    if failed:
        sys.exit(f"failed: {', '.join(failed)} (see {log_path})")


if __name__ == "__main__":
    main()

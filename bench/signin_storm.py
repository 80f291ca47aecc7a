"""Alert-to-offer latency with and without sign-ins in flight.

Password hashing (argon2) must never stall alerts. One crew, one officer and a server
process on a temporary SQLite database: 20 alerts measured quietly, then 20 while
four clients sign in continuously. Prints p50/max; writes bench/results/signin_storm.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dispatch.people import add_crew, add_user  # noqa: E402
from dispatch.storage.db import Database  # noqa: E402
from schemas.common import CrewMode, Role  # noqa: E402

PASSWORD = "password1"
HERE = {"lat": 52.0565, "lon": -2.7160}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def make_people(url: str) -> None:
    db = Database(url)
    await db.create_tables()
    now = datetime.now(UTC)
    await add_crew(db, callsign="C1", mode=CrewMode.CAR, now=now)
    await add_user(
        db, username="crew", password=PASSWORD, role=Role.CREW, now=now, crew_callsign="C1"
    )
    for name in ("officer", "storm"):
        await add_user(db, username=name, password=PASSWORD, role=Role.OFFICER, now=now)
    await db.close()


async def open_socket(port: int, http: httpx.AsyncClient, username: str) -> ClientConnection:
    reply = await http.post("/api/session", json={"username": username, "password": PASSWORD})
    token = reply.json()["token"]
    ws = await connect(
        f"ws://127.0.0.1:{port}/ws", additional_headers={"Authorization": f"Bearer {token}"}
    )
    await ws.send(json.dumps({"type": "sync", "id": "sync", "last_seq": None}))
    return ws


async def measure(crew: ClientConnection, officer: ClientConnection, n: int) -> list[float]:
    """Raise n alerts one after another; the crew declines each offer at once."""
    out = []
    for i in range(n):
        await crew.send(json.dumps({"type": "position", "id": f"p{i}", "position": HERE}))
        alert_id = uuid.uuid4().hex
        start = time.perf_counter()
        await officer.send(
            json.dumps(
                {"type": "alert.raise", "id": alert_id, "alert_id": alert_id, "position": HERE}
            )
        )
        while True:
            frame = json.loads(await crew.recv())
            if frame["type"] == "offer" and frame["offer"]["state"] == "offered":
                out.append((time.perf_counter() - start) * 1000)
                await crew.send(
                    json.dumps(
                        {"type": "offer.decline", "id": f"d{i}", "offer_id": frame["offer"]["id"]}
                    )
                )
                break
        await asyncio.sleep(0.05)
    return sorted(out)


async def main() -> None:
    folder = tempfile.mkdtemp()
    url = f"sqlite+aiosqlite:///{folder}/storm.db"
    await make_people(url)
    port = free_port()
    server = subprocess.Popen(  # noqa: ASYNC220 (spawns, does not wait)
        [sys.executable, "-m", "dispatch.cli", "serve", "--port", str(port)],
        env={**os.environ, "DISPATCH_DATABASE_URL": url},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(200):
                try:
                    await http.get("/healthz")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            crew = await open_socket(port, http, "crew")
            officer = await open_socket(port, http, "officer")
            await crew.send(json.dumps({"type": "duty", "id": "duty", "on": True}))
            quiet = await measure(crew, officer, 20)

            stop = asyncio.Event()

            async def sign_in_forever() -> None:
                while not stop.is_set():
                    await http.post(
                        "/api/session", json={"username": "storm", "password": PASSWORD}
                    )

            storm = [asyncio.create_task(sign_in_forever()) for _ in range(4)]
            await asyncio.sleep(0.5)
            loud = await measure(crew, officer, 20)
            stop.set()
            await asyncio.gather(*storm)
    finally:
        server.terminate()
        server.wait(10)
    results = {}
    for name, values in (("no_sign_ins", quiet), ("four_sign_ins_in_flight", loud)):
        results[name] = {
            "p50_ms": round(statistics.median(values), 1),
            "max_ms": round(values[-1], 1),
        }
        print(f"{name:>24}: p50 {results[name]['p50_ms']} ms, max {results[name]['max_ms']} ms")
    out = ROOT / "bench" / "results" / "signin_storm.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"when": datetime.now(UTC).isoformat(), **results}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    asyncio.run(main())

"""Public-report flood benchmark: does a flood of submissions to the public report API
slow dispatch? One dispatch server process (SQLite in a temporary file, or PostgreSQL),
crews and officers connected over websockets with positions flowing, alerts raised at a
steady rate; alert -> offer latency is measured twice in the same run: without a flood
("quiet"), then while one source floods POST /api/public/reports at 1,000 a minute
("flood", from a process of its own; each submission fetches a challenge and does its
proof of work, as the page does). Prints the figures and writes
bench/results/public-flood.json.

Small (about 1.5 min):  .venv/bin/python bench/public_flood_bench.py --alerts 60
Full (about 8 min):     .venv/bin/python bench/public_flood_bench.py --alerts 1000 --alert-rate 5
Run from the repository root. See bench/README.md for the load benchmark it borrows from.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import servers
from loadgen.common import ROOT, LoopLag, git_commit, loadavg, summary
from loadgen.phases import alert_figures, bounded, close_all, say, stop_tasks, wait_offers
from loadgen.phones import Phone, Tally
from loadgen.window import Window

from dispatch.public_reports import pow

REPORT = {"kind": "catcalling", "lat": 52.0565, "lon": -2.716, "occurred_at": "now",
          "description": "bench", "language": "en"}  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--db", default="sqlite", choices=("sqlite", "postgres"))
    p.add_argument("--crews", type=int, default=300)
    p.add_argument("--officers", type=int, default=100)
    p.add_argument("--interval", type=float, default=5.0, help="position period, s")
    p.add_argument("--alerts", type=int, default=120, help="alerts in each phase")
    p.add_argument("--alert-rate", type=float, default=2.0, help="alerts per second")
    p.add_argument("--flood", type=int, default=1000, help="submissions per --flood-s")
    p.add_argument("--flood-s", type=float, default=60.0,
                   help="the flood's rate is --flood per this many seconds; it lasts\n"
                        "as long as the flood phase's alerts (at least this long)")  # fmt: skip
    p.add_argument("--sources", type=int, default=1,
                   help="client addresses the flood comes from (X-Forwarded-For from a\n"
                        "trusted balancer when more than 1)")  # fmt: skip
    p.add_argument("--pow-bits", type=int, default=8, help="the server's proof-of-work bits")
    p.add_argument("--settle", type=float, default=3.0)
    p.add_argument("--connect-concurrency", type=int, default=100)
    p.add_argument("--out", type=Path, default=ROOT / "bench/results/public-flood.json")
    return p.parse_args(argv)


class Flood:
    """Submissions at a fixed rate, each its own task (a slow server does not slow it)."""

    def __init__(self, base: str, sources: int) -> None:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        self.http = httpx.AsyncClient(base_url=base, timeout=60, limits=limits)
        self.sources = [f"198.51.100.{i % 250 + 1}" for i in range(sources)]
        self.statuses: Counter[str] = Counter()
        self.ms: list[float] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.sent = 0

    async def one(self, source: str) -> None:
        t = time.perf_counter()
        headers = {"X-Forwarded-For": source} if len(self.sources) > 1 else {}
        try:
            got = (await self.http.get("/api/public/challenge", headers=headers)).json()
            work = {
                "challenge": got["challenge"],
                "nonce": pow.solve(got["challenge"], got["bits"]),
            }
            response = await self.http.post("/api/public/reports", json={**REPORT, **work},
                                            headers=headers)  # fmt: skip
            code = response.json().get("code") or response.json().get("status")
            self.statuses[f"{response.status_code} {code}"] += 1
        except Exception as exc:
            self.statuses[f"error {type(exc).__name__}"] += 1
        self.ms.append((time.perf_counter() - t) * 1000)

    async def run(self, rate: float, seconds: float) -> None:
        t0, k = time.perf_counter(), 0
        while k < rate * seconds:
            await asyncio.sleep(max(0.0, t0 + k / rate - time.perf_counter()))
            task = asyncio.create_task(self.one(self.sources[k % len(self.sources)]))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            k += 1
        self.sent = k
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def close(self) -> None:
        await self.http.aclose()


async def flood_worker(base: str, rate: float, seconds: float, sources: int) -> None:
    """The flood in a process of its own (--flood-worker): the loader's event loop, which
    times the alerts, does none of its work. Prints its figures as one JSON line."""
    flood = Flood(base, sources)
    try:
        await flood.run(rate, seconds)
    finally:
        await flood.close()
    out = {"sent": flood.sent, "answers": dict(flood.statuses), "ms": summary(flood.ms)}
    print(json.dumps(out), flush=True)


async def start_flood(base: str, rate: float, seconds: float, sources: int) -> Any:
    argv = [__file__, "--flood-worker", base, str(rate), str(seconds), str(sources)]
    return await asyncio.create_subprocess_exec(
        sys.executable, *argv, stdout=asyncio.subprocess.PIPE, cwd=ROOT
    )


async def alerts_phase(officers: list[Phone], tally: Tally, args: argparse.Namespace,
                       phase: str) -> None:  # fmt: skip
    t0 = time.perf_counter()
    for k in range(args.alerts):
        await asyncio.sleep(max(0.0, t0 + k / args.alert_rate - time.perf_counter()))
        live = [o for o in officers if o.connected] or officers
        await random.choice(live).raise_alert(uuid.uuid4().hex, phase)
    await wait_offers(tally, phase, timeout=30)


async def run(args: argparse.Namespace, tmp: str) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    lag = LoopLag()
    lag.start()
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git_commit(),
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version()},
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "loadavg_start": loadavg(),
    }
    async with servers.database(args.db, tmp) as db_url:
        say(f"seeding {args.crews} crews, {args.officers} officers ({args.db})")
        people = await servers.seed(db_url, args.crews, args.officers, 0)
        env = {"DISPATCH_PUBLIC_REPORTS_POW_BITS": str(args.pow_bits)}
        if args.sources > 1:
            env["DISPATCH_SERVER_TRUSTED_PROXIES"] = "127.0.0.1"
        log = args.out.parent / f"{args.out.stem}-server.log"
        server = servers.start_product(db_url, log, env)
        tally = Tally(ws_url=server.ws_url)
        phones = [Phone(p, tally) for p in people]
        officers = [p for p in phones if p.role == "officer"]
        walkers: list[asyncio.Task[Any]] = []
        flooding: Any = None
        try:
            await server.ready()
            t = time.perf_counter()
            ok = await bounded(phones, lambda p: p.join(time.perf_counter() + 300, first=True),
                               args.connect_concurrency)  # fmt: skip
            say(f"{ok}/{len(phones)} phones connected in {time.perf_counter() - t:.1f} s")
            walkers = [asyncio.create_task(p.walk(args.interval)) for p in phones]
            await asyncio.sleep(args.interval)

            say(f"quiet: {args.alerts} alerts at {args.alert_rate}/s, no flood")
            async with Window(server, lag, tally.errors) as w:
                await alerts_phase(officers, tally, args, "quiet")
            result["quiet"] = {**alert_figures(tally, "quiet"), **w.figures}
            await asyncio.sleep(args.settle)

            rate = args.flood / args.flood_s
            say(f"flood: {args.alerts} alerts at {args.alert_rate}/s while {args.sources} "
                f"source(s) submit {rate * 60:.0f} reports a minute")  # fmt: skip
            seconds = max(args.flood_s, args.alerts / args.alert_rate)
            async with Window(server, lag, tally.errors) as w:
                flooding = await start_flood(server.base, rate, seconds, args.sources)
                await alerts_phase(officers, tally, args, "flood")
                out, _ = await flooding.communicate()
            figures = json.loads(out.decode().strip().splitlines()[-1])
            result["flood"] = {**alert_figures(tally, "flood"), **w.figures}
            result["flood"]["submissions"] = {
                "sent": figures["sent"],
                "per_min": round(rate * 60),
                "seconds": round(seconds, 1),
                "sources": args.sources,
                "answers": figures["answers"],
                "round_trip_ms": figures["ms"],  # challenge + work + submit
            }
        finally:
            if flooding is not None and flooding.returncode is None:
                flooding.kill()
                await flooding.wait()
            tally.running = False
            stop_tasks(walkers)
            await close_all(phones)
            server.stop()
    result["loadavg_end"] = loadavg()
    result["loader_loop_lag_ms"] = lag.since(0)
    return result


def table(r: dict[str, Any]) -> str:
    rows = [
        "phase   alerts  offered  alert->offer ms p50 / p90 / p99 / max   server CPU %  load avg"
    ]
    for phase in ("quiet", "flood"):
        f = r[phase]
        s = f["alert_to_offer_ms"]
        rows.append(
            f"{phase:<7} {f['alerts_sent']:>6}  {f['alerts_offered']:>7}  "
            f"{s['p50']} / {s['p90']} / {s['p99']} / {s['max']}".ljust(67)
            + f"{f['server_cpu_pct']:>8}   {f['loadavg_start']} -> {f['loadavg_end']}"
        )
    sub = r["flood"]["submissions"]
    rt = sub["round_trip_ms"]
    rows.append(
        f"flood: {sub['sent']} submissions ({sub['per_min']}/min from {sub['sources']} "
        f"source(s)): {sub['answers']}; round trip p50 {rt['p50']} ms, p99 {rt['p99']} ms"
    )
    n = r["quiet"]["alert_to_offer_ms"]["n"]
    if n < 1000:
        rows.append(f"note: {n} alerts per phase: p99 rests on few samples (--alerts 1000 for it)")
    return "\n".join(rows)


def main() -> None:
    if sys.argv[1:2] == ["--flood-worker"]:
        base, rate, seconds, sources = sys.argv[2:6]
        asyncio.run(flood_worker(base, float(rate), float(seconds), int(sources)))
        return
    args = parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(prefix="dispatch-flood-") as tmp:
        try:
            result = asyncio.run(run(args, tmp))
        except (KeyboardInterrupt, asyncio.CancelledError):
            print("interrupted: the server was stopped, nothing written", file=sys.stderr)
        finally:
            servers.stop_all()
    if result is None:
        sys.exit(1)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

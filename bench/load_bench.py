"""Load benchmark: 5,000 phones against one dispatch server process, measured against a
bare FastAPI/uvicorn websocket echo under the same load, in one run. With --processes
1,2 the product phases run once per count (N > 1: N processes behind HAProxy on
PostgreSQL and Redis), each on a freshly seeded database, and are compared.

Phases (--phases picks some): echo (the anchor), steady (alerts at 2/s under positions
from every phone), burst (50 alerts at once), capacity (closed-loop positions), storm
(every phone reconnects at once with its last seq). See bench/README.md.
Run from the repository root: .venv/bin/python bench/load_bench.py --help
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import cluster, servers
from loadgen.common import ROOT, LoopLag, git_commit, loadavg
from loadgen.compare import cluster_table, comparison
from loadgen.phases import echo_phase, product_phases, say
from loadgen.report import table

PHASES = ("echo", "steady", "burst", "capacity", "storm")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--db", default="sqlite",
                   help="sqlite (a temporary file), postgres (a fresh database on\n"
                        "127.0.0.1:5432, dropped after), or a postgresql+asyncpg:// URL\n"
                        "of an empty database")  # fmt: skip
    p.add_argument("--crews", type=int, default=4000)
    p.add_argument("--officers", type=int, default=1000)
    p.add_argument("--supervisors", type=int, default=2)
    p.add_argument("--interval", type=float, default=5.0, help="position period, s (±10 %%)")
    p.add_argument("--alerts", type=int, default=1000, help="alerts in the steady phase")
    p.add_argument("--alert-rate", type=float, default=2.0, help="alerts per second")
    p.add_argument("--burst", type=int, default=50, help="alerts sent at once")
    p.add_argument("--probes", type=int, default=1000, help="echo probes")
    p.add_argument("--probe-rate", type=float, default=10.0, help="echo probes per second")
    p.add_argument("--capacity-clients", type=int, default=1000)  # x 20/s each: 20,000/s ceiling
    p.add_argument("--capacity-s", type=float, default=15.0)
    p.add_argument("--capacity-pace", type=float, default=0.0,
                   help="capacity clients send at most this many per second each\n"
                        "(default 0: as fast as the acks come, the closed loop)")  # fmt: skip
    p.add_argument("--storm-timeout", type=float, default=60.0,
                   help="a phone not resynced by then is a failure")  # fmt: skip
    p.add_argument("--storm-alerts-s", type=float, default=5.0,
                   help="storm alerts go on for at least this long, s")  # fmt: skip
    p.add_argument("--settle", type=float, default=3.0, help="pause between phases, s")
    p.add_argument("--connect-concurrency", type=int, default=100)
    p.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated: {PHASES}")
    p.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment for both servers,\n"
                        "e.g. DISPATCH_REALTIME_RATE_PER_S=40")  # fmt: skip
    p.add_argument("--server-root", type=Path, default=ROOT,
                   help="run the server (and seed with its models) from this checkout,\n"
                        "e.g. a `git worktree` of another commit (default: this one)")  # fmt: skip
    p.add_argument("--processes", default="1",
                   help="server processes, comma-separated, e.g. 1,2: the product phases\n"
                        "run once per count, each on a freshly seeded database; N > 1 =\n"
                        "N processes behind HAProxy with a private redis-server (needs\n"
                        "--db postgres). Default 1: one process, no balancer")  # fmt: skip
    p.add_argument("--out", type=Path,
                   help="default bench/results/load-<sqlite|postgres>.json\n"
                        "(load-postgres-cluster.json with --processes)")  # fmt: skip
    args = p.parse_args(argv)
    args.phases = [x.strip() for x in args.phases.split(",") if x.strip()]
    if bad := set(args.phases) - set(PHASES):
        p.error(f"unknown phases {sorted(bad)}")
    try:
        args.processes = [int(x) for x in args.processes.split(",") if x.strip()]
    except ValueError:
        p.error(f"--processes: a comma-separated list of counts, not {args.processes!r}")
    if (
        not args.processes
        or min(args.processes) < 1
        or len(set(args.processes)) < len(args.processes)
    ):
        p.error("--processes: distinct counts of at least 1, e.g. 1,2")
    args.cluster_mode = args.processes != [1]
    if args.cluster_mode and args.db != "postgres":
        p.error("--processes other than 1 needs --db postgres: the processes share one "
                "PostgreSQL database (SQLite cannot be shared), and each count gets a fresh "
                "one, created and dropped by the bench (a given URL is not re-seeded)")  # fmt: skip
    args.server_env = dict(kv.split("=", 1) for kv in args.server_env)
    args.server_root = args.server_root.resolve()
    servers.SERVER_ROOT = args.server_root
    sys.path.insert(0, str(args.server_root))  # the seeding imports the server's models
    args.kind = "sqlite" if args.db.startswith("sqlite") else "postgres"
    if args.out is None:
        suffix = "-cluster" if args.cluster_mode else ""
        args.out = ROOT / f"bench/results/load-{args.kind}{suffix}.json"
    return args


async def run(args: argparse.Namespace, tmp: str) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for sig in (signal.SIGTERM, signal.SIGINT):  # cancel: every `finally` still runs
        loop.add_signal_handler(sig, task.cancel)
    lag = LoopLag()
    lag.start()
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git_commit(args.server_root),  # the server's checkout (--server-root)
        "server_root": str(args.server_root),
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "uvloop": type(loop).__module__.startswith("uvloop"),
        },
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "loadavg_start": loadavg(),
    }
    t0 = time.perf_counter()
    runs: dict[str, dict[str, Any]] = {}
    for i, processes in enumerate(args.processes):
        if i:
            await asyncio.sleep(args.settle)
        db_cm: contextlib.AbstractAsyncContextManager[str]
        if "://" in args.db:  # a URL given: used as it is, never dropped
            db_cm = contextlib.nullcontext(args.db)  # type: ignore[assignment]
        else:
            db_cm = servers.database(args.kind, tmp)
        async with db_cm as db_url:
            db = "sqlite (temporary file)" if args.db == "sqlite" else db_url
            result.setdefault("db", db)
            say(f"seeding {args.crews} crews, {args.officers} officers, {args.supervisors} "
                f"supervisors ({db})")  # fmt: skip
            people = await servers.seed(db_url, args.crews, args.officers, args.supervisors)
            log_dir = args.out.parent
            if "echo" in args.phases and i == 0:
                log = log_dir / f"{args.out.stem}-echo.log"
                result["echo"] = await echo_phase(args, people, db_url, log, lag)
                await asyncio.sleep(args.settle)
            if not set(args.phases) - {"echo"}:
                break
            if args.cluster_mode:
                say(f"product: {processes} process(es)"
                    + (" behind HAProxy, Redis" if processes > 1 else ""))  # fmt: skip
            name = "server.log" if processes == 1 else f"cluster{processes}"
            log = log_dir / f"{args.out.stem}-{name}"
            figures = await product_phases(args, people, db_url, log, lag, processes)
            if args.cluster_mode:
                figures["db"] = db
            runs[str(processes)] = figures
    if not args.cluster_mode:
        if runs:
            result["product"] = runs["1"]
    else:
        result["products"] = runs
    result["loadavg_end"] = loadavg()
    result["loader_loop_lag_ms"] = lag.since(0)
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    return result


def main() -> None:
    args = parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop

        factory: Any = uvloop.new_event_loop
    except ImportError:
        factory = None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(prefix="dispatch-load-") as tmp:
        try:
            with asyncio.Runner(loop_factory=factory) as runner:
                result = runner.run(run(args, tmp))
        except (KeyboardInterrupt, asyncio.CancelledError):
            print("interrupted: the servers were stopped, nothing written", file=sys.stderr)
        finally:
            cluster.stop_all()
            servers.stop_all()
    if result is None:
        sys.exit(1)
    for part in [result.get("echo"), result.get("product"), *result.get("products", {}).values()]:
        if part:
            count_tracebacks(part)
    if args.cluster_mode:
        result["comparison"] = comparison(result["products"])
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    if not args.cluster_mode:
        print(table(result))
    else:
        for n, prod in result["products"].items():
            print(f"\n== {n} process(es)")
            print(table({**result, "product": prod, "db": prod.get("db")}))
        print("\n== side by side")
        print(cluster_table(result))
    print(f"wrote {args.out}")


def count_tracebacks(part: dict[str, Any]) -> None:
    """`server_log_tracebacks`: Tracebacks in the server's log (all the processes' logs)."""
    logs = [Path(x) for x in part.get("server_logs") or [part.get("server_log") or "/nonexistent"]]
    found = [log.read_text(errors="replace").count("Traceback") for log in logs if log.exists()]
    if found:
        part["server_log_tracebacks"] = sum(found)


if __name__ == "__main__":
    main()

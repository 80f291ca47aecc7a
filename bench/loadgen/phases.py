"""The phases of one run: echo anchor, steady state, burst, capacity, reconnect storm."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from loadgen.cluster import ClusterTarget, start_target
from loadgen.common import LoopLag, proc_rss_kb, summary
from loadgen.phones import EchoPhone, Phone, Tally
from loadgen.servers import Person, Target, offers_between, server_settings, start_echo
from loadgen.window import Window, mb, rss_kb

T = TypeVar("T")
NO_OFFER_AFTER_S = 10.0


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


async def bounded(items: Iterable[T], fn: Callable[[T], Awaitable[bool]], limit: int) -> int:
    """Run fn over items, `limit` at a time; how many returned True."""
    sem = asyncio.Semaphore(limit)

    async def one(item: T) -> bool:
        async with sem:
            return await fn(item)

    return sum(await asyncio.gather(*(one(i) for i in items)))


async def closed_loop(clients: Sequence[T], step: Callable[[T], Awaitable[bool | None]],
                      seconds: float) -> tuple[int, int]:  # fmt: skip
    """Each client repeats `step` (send, wait for the answer) for `seconds`: (done, failed).
    A step answering None (its socket is down) counts as neither."""
    done = failed = 0
    end = time.perf_counter() + seconds

    async def worker(c: T) -> None:
        nonlocal done, failed
        while time.perf_counter() < end:
            try:
                ok = await step(c)
            except Exception:  # a lost socket, a timeout: never spin on it
                ok = False
                await asyncio.sleep(0.1)
            if ok is not None:
                done += ok
                failed += not ok

    await asyncio.gather(*(worker(c) for c in clients))
    return done, failed


def stop_tasks(tasks: list[asyncio.Task[Any]]) -> None:
    for t in tasks:
        t.cancel()


async def close_all(phones: Sequence[EchoPhone | Phone], timeout: float = 20) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(asyncio.gather(*(p.close(5) for p in phones)), timeout)
    for p in phones:  # whatever did not close in time
        if p.ws is not None:
            with contextlib.suppress(Exception):
                p.ws.transport.abort()


# -- 1. the echo anchor -------------------------------------------------------------------


async def echo_phase(args: argparse.Namespace, people: list[Person], db_url: str, log: Path,
                     lag: LoopLag) -> dict[str, Any]:  # fmt: skip
    server = start_echo(db_url, log, args.server_env)
    errors: Counter[str] = Counter()
    phones = [EchoPhone(p, server.ws_url, errors) for p in people]
    tasks: list[asyncio.Task[Any]] = []
    out: dict[str, Any] = {"server_log": str(log)}
    try:
        await server.ready()
        async with Window(server, lag, errors) as w:
            rss0 = proc_rss_kb(server.proc.pid) or 0
            t = time.perf_counter()
            ok = await bounded(
                phones, lambda p: p.join(time.perf_counter() + 120), args.connect_concurrency
            )
            out["connect_s"] = round(time.perf_counter() - t, 1)
            out["connected"] = ok
            await asyncio.sleep(2)
            rss1 = proc_rss_kb(server.proc.pid) or 0
            out["rss_per_connection_kb"] = round((rss1 - rss0) / max(1, ok), 1)
            say(f"echo: {ok}/{len(phones)} connected in {out['connect_s']} s; "
                f"{out['rss_per_connection_kb']} KB per connection")  # fmt: skip
            tasks = [asyncio.create_task(p.walk(args.interval)) for p in phones]
            await asyncio.sleep(args.interval)  # warm-up: senders spread over one period
        out["setup"] = w.figures

        async with Window(server, lag, errors) as w:
            say(f"echo: {args.probes} probes at {args.probe_rate}/s under load")
            probes: list[asyncio.Task[float]] = []
            t0 = time.perf_counter()
            for k in range(args.probes):
                await asyncio.sleep(max(0.0, t0 + k / args.probe_rate - time.perf_counter()))
                phone = random.choice(
                    [p for p in random.sample(phones, 5) if p.connected] or phones
                )
                probes.append(asyncio.create_task(phone.round_trip("k", 10)))
            got = await asyncio.gather(*probes, return_exceptions=True)
            rtt = [g * 1000 for g in got if isinstance(g, float)]
            out["echo_ms"] = summary(rtt)
            out["probes_lost"] = len(got) - len(rtt)
        out["steady"] = w.figures

        async with Window(server, lag, errors) as w:
            clients = [p for p in phones if p.connected][: args.capacity_clients]
            say(f"echo: closed loop, {len(clients)} clients, {args.capacity_s} s")

            async def step(p: EchoPhone) -> bool:
                await p.round_trip("c", 10)
                return True

            done, failed = await closed_loop(clients, step, args.capacity_s)
            out["capacity_per_s"] = round(done / args.capacity_s, 1)
            out["capacity_failed"] = failed
        out["capacity"] = w.figures
        await asyncio.sleep(args.settle)

        async with Window(server, lag, errors) as w:
            say("echo: every phone reconnects at once")
            t = time.perf_counter()
            deadline = t + args.storm_timeout

            async def again(p: EchoPhone) -> bool:
                await p.close(5)
                return await p.join(deadline)

            back = sum(await asyncio.gather(*(again(p) for p in phones)))
            out["reconnect_s"] = round(time.perf_counter() - t, 2)
            out["reconnect_failures"] = len(phones) - back
        out["storm"] = w.figures
        out["errors"] = dict(errors)
        say(f"echo: p99 {out['echo_ms']['p99']} ms, {out['capacity_per_s']}/s closed loop, "
            f"reconnect {out['reconnect_s']} s")  # fmt: skip
    finally:
        stop_tasks(tasks)
        await close_all(phones)
        server.stop()
    return out


# -- 2-5. the product ---------------------------------------------------------------------


def alert_figures(tally: Tally, phase: str) -> dict[str, Any]:
    recs = [r for r in tally.alerts.values() if r.phase == phase]
    offered = [(r.offered - r.sent) * 1000 for r in recs if r.offered is not None]
    return {
        "alerts_sent": len(recs),
        "alerts_offered": len(offered),
        "no_offer": len(recs) - len(offered),
        "alert_to_offer_ms": summary(offered),
        "alert_ack_ms": summary([(r.acked - r.sent) * 1000 for r in recs if r.acked is not None]),
        "no_ack": sum(r.acked is None for r in recs),
    }


async def wait_offers(tally: Tally, phase: str, timeout: float = NO_OFFER_AFTER_S) -> None:
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        recs = [r for r in tally.alerts.values() if r.phase == phase]
        if all(r.offered is not None and r.acked is not None for r in recs):
            return
        await asyncio.sleep(0.1)


async def raise_alerts(officers: list[Phone], count: int | None, rate: float, phase: str,
                       until: asyncio.Event | None = None) -> None:  # fmt: skip
    """`count` alerts at `rate`/s from random officers (or until `until` is set)."""
    t0, k = time.perf_counter(), 0
    while (count is None or k < count) and not (until is not None and until.is_set()):
        await asyncio.sleep(max(0.0, t0 + k / rate - time.perf_counter()))
        await random.choice(officers).raise_alert(uuid.uuid4().hex, phase)
        k += 1


async def product_phases(args: argparse.Namespace, people: list[Person], db_url: str, log: Path,
                         lag: LoopLag, processes: int = 1) -> dict[str, Any]:  # fmt: skip
    """The product phases against one server process, or `processes` of them behind the
    balancer (then `log` is the directory of their logs)."""
    server = start_target(processes, db_url, log, args.server_env)
    tally = Tally(ws_url=server.ws_url)
    phones = [Phone(p, tally) for p in people]
    officers = [p for p in phones if p.role == "officer"]
    crews = [p for p in phones if p.role == "crew"]
    tasks: list[asyncio.Task[Any]] = []
    out: dict[str, Any] = {"server_log": str(log)}
    if processes > 1:
        out = {"processes": processes, "server_logs": []}
    try:
        await server.ready()
        if processes > 1:
            out["server_logs"] = [str(x) for x in server.logs]
        await asyncio.sleep(1)
        async with Window(server, lag, tally.errors) as w:
            rss0 = rss_kb(server)
            t = time.perf_counter()
            ok = await bounded(phones, lambda p: p.join(time.perf_counter() + 300, first=True),
                               args.connect_concurrency)  # fmt: skip
            out["connect_s"] = round(time.perf_counter() - t, 1)
            out["connected"] = ok
            await asyncio.sleep(2)
            rss1 = rss_kb(server)
            out["rss_before_mb"], out["rss_after_mb"] = mb(rss0), mb(rss1)
            out["rss_per_connection_kb"] = round((rss1 - rss0) / max(1, ok), 1)
            say(f"product: {ok}/{len(phones)} connected, synced, on duty in {out['connect_s']} s;"
                f" {out['rss_per_connection_kb']} KB per connection")  # fmt: skip
            tasks = [asyncio.create_task(p.walk(args.interval)) for p in phones]
            await asyncio.sleep(args.interval)
        out["setup"] = w.figures

        if "steady" in args.phases:
            say(f"steady: {args.alerts} alerts at {args.alert_rate}/s")
            async with Window(server, lag, tally.errors) as w:
                p0, a0 = tally.pos_sent, tally.pos_acked
                await raise_alerts(officers, args.alerts, args.alert_rate, "steady")
                w.figures["positions_sent_per_s"] = round(
                    (tally.pos_sent - p0) / (time.perf_counter() - w.t0), 1
                )
                w.figures["positions_acked_per_s"] = round(
                    (tally.pos_acked - a0) / (time.perf_counter() - w.t0), 1
                )
                await wait_offers(tally, "steady")
            out["steady"] = {**alert_figures(tally, "steady"), **w.figures}
            say(f"steady: {fmt_alerts(out['steady'])}")
            await asyncio.sleep(args.settle)

        if "burst" in args.phases:
            async with Window(server, lag, tally.errors) as w:
                live = [o for o in officers if o.connected]
                chosen = random.sample(live, min(args.burst, len(live)))
                say(f"burst: {len(chosen)} alerts at once")
                await asyncio.gather(*(o.raise_alert(uuid.uuid4().hex, "burst") for o in chosen))
                await wait_offers(tally, "burst")
            out["burst"] = {**alert_figures(tally, "burst"), **w.figures}
            say(f"burst: {fmt_alerts(out['burst'])}")
            await asyncio.sleep(args.settle)

        if "capacity" in args.phases:
            clients = [c for c in crews if c.connected][: args.capacity_clients]
            rate_per_s = server_settings(db_url, args.server_env).realtime.rate_per_s
            pace = args.capacity_pace
            say(f"capacity: closed loop, {len(clients)} crews, {args.capacity_s} s")
            async with Window(server, lag, tally.errors) as w:

                async def step(c: Phone) -> bool | None:
                    if not c.connected:
                        await asyncio.sleep(0.1)
                        return None
                    if pace:
                        await asyncio.sleep(1 / pace)
                    ack = await c.request({"type": "position", "position": c.move()}, 10)
                    if ack["type"] != "ack":  # rate_limited: back off, or be cut off (1008)
                        await asyncio.sleep(1 / rate_per_s)
                    return ack["type"] == "ack"

                done, failed = await closed_loop(clients, step, args.capacity_s)
            rate = round(done / args.capacity_s, 1)
            out["capacity"] = {"clients": len(clients), "acked_per_s": rate, "acked": done,
                               "failed": failed, "rate_per_s_per_socket": rate_per_s,
                               "ceiling_per_s": round(len(clients) * rate_per_s),
                               "paced_per_client_per_s": pace or None,
                               **w.figures}  # fmt: skip
            say(f"capacity: {out['capacity']['acked_per_s']}/s acknowledged, {failed} failed")
            await asyncio.sleep(args.settle)

        if "storm" in args.phases:
            out["storm"] = await storm(args, server, db_url, tally, phones, officers, lag)
            st = out["storm"]
            say(f"storm: {st['resynced']}/{len(phones)} resynced in {st['resync_s']} s, "
                f"{st['events_missed']} events missed")  # fmt: skip
        out["errors_total"] = dict(tally.errors)
        out["snapshots_received"] = tally.snapshots
    finally:
        tally.running = False
        stop_tasks(tasks)
        await close_all(phones)
        server.stop()
    if isinstance(server, ClusterTarget):
        out["balancer_downs"] = server.balancer_downs()
    return out


def fmt_alerts(f: dict[str, Any]) -> str:
    s = f["alert_to_offer_ms"]
    return (f"{f['alerts_offered']}/{f['alerts_sent']} offered; alert->offer p50 {s['p50']} "
            f"p99 {s['p99']} p99.9 {s['p99.9']} max {s['max']} ms (n={s['n']})")  # fmt: skip


async def storm(args: argparse.Namespace, server: Target, db_url: str, tally: Tally,
                phones: list[Phone], officers: list[Phone],
                lag: LoopLag) -> dict[str, Any]:  # fmt: skip
    say(f"storm: all {len(phones)} phones reconnect at once with their last seq")
    out: dict[str, Any] = {}
    snaps0 = tally.snapshots
    async with Window(server, lag, tally.errors) as w:
        wall0, t0 = datetime.now(UTC), time.perf_counter()
        deadline = t0 + args.storm_timeout
        stop = asyncio.Event()
        alerts = asyncio.create_task(raise_alerts(officers, None, args.alert_rate, "storm", stop))

        async def again(p: Phone) -> bool:
            await p.close(5)
            p.resynced_at = None
            return await p.join(deadline, first=False)

        back = await asyncio.gather(*(again(p) for p in phones), return_exceptions=True)
        t_back = time.perf_counter()
        await asyncio.sleep(max(0.0, t0 + args.storm_alerts_s - time.perf_counter()))
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(alerts, 5)
        times = [p.resynced_at - t0 for p in phones if p.resynced_at is not None]
        resynced = sum(b is True for b in back)
        out.update({
            "resynced": resynced,
            "failures": len(phones) - resynced,
            "resync_s": round(max(times), 2) if resynced == len(phones) else None,
            "resync_s_p50": round(sorted(times)[len(times) // 2], 2) if times else None,
            "last_resynced_s": round(max(times), 2) if times else None,
            "all_back_s": round(t_back - t0, 2),
            "refusals_1013": sum(p.refusals for p in phones),
            "snapshots_instead_of_replay": tally.snapshots - snaps0,
        })  # fmt: skip
        await wait_offers(tally, "storm")
        wall1 = datetime.now(UTC)  # the window: from the first close to the last storm offer
        out["window_s"] = round((wall1 - wall0).total_seconds(), 2)
        await asyncio.sleep(args.settle)
    rows = await offers_between(db_url, wall0, wall1)
    by_crew = {p.crew_id: p for p in phones if p.crew_id}
    missed = [r for r in rows if r[0] not in by_crew[r[1]].offers_seen] if by_crew else rows
    out.update({"offers_in_window": len(rows), "events_missed": len(missed),
                "missed_sample": [m[0] for m in missed[:10]],
                **alert_figures(tally, "storm"), **w.figures})  # fmt: skip
    return out

"""One phase's readings: load average, the servers' and the loader's CPU, the loader's
loop lag, every server process's /metrics (merged: counters summed, the worst stall),
listen-queue overflows and the loader's error counts."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from typing import Any

from loadgen.common import (
    LoopLag,
    Scrape,
    listen_overflows,
    loadavg,
    merge_scrapes,
    proc_cpu_s,
    proc_rss_kb,
    scrape,
    server_metrics,
)
from loadgen.servers import Target


class Window:
    """Load average, CPU, loop lag, /metrics and error counts over one phase."""

    def __init__(self, server: Target, lag: LoopLag, errors: Counter[str] | None = None) -> None:
        self.server, self.lag, self.errors = server, lag, errors

    async def __aenter__(self) -> Window:
        self.pids = self.server.pids
        self.lag.hold_gc()  # the loader's own heap: not collected in the middle of a phase
        self.gc_mark = self.lag.gc_mark()
        try:
            self.load0, self.metrics0 = loadavg(), await scrape_all(self.server.metric_bases)
        except BaseException:
            self.lag.release_gc()
            raise
        self.overflows0 = listen_overflows()
        self.cpu0, self.me0 = [proc_cpu_s(pid) for pid in self.pids], own_cpu()
        self.t0, self.mark = time.perf_counter(), self.lag.mark()
        self.err0 = Counter(self.errors) if self.errors is not None else Counter()
        self.figures: dict[str, Any] = {}
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self._figures()
        finally:  # last: the garbage of the phase is collected after its figures
            self.lag.release_gc()

    async def _figures(self) -> None:
        wall = time.perf_counter() - self.t0
        cpu1, me1 = [proc_cpu_s(pid) for pid in self.pids], own_cpu()
        # after the CPU readings: a scrape takes a while
        metrics1 = await scrape_all(self.server.metric_bases)
        cpu = [round(100 * (b - a) / wall, 1) for a, b in zip(self.cpu0, cpu1, strict=True)]
        rss = [proc_rss_kb(pid) for pid in self.pids]
        self.figures.update({
            "wall_s": round(wall, 1),
            "loadavg_start": self.load0,
            "loadavg_end": loadavg(),
            "server_cpu_pct": round(sum(cpu), 1),
            "loader_cpu_pct": round(100 * (me1 - self.me0) / wall, 1),
            "loader_loop_lag_ms": self.lag.since(self.mark),
            "loader_gc": self.lag.gc_since(self.gc_mark),
            "server_rss_mb": mb(None if None in rss else sum(r or 0 for r in rss)),
            "listen_overflows": _delta(self.overflows0, listen_overflows()),
            "server": server_metrics(merge_scrapes(self.metrics0), merge_scrapes(metrics1)),
        })  # fmt: skip
        if len(self.pids) > 1:  # a cluster: the sums above, and each process
            self.figures["by_process"] = [
                {"cpu_pct": c, "rss_mb": mb(r), "server": server_metrics(m0, m1)}
                for c, r, m0, m1 in zip(cpu, rss, self.metrics0, metrics1, strict=True)
            ]
        if self.errors is not None:
            self.figures["errors"] = dict(self.errors - self.err0)


async def scrape_all(bases: list[str]) -> list[Scrape | None]:
    return list(await asyncio.gather(*(scrape(b) for b in bases)))


def rss_kb(server: Target) -> int:
    """The servers' resident memory, all processes together."""
    return sum(proc_rss_kb(pid) or 0 for pid in server.pids)


def _delta(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else b - a


def own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def mb(kb: int | None) -> float | None:
    return None if kb is None else round(kb / 1024, 1)

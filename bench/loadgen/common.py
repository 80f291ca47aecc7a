"""Figures: percentiles, the loader's own loop lag, /proc readings, /metrics scrapes."""

from __future__ import annotations

import asyncio
import gc
import math
import os
import random
import re
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent.parent
CENTRE = (52.0565, -2.7160)  # Hereford


def random_point(radius_m: float = 3000.0) -> tuple[float, float]:
    r, a = radius_m * math.sqrt(random.random()), random.uniform(0, 2 * math.pi)
    lat = CENTRE[0] + r * math.cos(a) / 111_195.0
    return lat, CENTRE[1] + r * math.sin(a) / (111_195.0 * math.cos(math.radians(lat)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def summary(ms: list[float]) -> dict[str, Any]:
    """p50/p90/p99/p99.9/max in milliseconds and the sample count."""
    xs = sorted(ms)

    def pct(q: float) -> float | None:
        return round(xs[max(0, math.ceil(q * len(xs)) - 1)], 2) if xs else None

    out: dict[str, Any] = {"n": len(xs)}
    for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999)):
        out[name] = pct(q)
    out["max"] = pct(1.0)
    return out


def proc_rss_kb(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))


def proc_cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def listen_overflows() -> int | None:
    """The kernel's count of connections dropped because a listen queue was full."""
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return None
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            row = dict(zip(names.split()[1:], values.split()[1:], strict=False))
            return int(row.get("ListenOverflows", 0))
    return None


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def git_commit(root: Path | None = None) -> str:
    """The commit of `root` (default: this checkout), "+dirty" with changes not in it."""
    where = root or ROOT
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=where, text=True,
                              capture_output=True, timeout=10).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=where, text=True,
                               capture_output=True, timeout=10).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


class LoopLag:
    """The loader's own event-loop lag: a 10 ms sleep's overshoot. High = the loader is
    the limit, not the server. Also the loader's own garbage-collector pauses (its
    5,000 phones are a large heap: a full collection of it stops its loop for 0.1-1 s,
    and every frame that arrives meanwhile is timed late)."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.task: asyncio.Task[None] | None = None
        self.gc_pauses: list[tuple[int, float]] = []  # (generation, ms)
        self._gc_t = 0.0

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_t = time.perf_counter()
        else:
            pause = (time.perf_counter() - self._gc_t) * 1000
            self.gc_pauses.append((int(info.get("generation", 0)), pause))

    @staticmethod
    def hold_gc() -> None:
        """Before a measured phase: collect once, freeze what is alive, and collect no
        more until `release_gc`: the loader's own pauses (up to 90 ms each, seen) would
        otherwise be timed as the server's latency. Most of a phase's garbage goes by
        reference counting; cycles wait for the phase's end."""
        gc.collect()
        gc.freeze()
        gc.disable()

    @staticmethod
    def release_gc() -> None:
        gc.unfreeze()  # what died during the phase in cycles can be collected again
        gc.enable()

    def gc_mark(self) -> int:
        return len(self.gc_pauses)

    def gc_since(self, mark: int) -> dict[str, Any]:
        pauses = self.gc_pauses[mark:]
        return {
            "full": sum(g == 2 for g, _ in pauses),
            "longest_ms": round(max((p for _, p in pauses), default=0.0), 2),
        }

    async def _run(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(0.01)
            self.samples.append((time.perf_counter() - t - 0.01) * 1000)

    def mark(self) -> int:
        return len(self.samples)

    def since(self, mark: int) -> dict[str, Any]:
        s = summary(self.samples[mark:])
        return {"p99": s["p99"], "max": s["max"], "n": s["n"]}


# -- /metrics (Prometheus text) ---------------------------------------------------------

_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


Scrape = dict[tuple[str, tuple[tuple[str, str], ...]], float]  # (name, labels) -> value


def parse_metrics(text: str) -> Scrape:
    out: Scrape = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if m is None:
            continue
        labels = tuple(sorted(_LABEL.findall(m.group(2) or "")))
        try:
            out[(m.group(1), labels)] = float(m.group(3))
        except ValueError:
            continue
    return out


async def scrape(base_url: str) -> Scrape | None:
    """The server's /metrics, parsed; None when it has none (404) or does not answer."""
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            r = await http.get(base_url + "/metrics")
    except httpx.HTTPError:
        return None
    if r.status_code != 200:
        return None
    return parse_metrics(r.text)


def merge_scrapes(scrapes: list[Scrape | None]) -> Scrape | None:
    """Several processes' scrapes as one: counters, histograms and gauges summed, but a
    `..._max...` gauge (the longest stall or pause since start) is the largest. A
    histogram's highest grown bucket is then the worst process's. None if any is None."""
    if not scrapes or any(s is None for s in scrapes):
        return None
    out: Scrape = {}
    for s in scrapes:
        assert s is not None
        for key, v in s.items():
            if key not in out:
                out[key] = v
            elif "_max" in key[0]:
                out[key] = max(out[key], v)
            else:
                out[key] += v
    return out


def _buckets(scr: dict[Any, float], name: str, match: dict[str, str]) -> dict[float, float]:
    out: dict[float, float] = {}
    for (n, labels), v in scr.items():
        if n != name + "_bucket":
            continue
        d = dict(labels)
        if all(d.get(k) == val for k, val in match.items()) and "le" in d:
            out[float(d["le"])] = v
    return out


def highest_grown_bucket(before: dict[Any, float], after: dict[Any, float], name: str,
                         match: dict[str, str] | None = None) -> str | None:  # fmt: skip
    """'<= 20 ms': the upper bound of the highest bucket whose own count grew in between."""
    b0, b1 = _buckets(before, name, match or {}), _buckets(after, name, match or {})
    if not b1:
        return None
    best, prev0, prev1 = None, 0.0, 0.0
    for le in sorted(b1):
        own0, own1 = b0.get(le, 0.0) - prev0, b1[le] - prev1
        prev0, prev1 = b0.get(le, 0.0), b1[le]
        if own1 - own0 > 0:
            best = le
    if best is None:
        return "none"
    return "> 5 s" if math.isinf(best) else f"<= {best * 1000:g} ms"


def count_over(before: dict[Any, float], after: dict[Any, float], name: str, bound_s: float,
               match: dict[str, str] | None = None) -> int | None:  # fmt: skip
    """How many observations above `bound_s` (a bucket bound) were made in between."""
    b0, b1 = _buckets(before, name, match or {}), _buckets(after, name, match or {})
    if bound_s not in b1 or math.inf not in b1:
        return None
    total = b1[math.inf] - b0.get(math.inf, 0.0)
    return int(total - (b1[bound_s] - b0.get(bound_s, 0.0)))


def gc_over(before: dict[Any, float], after: dict[Any, float], bound_s: float) -> int:
    """Collector pauses (any generation) longer than `bound_s`, made in between."""
    name = "dispatch_gc_pause_seconds"
    return sum(count_over(before, after, name, bound_s, {"generation": g}) or 0 for g in "012")


def metric_value(scr: dict[Any, float] | None, name: str, **match: str) -> float | None:
    if scr is None:
        return None
    for (n, labels), v in scr.items():
        if n == name and all(dict(labels).get(k) == val for k, val in match.items()):
            return v
    return None


def server_metrics(
    before: dict[Any, float] | None, after: dict[Any, float] | None
) -> dict[str, Any]:
    """Per phase: the longest loop stall, full collections and the longest GC pause."""
    if before is None or after is None:
        return {"metrics": "n/a"}
    gc_longest = None
    for gen in ("0", "1", "2"):
        g = highest_grown_bucket(before, after, "dispatch_gc_pause_seconds", {"generation": gen})
        if g not in (None, "none") and (gc_longest is None or _bound(g) > _bound(gc_longest)):
            gc_longest = g
    full0 = metric_value(before, "dispatch_gc_pause_seconds_count", generation="2")
    full1 = metric_value(after, "dispatch_gc_pause_seconds_count", generation="2")
    # The server's own share of alert -> offer: arrival at the dispatcher -> offers
    # stored and queued for the crews (the rest is sockets, both ends, and the loop).
    stored = [
        (metric_value(x, "dispatch_alert_to_offer_seconds_sum"),
         metric_value(x, "dispatch_alert_to_offer_seconds_count"))
        for x in (before, after)
    ]  # fmt: skip
    (s0, n0), (s1, n1) = stored
    server_ms = None
    if None not in (s0, n0, s1, n1) and n1 > n0:  # type: ignore[operator]
        server_ms = round((s1 - s0) / (n1 - n0) * 1000, 2)  # type: ignore[operator]
    at_once = {}  # PostgreSQL: new alerts stored in one statement, or handed on
    for outcome in ("stored", "handed_on"):
        a0 = metric_value(before, "dispatch_raises_at_once", outcome=outcome)
        a1 = metric_value(after, "dispatch_raises_at_once", outcome=outcome)
        if a0 is not None and a1 is not None:
            at_once[outcome] = int(a1 - a0)
    return {
        "alert_stored_and_offered_mean_ms": server_ms,
        "raises_at_once": at_once or None,
        "loop_stall_longest": highest_grown_bucket(before, after, "dispatch_loop_stall_seconds"),
        "loop_stall_max_since_start_s": metric_value(after, "dispatch_loop_stall_max_seconds"),
        "loop_stalls_over_5_10_20_ms": [
            count_over(before, after, "dispatch_loop_stall_seconds", b) for b in (0.005, 0.01, 0.02)
        ],
        "gc_pauses_over_5_10_ms": [gc_over(before, after, b) for b in (0.005, 0.01)],
        # A generation's series appears at its first collection: none before it is 0.
        "gc_full_collections": None if full1 is None else int(full1 - (full0 or 0)),
        "gc_pause_longest": gc_longest or "none",
        "rss_mb": _mb(metric_value(after, "process_resident_memory_bytes")),
    }


def _bound(text: str) -> float:
    return math.inf if text.startswith(">") else float(text.split()[1])


def _mb(v: float | None) -> float | None:
    return None if v is None else round(v / 2**20, 1)

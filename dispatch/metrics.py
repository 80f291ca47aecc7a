"""What the operators (and the benchmark) see of a running process: Prometheus
metrics, the event loop's stalls, and the garbage collector's pauses (which
`gc_policy.py` keeps short)."""

from __future__ import annotations

import asyncio
import gc
import time
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from dispatch.realtime.events import KIND_ALERT, KIND_OFFER, StoredEvent

STALL_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
LOOP_TICK_S = 0.01  # how often the loop monitor wakes (a stall shows as its overshoot)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        r = self.registry
        self.loop_stall = Histogram(
            "dispatch_loop_stall_seconds",
            "How late the event loop woke a task that asked to sleep (a stall).",
            buckets=STALL_BUCKETS,
            registry=r,
        )
        self.loop_stall_max = Gauge(
            "dispatch_loop_stall_max_seconds", "The longest stall since start.", registry=r
        )
        self.gc_pause = Histogram(
            "dispatch_gc_pause_seconds",
            "Garbage-collector pauses, by generation.",
            ["generation"],
            buckets=STALL_BUCKETS,
            registry=r,
        )
        self.gc_pause_max = Gauge(
            "dispatch_gc_pause_max_seconds",
            "The longest collector pause since start, by generation.",
            ["generation"],
            registry=r,
        )
        self.connections = Gauge(
            "dispatch_connections", "Open websockets by role.", ["role"], registry=r
        )
        self.alert_to_offer = Histogram(
            "dispatch_alert_to_offer_seconds",
            "From an alert's arrival at the dispatcher to its first offers stored and their "
            "frames queued for the crews (server side).",
            buckets=STALL_BUCKETS,
            registry=r,
        )
        self.refused = Counter(
            "dispatch_connections_refused_total",
            "Connections told to try again later (admission control).",
            registry=r,
        )
        self.store_busy = Gauge(
            "dispatch_store_busy",
            "Core transactions run again: SQLite was busy, or PostgreSQL broke a deadlock.",
            registry=r,
        )
        self.raised_at_once = Gauge(
            "dispatch_raises_at_once",
            "New alerts tried in one statement (PostgreSQL): stored so, or handed on to the "
            "statement-by-statement path with nothing changed (the database disagreed).",
            ["outcome"],
            registry=r,
        )
        self.routine_waited = Gauge(
            "dispatch_routine_waited",
            "Crews' accepts and assignment updates that waited for a new alert in flight to "
            "be stored and offered first.",
            registry=r,
        )
        self.events_filled = Gauge(
            "dispatch_events_gap_filled", "Events read from the table to fill a gap.", registry=r
        )
        self.event_holes = Gauge(
            "dispatch_event_holes",
            "Gaps pruned from the table before this process read them (memory read back).",
            registry=r,
        )
        self.events = Counter(
            "dispatch_events_total",
            "Events: committed here (published to peers) and delivered here (from any process).",
            ["way", "kind"],
            registry=r,
        )
        self.alerts = Counter(
            "dispatch_alerts_total",
            "Alert changes committed by this process, by the state they reached.",
            ["state"],
            registry=r,
        )
        self.offers = Counter(
            "dispatch_offers_total",
            "Offer changes committed by this process, by the state they reached.",
            ["state"],
            registry=r,
        )
        self.offer_to_accept = Histogram(
            "dispatch_offer_to_accept_seconds",
            "From an offer's creation to the crew's accept (offers accepted through this process).",
            buckets=(1, 2, 5, 10, 15, 20, 30, 45, 60, 120),
            registry=r,
        )
        self.db_pool_in_use = Gauge(
            "dispatch_db_pool_in_use",
            "Database connections checked out of the pool now (a full pool makes work wait).",
            registry=r,
        )
        self.db_pool_size = Gauge(
            "dispatch_db_pool_size", "Connections the pool keeps (before overflow).", registry=r
        )
        self.cluster_peers = Gauge(
            "dispatch_cluster_peers", "Other processes with a live heartbeat.", registry=r
        )
        self.cluster_takeovers = Gauge(
            "dispatch_cluster_takeovers", "Silent processes this one took over.", registry=r
        )
        # Labelled children looked up once: `labels()` costs three times the `inc()`,
        # and every event is counted (kinds and states: a handful of keys).
        self._children: dict[tuple[object, ...], Any] = {}
        self._max_stall = 0.0
        self._max_gc = [0.0, 0.0, 0.0]
        self._gc_started = 0.0
        self._task: asyncio.Task[None] | None = None

    def committed(self, event: StoredEvent) -> None:
        """An event this process stored (counted once in a cluster)."""
        self._child(self.events, "committed", event.kind).inc()
        if event.kind not in (KIND_ALERT, KIND_OFFER):
            return
        view = event.view()
        self._child(self.alerts if event.kind == KIND_ALERT else self.offers, view["state"]).inc()
        if event.kind == KIND_OFFER and view["state"] == "accepted":  # committed just now
            took = datetime.now(UTC) - datetime.fromisoformat(view["created_at"])
            self.offer_to_accept.observe(max(0.0, took.total_seconds()))

    def delivered(self, event: StoredEvent) -> None:
        self._child(self.events, "delivered", event.kind).inc()

    def _child(self, metric: Counter, *values: str) -> Any:
        key = (metric, *values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    def render(self) -> bytes:
        return generate_latest(self.registry)

    # -- the loop --------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch_loop())
        gc.callbacks.append(self._on_gc)

    def stop(self) -> None:
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        if self._task is not None:
            self._task.cancel()

    async def _watch_loop(self) -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(LOOP_TICK_S)
            stall = time.perf_counter() - asked - LOOP_TICK_S
            if stall > 0.0005:
                self.loop_stall.observe(stall)
                if stall > self._max_stall:
                    self._max_stall = stall
                    self.loop_stall_max.set(stall)

    # -- the collector -----------------------------------------------------------------

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
            return
        pause = time.perf_counter() - self._gc_started
        generation = int(info.get("generation", 0))
        self.gc_pause.labels(str(generation)).observe(pause)
        if pause > self._max_gc[generation]:
            self._max_gc[generation] = pause
            self.gc_pause_max.labels(str(generation)).set(pause)

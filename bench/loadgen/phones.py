"""Simulated phones: one websocket each, one reader task that dispatches frames cheaply,
and the retry rules of a real phone (honour `retry_after_ms=` on a 1013 close)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from loadgen.servers import Person

RETRY_HINT = re.compile(r"retry_after_ms=(\d+)")
DEFAULT_RETRY_S = 0.25
WS_OPTIONS: dict[str, Any] = {"ping_interval": None, "compression": None, "max_size": 2**26,
                              "close_timeout": 5}  # fmt: skip


@dataclass
class AlertRec:
    phase: str
    sent: float  # perf_counter at the officer's first send
    acked: float | None = None
    offered: float | None = None  # first `offer` frame (state offered) for it at any crew


@dataclass
class Tally:
    """What every phone of one run counts into."""

    alerts: dict[str, AlertRec] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    pos_sent: int = 0
    pos_acked: int = 0
    position_frames: int = 0
    offer_frames: int = 0
    snapshots: int = 0
    running: bool = True  # False at the end: lost sockets are no longer reconnected
    ws_url: str = ""


def position_body(lat: float, lon: float) -> dict[str, float]:
    return {"lat": round(lat, 6), "lon": round(lon, 6), "accuracy": 5.0}


class Phone:
    def __init__(self, person: Person, tally: Tally) -> None:
        self.p, self.tally = person, tally
        self.role, self.crew_id = person.role, person.crew_id
        self.lat, self.lon = person.lat, person.lon
        self.ws: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.connected = False
        self.closing = False  # a deliberate close: do not reconnect on our own
        self.last_seq: int | None = None
        self.offers_seen: set[str] = set()
        self.ids = itertools.count(1)
        self.waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.synced: asyncio.Future[dict[str, Any]] | None = None
        self.pending_alerts: dict[str, str] = {}  # officer: alert id -> frame, until acked
        self.pending_resolve: dict[str, str] = {}  # crew: alert id -> frame, until acked
        self.resynced_at: float | None = None
        self.refusals = 0  # 1013 closes with or without a hint, honoured
        self.healer: asyncio.Task[None] | None = None
        self.joining = False  # join() retries itself: the reader must not start a heal

    # -- connecting ------------------------------------------------------------------

    async def open(self, timeout: float) -> None:
        headers = {"Authorization": f"Bearer {self.p.token}"}
        ws = await connect(self.tally.ws_url, additional_headers=headers, open_timeout=timeout,
                           **WS_OPTIONS)  # fmt: skip
        self.ws, self.connected, self.closing = ws, True, False
        self.reader = asyncio.create_task(self.read(ws))

    async def sync(self, timeout: float) -> dict[str, Any]:
        fut = self.synced = asyncio.get_running_loop().create_future()
        await self.send({"type": "sync", "id": f"s{next(self.ids)}", "last_seq": self.last_seq})
        return await asyncio.wait_for(fut, timeout)

    async def join(self, deadline: float, first: bool) -> bool:
        """Connect and sync, retrying as a phone does until `deadline` (perf_counter).
        True once `synced` arrived."""
        self.joining = True
        try:
            return await self._join(deadline, first)
        finally:
            self.joining = False

    async def _join(self, deadline: float, first: bool) -> bool:
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                return False
            delay = DEFAULT_RETRY_S
            try:
                await self.open(min(left, 20.0))
                await self.sync(max(0.1, min(deadline - time.perf_counter(), 30.0)))
                self.resynced_at = time.perf_counter()
                if first and self.role == "crew":
                    await self.request({"type": "duty", "on": True}, 30)
                    await self.send_position()
                await self.resend_pending()
                return True
            except Exception as exc:
                ws = self.ws
                code = ws.close_code if ws is not None else None
                reason = (ws.close_reason or "") if ws is not None else ""
                if code == 1013:
                    self.refusals += 1
                    self.tally.errors["refused 1013 (retried)"] += 1
                    if m := RETRY_HINT.search(reason):
                        delay = int(m.group(1)) / 1000
                else:
                    self.tally.errors[f"connect:{type(exc).__name__}"] += 1
                await self.close(2)
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))

    async def close(self, timeout: float = 5) -> None:
        self.closing = True
        ws, self.connected = self.ws, False
        await close_socket(ws, timeout)
        if self.reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.reader, 2)

    async def heal(self) -> None:
        """A socket lost mid-run: reconnect as a phone would (60 s at most)."""
        self.tally.errors["socket lost"] += 1
        await asyncio.sleep(DEFAULT_RETRY_S * random.uniform(0.5, 1.5))
        if self.tally.running and not self.closing and not self.connected:
            if not await self.join(time.perf_counter() + 60, first=False):
                self.tally.errors["socket lost, not back within 60 s"] += 1

    # -- sending ---------------------------------------------------------------------

    async def send(self, frame: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send(json.dumps(frame, separators=(",", ":")))

    async def request(self, frame: dict[str, Any], timeout: float) -> dict[str, Any]:
        mid = frame.setdefault("id", f"q{next(self.ids)}")
        fut = self.waiters[mid] = asyncio.get_running_loop().create_future()
        try:
            await self.send(frame)
            return await asyncio.wait_for(fut, timeout)
        finally:
            self.waiters.pop(mid, None)

    def move(self) -> dict[str, float]:
        self.lat += random.gauss(0, 2e-5)
        self.lon += random.gauss(0, 3e-5)
        return position_body(self.lat, self.lon)

    async def send_position(self) -> None:
        self.tally.pos_sent += 1
        await self.send({"type": "position", "id": f"p{next(self.ids)}", "position": self.move()})

    async def walk(self, interval: float) -> None:
        if self.role == "supervisor":  # a supervisor's position is refused (forbidden)
            return
        await asyncio.sleep(random.uniform(0, interval))
        while True:
            if self.connected:
                with contextlib.suppress(Exception):
                    await self.send_position()
            await asyncio.sleep(interval * random.uniform(0.9, 1.1))

    async def raise_alert(self, aid: str, phase: str) -> None:
        """Like the officer's page: kept until acknowledged, resent after a reconnect."""
        pos = {"lat": round(self.lat, 6), "lon": round(self.lon, 6), "accuracy": 8.0}
        frame = json.dumps({"type": "alert.raise", "id": f"a-{aid}", "alert_id": aid,
                            "position": pos}, separators=(",", ":"))  # fmt: skip
        self.pending_alerts[aid] = frame
        self.tally.alerts[aid] = AlertRec(phase, time.perf_counter())
        if self.connected and self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.send(frame)

    async def resend_pending(self) -> None:
        assert self.ws is not None
        for frame in [*self.pending_alerts.values(), *self.pending_resolve.values()]:
            await self.ws.send(frame)

    # -- reading ---------------------------------------------------------------------

    async def read(self, ws: ClientConnection) -> None:
        tally = self.tally
        try:
            async for text in ws:
                if '"position"' in text[:24]:  # a live position (supervisors: thousands)
                    tally.position_frames += 1
                    continue
                f = json.loads(text)
                seq = f.get("seq")
                if seq is not None and (self.last_seq is None or seq > self.last_seq):
                    self.last_seq = seq
                kind = f["type"]
                if kind == "ack" or kind == "error":
                    await self._answer(f, kind)
                elif kind == "offer":
                    await self._offer(f["offer"], live=True)
                elif kind == "snapshot":
                    tally.snapshots += 1
                    for offer in f.get("offers") or ():
                        await self._offer(offer, live=False)
                elif kind == "synced":
                    if self.synced is not None and not self.synced.done():
                        self.synced.set_result(f)
        except Exception as exc:
            if not self.closing:
                tally.errors[f"reader:{type(exc).__name__}"] += 1
        finally:
            self.connected = False
            gone = ConnectionError(f"closed {ws.close_code} {ws.close_reason}")
            for fut in [*self.waiters.values(), self.synced]:
                if fut is not None and not fut.done():
                    fut.set_exception(gone)
                    fut.exception()  # nobody may await it any more: no "never retrieved" noise
            if (
                tally.running
                and not (self.closing or self.joining)
                and self.ws is ws
                and not self.healer
            ):
                self.healer = asyncio.create_task(self._heal_once())

    async def _heal_once(self) -> None:
        try:
            await self.heal()
        finally:
            self.healer = None

    async def _answer(self, f: dict[str, Any], kind: str) -> None:
        mid = f.get("id") or ""
        if (fut := self.waiters.pop(mid, None)) is not None and not fut.done():
            fut.set_result(f)
        if kind == "error":
            self.tally.errors[f"error:{f.get('code')}:{mid[:1]}"] += 1
            if not mid:  # rate_limited comes without the id: fail what is in flight
                for key, fut in list(self.waiters.items()):
                    if key[:1] == "q" and not fut.done():
                        fut.set_result(f)
            if mid[:2] in ("x-", "r-"):
                self.pending_resolve.pop(mid[2:], None)
            return
        head = mid[:2]
        if mid[:1] == "p":
            self.tally.pos_acked += 1
        elif head == "a-":
            aid = mid[2:]
            self.pending_alerts.pop(aid, None)
            rec = self.tally.alerts.get(aid)
            if rec is not None and rec.acked is None:
                rec.acked = time.perf_counter()
        elif head == "x-":  # accepted: resolve at once, so crews keep cycling
            aid = mid[2:]
            frame = json.dumps({"type": "assignment.status", "id": f"r-{aid}", "alert_id": aid,
                                "status": "resolved", "outcome": "false_alarm"},
                               separators=(",", ":"))  # fmt: skip
            self.pending_resolve[aid] = frame
            with contextlib.suppress(Exception):
                assert self.ws is not None
                await self.ws.send(frame)
        elif head == "r-":
            self.pending_resolve.pop(mid[2:], None)

    async def _offer(self, offer: dict[str, Any], live: bool) -> None:
        self.offers_seen.add(offer["id"])
        if self.role != "crew":
            return
        self.tally.offer_frames += live
        if offer["state"] != "offered" or offer.get("crew_id") != self.crew_id:
            return
        aid = offer["alert_id"]
        if live and (rec := self.tally.alerts.get(aid)) is not None and rec.offered is None:
            rec.offered = time.perf_counter()
        with contextlib.suppress(Exception):
            await self.send({"type": "offer.accept", "id": f"x-{aid}", "offer_id": offer["id"]})


class EchoPhone:
    """A phone against the bare echo: the same frames, each comes straight back."""

    def __init__(self, person: Person, ws_url: str, errors: Counter[str]) -> None:
        self.p, self.ws_url, self.errors = person, ws_url, errors
        self.lat, self.lon = person.lat, person.lon
        self.ws: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.connected = False
        self.ids = itertools.count(1)
        self.waiters: dict[str, asyncio.Future[float]] = {}
        self.echoed = 0

    async def open(self, timeout: float) -> None:
        self.ws = await connect(self.ws_url, open_timeout=timeout, **WS_OPTIONS)
        self.connected = True
        self.reader = asyncio.create_task(self.read(self.ws))

    async def join(self, deadline: float) -> bool:
        """Connect and get one frame back (the echo's `sync`), retrying until `deadline`."""
        while (left := deadline - time.perf_counter()) > 0:
            try:
                await self.open(min(left, 20.0))
                await self.round_trip("s", max(0.1, deadline - time.perf_counter()))
                return True
            except Exception as exc:
                self.errors[f"echo connect:{type(exc).__name__}"] += 1
                await self.close(2)
            await asyncio.sleep(DEFAULT_RETRY_S * random.uniform(0.5, 1.5))
        return False

    async def close(self, timeout: float = 5) -> None:
        ws, self.connected = self.ws, False
        await close_socket(ws, timeout)

    def frame(self, mid: str) -> str:
        self.lat += random.gauss(0, 2e-5)
        self.lon += random.gauss(0, 3e-5)
        body = position_body(self.lat, self.lon)
        return json.dumps({"type": "position", "id": mid, "position": body},
                          separators=(",", ":"))  # fmt: skip

    async def round_trip(self, prefix: str, timeout: float) -> float:
        """Seconds from send to its echo."""
        mid = f"{prefix}{next(self.ids)}"
        fut = self.waiters[mid] = asyncio.get_running_loop().create_future()
        t = time.perf_counter()
        try:
            assert self.ws is not None
            await self.ws.send(self.frame(mid))
            return await asyncio.wait_for(fut, timeout) - t
        finally:
            self.waiters.pop(mid, None)

    async def walk(self, interval: float) -> None:
        await asyncio.sleep(random.uniform(0, interval))
        while True:
            if self.connected and self.ws is not None:
                with contextlib.suppress(Exception):
                    await self.ws.send(self.frame(f"p{next(self.ids)}"))
            await asyncio.sleep(interval * random.uniform(0.9, 1.1))

    async def read(self, ws: ClientConnection) -> None:
        try:
            async for text in ws:
                now = time.perf_counter()
                mid = json.loads(text)["id"]
                self.echoed += 1
                if mid[:1] != "p" and (fut := self.waiters.pop(mid, None)) is not None:
                    if not fut.done():
                        fut.set_result(now)
        except Exception as exc:
            self.errors[f"echo reader:{type(exc).__name__}"] += 1
        finally:
            self.connected = False
            for fut in self.waiters.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("closed"))


async def close_socket(ws: Any, timeout: float) -> None:
    """Close politely within `timeout`, else drop the connection."""
    if ws is None:
        return
    try:
        await asyncio.wait_for(ws.close(), timeout)
    except Exception:
        with contextlib.suppress(Exception):
            ws.transport.abort()

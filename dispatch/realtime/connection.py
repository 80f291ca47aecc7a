"""One websocket client: its outbox, its sync state, and its flood limit.

Until the client has synced, sequenced events are held back; `complete_sync`
then sends the replay or snapshot and releases the held events newer than it,
without awaiting in between, so that no event slips through the crack.

Frames leave the outbox in order, one sender at a time (`_sending`): its writer task,
or the task that has just put them there (`send_now`: the reader after answering a
frame, a raise after committing its offers). Woken by a put, the writer runs a turn of
the loop later, behind every socket that became readable meanwhile: about a
millisecond at the median and five at the 99th percentile with 5,000 phones, on every
ack and on every alert's offer. `send_now` sends at once instead, and never waits: a
send the socket cannot take at once (a slow client) goes on in a task.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable

from starlette.websockets import WebSocket, WebSocketState

from dispatch.auth.sessions import Viewer
from dispatch.config import RealtimeSettings
from dispatch.realtime import eager
from schemas.errors import CloseCode

FLOOD_WINDOW_S = 10.0


class TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens, self.stamp = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Connection:
    def __init__(self, websocket: WebSocket, viewer: Viewer, settings: RealtimeSettings) -> None:
        self.websocket, self.viewer = websocket, viewer
        self._limit = settings.outbox_limit
        self._close_timeout = settings.close_timeout_s
        self.outbox: asyncio.Queue[str | None] = asyncio.Queue()
        self._wake = asyncio.Event()  # the writer's: something was put in the outbox
        self._sending = asyncio.Lock()  # held by whoever takes frames out and sends them
        self._carried: asyncio.Task[None] | None = None  # a `send_now` that had to wait
        self.bucket = TokenBucket(settings.rate_per_s, settings.rate_burst)
        self._drops: deque[float] = deque()
        self.opened_at = time.monotonic()
        self.synced = False
        self.last_seq = 0
        self._held: list[tuple[int, str]] = []
        self.held_overflow = False
        self.closed = False
        self.close_code: int | None = None
        self.on_synced: Callable[[Connection], None] = lambda conn: None

    def flooding(self, limit: int) -> bool:
        """Count a dropped message; True when `limit` were dropped within the last
        FLOOD_WINDOW_S seconds (scattered drops over a long life never add up)."""
        now = time.monotonic()
        self._drops.append(now)
        while self._drops[0] < now - FLOOD_WINDOW_S:
            self._drops.popleft()
        return len(self._drops) >= limit

    def room(self) -> int:
        """How many more frames the outbox takes before the client is cut off."""
        return self._limit - self.outbox.qsize()

    # -- fan-out side (synchronous: called from the hub pump) -------------------

    def push_event(self, seq: int, frame: str) -> None:
        if self.closed:
            return
        if not self.synced:
            if len(self._held) >= self._limit:
                self._held.clear()
                self.held_overflow = True  # the sync will have to send a snapshot
            else:
                self._held.append((seq, frame))
            return
        if seq > self.last_seq:
            self.last_seq = seq
            self.push(frame)

    def push(self, frame: str) -> None:
        if self._put(frame):
            self._wake.set()

    def reply(self, frame: str) -> None:
        """The answer to the client's frame: put in the outbox without waking the writer,
        as the reader sends it (`send_now`) before it reads again. Woken, the writer
        would take a turn of the loop to find the outbox empty, on every ack."""
        self._put(frame)

    def _put(self, frame: str) -> bool:
        if self.closed:
            return False
        if self.outbox.qsize() >= self._limit:
            self.close(CloseCode.TRY_AGAIN, "too slow to keep up: reconnect and sync")
            return False
        self.outbox.put_nowait(frame)
        return True

    def complete_sync(self, frames: list[str], seq: int, trailer: str) -> None:
        """Send the replay or snapshot, then the held events after `seq`, then go live."""
        for frame in frames:
            self.push(frame)
        self.push(trailer)
        self.last_seq = seq
        held, self._held = self._held, []
        self.synced = True
        self.held_overflow = False
        self.on_synced(self)
        for event_seq, frame in held:
            if event_seq > self.last_seq:
                self.last_seq = event_seq
                self.push(frame)

    def unsync(self) -> None:
        """A second `sync` on the same socket: hold events again until it completes."""
        self.synced = False

    def close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed, self.close_code = True, code
        self.outbox.put_nowait(None)  # after `closed`: `send_now` never takes it
        self._wake.set()
        self._close_reason = reason

    # -- socket side -------------------------------------------------------------

    def send_now(self) -> None:
        """Send what the outbox holds from the calling task, now, unless another task
        is sending (it sends these too) or the connection is closing (the writer sends
        what is left, then closes). Never waits: a send the socket cannot take at once
        goes on in a task (`eager`), holding the outbox until it is done. Never raises:
        a socket gone is the reader's to see."""
        if self._sending.locked() or self.outbox.empty() or self.closed:
            return
        self._carried = eager.start(self._send_held())

    def abandon(self) -> None:
        """The socket is done with (its close timed out): a send still waiting on it
        (`send_now`'s) is cancelled, not left holding the outbox until the peer reads."""
        if self._carried is not None:
            self._carried.cancel()

    async def _send_held(self) -> None:
        async with self._sending:  # free (checked above): taken without waiting
            while not self.closed and not self.outbox.empty():
                frame = self.outbox.get_nowait()
                assert frame is not None  # only `close` puts None, after `closed`
                try:
                    await self.websocket.send_text(frame)
                except Exception:
                    return

    async def _send_queued(self) -> bool:
        """Send the outbox's frames in order; True on reaching the close marker."""
        async with self._sending:
            while not self.outbox.empty():
                frame = self.outbox.get_nowait()
                if frame is None:
                    return True
                await self.websocket.send_text(frame)
        return False

    async def writer(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()  # before taking frames: a put from now on wakes it again
                if await self._send_queued():
                    break  # every frame before the close marker is sent
        except Exception:  # the socket went away: the reader notices and cleans up
            return
        if self.websocket.client_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    self.websocket.close(self.close_code or 1000, self._close_reason),
                    self._close_timeout,
                )

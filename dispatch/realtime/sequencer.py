"""Events in sequence order, each once: the one place they enter a process.

This process's commits and its peers' (through the hub) arrive here in any order.
An event is delivered only after every lower number; a gap is waited for briefly
(the commit that holds it is about to arrive), then filled from the event table,
where every number below one already seen is committed (numbers are taken
row-locked at commit, so number order is commit order). Delivered events are kept
in a ring, from which a reconnecting client is replayed what it missed.

A number below the table's lowest row was pruned before this process read it (it
lagged behind by more than `realtime.event_retention`): it is a hole. The sequencer
goes on from the next stored row, forgets its ring (no replay may cross the hole)
and says so through `on_hole`, whose owner must make memory and clients whole again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from dispatch.realtime.events import StoredEvent
from dispatch.realtime.replay import ReplayRing

log = logging.getLogger("dispatch.sequencer")

Deliver = Callable[[StoredEvent], None]
Fill = Callable[[int, int], Awaitable[list[StoredEvent]]]  # seqs in [first, last]
Hole = Callable[[int, int], None]  # seqs [first, last] are gone from the table


class Sequencer:
    def __init__(self, deliver: Deliver, fill: Fill, *, ring: int, gap_wait_s: float) -> None:
        self._deliver, self._fill = deliver, fill
        self._ring = ReplayRing(ring)
        self._waiting: dict[int, StoredEvent] = {}
        self._gap_wait_s = gap_wait_s
        self._filler: asyncio.Task[None] | None = None
        self.head = 0  # the highest seq delivered
        self.filled = 0  # events taken from the table to fill a gap (a metric)
        self.holes = 0  # gaps found pruned from the table (a metric)
        self.on_hole: Hole = lambda first, last: None  # the dispatcher's recovery
        # Until `start` says where the table's head is, events (a peer's, through the
        # hub, which is listened to first so that none is missed) are only held: a gap
        # below one is not filled from the table, which would deliver its whole history.
        self._started = False

    def start(self, head: int, recent: list[StoredEvent]) -> None:
        """Deliver from `head + 1` on; anything at or below it is already known.
        `recent` (the stored events up to `head`, in order) fills the ring for replays.
        Events held since before are delivered after it, a gap below them filled."""
        self.head = max(self.head, head)
        if recent and recent[-1].seq == self.head:
            for event in recent:
                self._ring.add(event)
        self._started = True
        self._release()
        self._fill_later()

    def offer(self, event: StoredEvent) -> None:
        if event.seq <= self.head or event.seq in self._waiting:
            return  # already delivered, or already waiting
        self._waiting[event.seq] = event
        if self._started:
            self._release()
            self._fill_later()

    def _fill_later(self) -> None:
        if self._waiting and self._filler is None:
            self._filler = asyncio.get_running_loop().create_task(self._fill_gap())

    def _release(self) -> None:
        while (event := self._waiting.pop(self.head + 1, None)) is not None:
            self.head = event.seq
            self._ring.add(event)
            try:
                self._deliver(event)
            except Exception:
                log.exception("could not deliver event %d", event.seq)
        for seq in [s for s in self._waiting if s <= self.head]:
            del self._waiting[seq]

    async def _fill_gap(self) -> None:
        try:
            while self._waiting:
                await asyncio.sleep(self._gap_wait_s)
                if not self._waiting:
                    break
                first, last = self.head + 1, min(self._waiting) - 1
                if last < first:
                    continue
                try:
                    rows = await self._fill(first, last)
                except Exception:
                    log.exception("could not read events %d-%d to fill a gap", first, last)
                    continue
                self.filled += len(rows)
                for row in rows:
                    self._waiting.setdefault(row.seq, row)
                if first not in self._waiting:
                    # Pruned (always the oldest): go on from the next stored row rather
                    # than stall every client, and say so.
                    gone = rows[0].seq - 1 if rows else last
                    log.error("events %d-%d were pruned before this process read them", first, gone)
                    self.head = gone
                    self._ring.clear()  # a replay across the hole would be wrong
                    self.holes += 1
                    try:
                        self.on_hole(first, gone)
                    except Exception:
                        log.exception("could not recover from the hole %d-%d", first, gone)
                self._release()
        finally:
            self._filler = None

    def since(
        self, last_seq: int, audience: str | None = None, *, past_ring: bool = True
    ) -> list[StoredEvent] | None:
        """The delivered events after `last_seq` (those `audience` may see, or all), or
        None when the ring no longer holds them all (or the number is ahead of what was
        delivered). `past_ring`: `ReplayRing.since`'s."""
        return self._ring.since(last_seq, self.head, audience, past_ring=past_ring)

    async def stop(self) -> None:
        if self._filler is not None:
            self._filler.cancel()
            await asyncio.gather(self._filler, return_exceptions=True)

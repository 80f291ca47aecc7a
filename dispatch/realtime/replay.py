"""The newest events, kept for replays, indexed by who may see them.

A crew sees a few events in thousands: a phone back from a blip is replayed from its
own index (its crew's, or the officer's), not by filtering the whole ring. A
supervisor, who sees everything, is replayed from the whole ring.

A phone's own index can replay further back than the ring reaches: the ring notes,
for each phone, the newest of its events that has left the ring. A phone that had
that one (its `last_seq` is at or past it) is missing nothing the index lacks,
however long ago it last synced: an officer who was sent nothing for an hour comes
back after a storm without a snapshot, so without reading the database.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable

from dispatch.realtime.events import StoredEvent


def audience_of(event: StoredEvent) -> Iterable[str]:
    """The index keys of the phones that may see this event (supervisors see all)."""
    if event.officer_id is not None:
        yield "u:" + event.officer_id
    for user_id in event.user_ids:
        if user_id != event.officer_id:
            yield "u:" + user_id
    for crew_id in event.crew_ids:
        yield "c:" + crew_id


class ReplayRing:
    def __init__(self, size: int) -> None:
        self.size = size
        self._all: deque[StoredEvent] = deque()
        self._by: dict[str, deque[StoredEvent]] = {}
        self._from: int | None = None  # every event from this seq on has been added
        self._dropped: dict[str, int] = {}  # key -> its newest event gone from the ring

    def add(self, event: StoredEvent) -> None:
        if self._from is None:
            self._from = event.seq
        if len(self._all) >= self.size:
            self._drop(self._all.popleft())
        self._all.append(event)
        for key in audience_of(event):
            mine = self._by.get(key)
            if mine is None:
                mine = self._by[key] = deque()
            mine.append(event)

    def _drop(self, gone: StoredEvent) -> None:
        for key in audience_of(gone):
            self._dropped[key] = gone.seq
            mine = self._by.get(key)
            if mine and mine[0] is gone:  # the oldest of the ring: the oldest of its keys
                mine.popleft()
                if not mine:
                    del self._by[key]

    def clear(self) -> None:
        """Forget everything (a hole in the sequence): no replay reaches back across it."""
        self._all.clear()
        self._by.clear()
        self._dropped.clear()
        self._from = None

    def since(
        self, last_seq: int, head: int, key: str | None, *, past_ring: bool = True
    ) -> list[StoredEvent] | None:
        """Events after `last_seq` that `key` may see (every event for None), or None
        when the ring cannot say which they are (a snapshot is needed). `past_ring`:
        whether `key`'s own index may be trusted further back than the ring reaches
        (the caller knows the phone's `last_seq` was given to it as `key`)."""
        if last_seq > head:
            return None
        if last_seq == head:
            return []
        if self._from is None or last_seq < self._from - 1:
            return None  # from before this ring began
        if (key is None or not past_ring) and self._all[0].seq > last_seq + 1:
            return None  # the whole ring must reach back
        if key is None:
            source: deque[StoredEvent] | tuple[()] = self._all
        else:
            if last_seq < self._dropped.get(key, 0):
                return None  # one of its events after last_seq has left the ring
            source = self._by.get(key, ())
        missed = list(itertools.takewhile(lambda e: e.seq > last_seq, reversed(source)))
        missed.reverse()
        return missed

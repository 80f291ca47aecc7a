"""The newest events, kept for replays, indexed by who may see them.

A crew sees a few events in thousands: a phone back from a blip is replayed from its
own index (its crew's, or the officer's), not by filtering the whole ring. A
supervisor, who sees everything, is replayed from the whole ring."""

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
        self._all: deque[StoredEvent] = deque(maxlen=size)
        self._by: dict[str, deque[StoredEvent]] = {}

    def add(self, event: StoredEvent) -> None:
        self._all.append(event)
        oldest = self._all[0].seq
        for key in audience_of(event):
            mine = self._by.get(key)
            if mine is None:
                mine = self._by[key] = deque(maxlen=self.size)
            mine.append(event)
            while mine[0].seq < oldest:  # gone from the ring: gone from the index too
                mine.popleft()

    def clear(self) -> None:
        self._all.clear()
        self._by.clear()

    def since(self, last_seq: int, head: int, key: str | None) -> list[StoredEvent] | None:
        """Events after `last_seq` that `key` may see (every event for None), or None
        when the ring no longer reaches back that far."""
        if last_seq > head:
            return None
        if last_seq == head:
            return []
        if not self._all or self._all[0].seq > last_seq + 1:
            return None
        source = self._all if key is None else self._by.get(key, ())
        missed = list(itertools.takewhile(lambda e: e.seq > last_seq, reversed(source)))
        missed.reverse()
        return missed

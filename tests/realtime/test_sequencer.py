"""Events reach memory and clients in sequence order, each once, whatever order they
arrive in; a gap is waited for, then filled from the table; the ring replays."""

from __future__ import annotations

import asyncio

from dispatch.realtime.events import KIND_CREW, StoredEvent
from dispatch.realtime.sequencer import Sequencer


def event(seq: int) -> StoredEvent:
    return StoredEvent(seq, KIND_CREW, f"crew-{seq}", "{}", None, ())


class Table:
    """The event table as the sequencer reads it: what is stored, by number."""

    def __init__(self, stored: list[int]) -> None:
        self.stored = set(stored)
        self.reads: list[tuple[int, int]] = []

    async def fill(self, first: int, last: int) -> list[StoredEvent]:
        self.reads.append((first, last))
        return [event(s) for s in range(first, last + 1) if s in self.stored]


async def test_out_of_order_arrivals_are_delivered_in_order_once() -> None:
    got: list[int] = []
    seq = Sequencer(lambda e: got.append(e.seq), Table([]).fill, ring=10, gap_wait_s=5)
    seq.start(0, [])
    for s in (2, 3, 1, 3, 2, 4, 1):
        seq.offer(event(s))
    assert got == [1, 2, 3, 4]
    await seq.stop()


async def test_a_gap_is_filled_from_the_table_and_never_dropped() -> None:
    got: list[int] = []
    table = Table([1, 2, 3])  # 2 was committed, but its message never came
    seq = Sequencer(lambda e: got.append(e.seq), table.fill, ring=10, gap_wait_s=0.01)
    seq.start(0, [])
    seq.offer(event(1))
    seq.offer(event(3))
    assert got == [1]  # 3 waits for 2
    for _ in range(200):
        if got == [1, 2, 3]:
            break
        await asyncio.sleep(0.01)
    assert got == [1, 2, 3] and table.reads == [(2, 2)]
    await seq.stop()


def test_the_ring_replays_what_was_missed_or_says_it_cannot() -> None:
    seq = Sequencer(lambda e: None, Table([]).fill, ring=3, gap_wait_s=1)
    seq.start(5, [event(4), event(5)])
    for s in (6, 7):
        seq.offer(event(s))
    assert [e.seq for e in seq.since(5) or []] == [6, 7]
    assert seq.since(7) == []
    assert [e.seq for e in seq.since(4) or []] == [5, 6, 7]
    assert seq.since(3) is None  # 4 left the ring: a snapshot is needed
    assert seq.since(8) is None  # ahead of what was delivered


def test_a_phone_is_replayed_from_its_own_index() -> None:
    seq = Sequencer(lambda e: None, Table([]).fill, ring=10, gap_wait_s=1)
    seq.start(0, [])
    mine = StoredEvent(1, KIND_CREW, "c1", "{}", None, ("c1",))
    other = StoredEvent(2, KIND_CREW, "c2", "{}", None, ("c2",))
    hers = StoredEvent(3, "alert", "a1", "{}", "officer-1", ("c1",))
    for e in (mine, other, hers):
        seq.offer(e)
    assert [e.seq for e in seq.since(0, "c:c1") or []] == [1, 3]
    assert [e.seq for e in seq.since(1, "u:officer-1") or []] == [3]
    assert seq.since(0, "c:nobody") == []
    assert [e.seq for e in seq.since(0) or []] == [1, 2, 3]

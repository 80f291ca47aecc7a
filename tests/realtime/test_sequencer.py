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


async def test_events_offered_before_start_wait_for_it_and_nothing_older_is_read() -> None:
    """A peer's event can come through the hub while this process is starting: it waits
    for the table's head, and the history below it is not read back and delivered."""
    got: list[int] = []
    table = Table([1, 2, 3, 4, 5, 6])
    seq = Sequencer(lambda e: got.append(e.seq), table.fill, ring=10, gap_wait_s=0.01)
    seq.offer(event(6))
    seq.offer(event(5))  # at or below the head start will give: known already
    await asyncio.sleep(0.1)  # ten gap waits: a filler, if one had started, has read
    assert got == [] and table.reads == []
    seq.start(5, [event(4), event(5)])
    assert got == [6] and table.reads == []
    assert [e.seq for e in seq.since(4) or []] == [5, 6]  # replays reach across start
    await seq.stop()


async def test_a_gap_below_an_event_held_before_start_is_filled_after_it() -> None:
    got: list[int] = []
    table = Table([1, 2, 3, 4])  # 3 was committed by a peer whose message never came
    seq = Sequencer(lambda e: got.append(e.seq), table.fill, ring=10, gap_wait_s=0.01)
    seq.offer(event(4))
    seq.start(2, [])
    assert got == []  # 4 waits for 3
    for _ in range(3000):  # on a busy machine the filler may take a while
        if got == [3, 4]:
            break
        await asyncio.sleep(0.01)
    assert got == [3, 4] and table.reads == [(3, 3)]
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


def test_a_phone_that_had_its_last_dropped_event_is_replayed_past_the_rings_reach() -> None:
    """An officer's or a crew's index reaches back as far as what it lost to the ring:
    a phone at or past its newest dropped event needs no snapshot."""
    seq = Sequencer(lambda e: None, Table([]).fill, ring=3, gap_wait_s=1)
    seq.start(0, [])
    crews = ["c1", "c2", "c2", "c2", "c1", "c2", "c2"]  # seq 1..7
    for n, crew in enumerate(crews, start=1):
        seq.offer(StoredEvent(n, KIND_CREW, crew, "{}", None, (crew,)))
    # The ring holds 5-7. c1's event 1 has left it; its event 5 is still in.
    assert [e.seq for e in seq.since(1, "c:c1") or []] == [5]
    assert [e.seq for e in seq.since(3, "c:c1") or []] == [5]
    assert seq.since(3, "c:c1", past_ring=False) is None  # a number from another sign-in
    assert [e.seq for e in seq.since(4, "c:c1", past_ring=False) or []] == [5]
    assert seq.since(0, "c:c1") is None  # it never had event 1
    # c2 lost 2, 3, 4: a phone that had 4 gets 6 and 7; one at 2 needs a snapshot.
    assert [e.seq for e in seq.since(4, "c:c2") or []] == [6, 7]
    assert seq.since(2, "c:c2") is None
    # Nobody sent anything since the ring began: nothing to replay, from any point.
    assert seq.since(0, "u:quiet") == []
    # Supervisors see everything: the whole ring must reach back.
    assert seq.since(3) is None
    assert [e.seq for e in seq.since(4) or []] == [5, 6, 7]


def test_the_ring_knows_nothing_from_before_it_began() -> None:
    seq = Sequencer(lambda e: None, Table([]).fill, ring=3, gap_wait_s=1)
    seq.start(10, [])  # a restart: the table's head is 10, nothing read back
    seq.offer(StoredEvent(11, KIND_CREW, "c1", "{}", None, ("c1",)))
    assert seq.since(9, "u:quiet") is None  # event 10 may have been hers
    assert seq.since(10, "u:quiet") == []
    assert [e.seq for e in seq.since(10, "c:c1") or []] == [11]


async def test_a_hole_in_the_sequence_forgets_what_the_ring_knew() -> None:
    table = Table([4, 5])  # 2 and 3 were pruned from the table
    seq = Sequencer(lambda e: None, table.fill, ring=10, gap_wait_s=0.01)
    seq.start(0, [])
    seq.offer(StoredEvent(1, KIND_CREW, "c1", "{}", None, ("c1",)))
    seq.offer(StoredEvent(4, KIND_CREW, "c1", "{}", None, ("c1",)))
    for _ in range(3000):  # on a busy machine the filler may take a while
        if seq.head == 4:
            break
        await asyncio.sleep(0.01)
    assert seq.head == 4
    assert seq.since(1, "c:c1") is None  # across the hole: a snapshot
    assert seq.since(3, "u:quiet") == []


async def test_a_partly_pruned_gap_skips_only_what_is_gone_and_says_so() -> None:
    """Pruning takes the oldest: of a gap 2-4 whose 2 is gone, 3 and 4 are delivered."""
    got: list[int] = []
    holes: list[tuple[int, int]] = []
    table = Table([3, 4, 5])
    seq = Sequencer(lambda e: got.append(e.seq), table.fill, ring=10, gap_wait_s=0.01)
    seq.on_hole = lambda first, last: holes.append((first, last))
    seq.start(0, [])
    seq.offer(event(1))
    seq.offer(event(5))
    for _ in range(3000):  # on a busy machine the filler may take a while
        if seq.head == 5:
            break
        await asyncio.sleep(0.01)
    assert got == [1, 3, 4, 5]
    assert holes == [(2, 2)] and seq.holes == 1
    assert seq.since(1) is None  # across the hole: a snapshot
    assert [e.seq for e in seq.since(2) or []] == [3, 4, 5]
    await seq.stop()

"""The collector's keeper: it freezes what is alive, and after enough closed
connections it collects the frozen objects once, so garbage caught in cycles (a closed
connection's objects) is reclaimed rather than kept for ever."""

from __future__ import annotations

import asyncio
import gc
import weakref

from dispatch.gc_policy import CALM_S, GcKeeper, collect_frozen_now


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


async def test_frozen_cycles_are_reclaimed_after_enough_closed_connections() -> None:
    closed = 0
    keeper = GcKeeper(every_s=0.01, after_closed=3, closed=lambda: closed, calm_s=0.0)
    try:
        keeper.start()
        assert gc.get_threshold()[2] >= 10**9  # the oldest generation: never on its own
        node = Node()
        ref = weakref.ref(node)
        await asyncio.sleep(0.05)  # frozen by now
        del node
        gc.collect()
        assert ref() is not None  # frozen: a full collection leaves it alone
        closed = 3
        for _ in range(100):
            if ref() is None:
                break
            await asyncio.sleep(0.01)
        assert ref() is None
    finally:
        keeper.stop()
        gc.unfreeze()
        gc.set_threshold(700, 10, 10)


def test_the_frozen_objects_wait_for_a_calm_moment() -> None:
    """Not in the middle of a reconnect storm: only once no connection has closed for
    a while, unless so many have closed that memory comes first."""
    assert not collect_frozen_now(closed_since=19_999, after_closed=20_000, calm_for_s=60)
    assert not collect_frozen_now(closed_since=20_000, after_closed=20_000, calm_for_s=0.5)
    assert collect_frozen_now(closed_since=20_000, after_closed=20_000, calm_for_s=CALM_S)
    assert collect_frozen_now(closed_since=80_000, after_closed=20_000, calm_for_s=0.0)

"""The collector's keeper: it freezes what is alive, and after enough closed
connections it collects the frozen objects once, so garbage caught in cycles (a closed
connection's objects) is reclaimed rather than kept for ever."""

from __future__ import annotations

import asyncio
import gc
import weakref

from dispatch.gc_policy import GcKeeper


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


async def test_frozen_cycles_are_reclaimed_after_enough_closed_connections() -> None:
    closed = 0
    keeper = GcKeeper(every_s=0.01, after_closed=3, closed=lambda: closed)
    try:
        keeper.start()
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

"""The garbage collector, kept out of the tail of the alert path.

A full collection walks every tracked object and stops the event loop while it does:
with 5,000 phones connected that is around 100 ms. So:

- once started, and every `realtime.gc_freeze_every_s` after that, what is alive is
  frozen (`gc.freeze`): the objects of phones that stay connected are never walked
  again. Young objects are collected as usual, and the thresholds keep those
  collections short (a few thousand objects at a time).
- Frozen objects that later become garbage caught in reference cycles (mostly those of
  closed connections) can only be reclaimed by walking the frozen ones: after
  `realtime.gc_collect_after_closed` connections have closed, that is done once
  (unfreeze, collect, freeze): one long pause instead of one every few minutes.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger("dispatch.gc")

THRESHOLDS = (2_000, 10, 10)


class GcKeeper:
    def __init__(self, *, every_s: float, after_closed: int, closed: Callable[[], int]) -> None:
        self.every_s, self.after_closed, self.closed = every_s, after_closed, closed
        self._closed_at_last_collect = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        gc.collect()
        gc.freeze()
        gc.set_threshold(*THRESHOLDS)
        if self.every_s > 0:
            self._task = asyncio.get_running_loop().create_task(self._keep())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            closed = self.closed()
            if closed - self._closed_at_last_collect >= self.after_closed:
                started = time.perf_counter()
                gc.unfreeze()
                gc.collect()
                gc.freeze()
                self._closed_at_last_collect = closed
                log.info(
                    "collected the frozen objects after %d closed connections in %.0f ms",
                    self.after_closed,
                    (time.perf_counter() - started) * 1000,
                )
            else:
                gc.freeze()

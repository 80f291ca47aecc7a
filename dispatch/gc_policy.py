"""The garbage collector, kept out of the tail of the alert path.

A full collection walks every tracked object and stops the event loop while it does:
with 5,000 phones connected that is around 100 ms. So:

- once started, and every `realtime.gc_freeze_every_s` after that, what is alive is
  frozen (`gc.freeze`): the objects of phones that stay connected are never walked
  again. Young objects are collected as usual, and the thresholds keep those
  collections short (a few thousand objects at a time).
- The oldest generation is never collected on its own (its threshold is out of reach):
  with everything frozen every second it only ever holds what arrived since, and a
  full collection there came exactly when it hurt most. In a reconnect storm 5,000
  phones' new objects land in it within a second, and walking them stopped the loop
  for 0.5-5 s while the phones were resyncing. Young cycles still die in the younger
  generations' collections.
- Frozen objects that later become garbage caught in reference cycles (mostly those of
  closed connections: a few small objects each) can only be reclaimed by walking the
  frozen ones: after `realtime.gc_collect_after_closed` connections have closed, that
  is done once (unfreeze, collect, freeze): one long pause instead of one every few
  minutes, and only once no connection has closed for `CALM_S` (not in the middle of a
  storm), unless four times as many have closed (memory comes first then).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger("dispatch.gc")

THRESHOLDS = (2_000, 10, 1_000_000_000)  # the oldest generation: never on its own
CALM_S = 3.0  # no connection closed for this long: a full collection may run


def collect_frozen_now(
    *, closed_since: int, after_closed: int, calm_for_s: float, calm_s: float = CALM_S
) -> bool:
    """Whether to walk the frozen objects now: enough connections closed since the
    last time, and none for `calm_s` (or far too many to wait any longer)."""
    if closed_since < after_closed:
        return False
    return calm_for_s >= calm_s or closed_since >= 4 * after_closed


class GcKeeper:
    def __init__(
        self,
        *,
        every_s: float,
        after_closed: int,
        closed: Callable[[], int],
        calm_s: float = CALM_S,
    ) -> None:
        self.every_s, self.after_closed, self.closed = every_s, after_closed, closed
        self.calm_s = calm_s
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
        last_closed, calm_since = self.closed(), time.monotonic()
        while True:
            await asyncio.sleep(self.every_s)
            closed = self.closed()
            if closed != last_closed:
                last_closed, calm_since = closed, time.monotonic()
            if collect_frozen_now(
                closed_since=closed - self._closed_at_last_collect,
                after_closed=self.after_closed,
                calm_for_s=time.monotonic() - calm_since,
                calm_s=self.calm_s,
            ):
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

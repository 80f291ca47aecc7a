"""New alerts before routine work.

An alert's first offer is the figure that matters on a bad night. In a burst (fifty
alerts within a second) each raise's statement waits for the one before it on the
audit chain's and the event counter's row locks, and every accept, resolve or status
update that starts meanwhile takes the same locks and the same event loop, one ORM round
trip at a time. So while any raise is in flight in this process (an officer's, one
raised on her behalf, a crew's call for help), a crew's assignment updates wait for
the raises to be done before they start their transaction, for at most `max_wait_s`:
a steady stream of raises delays them, never starves them. Nothing waits while no
raise is in flight. An accept waits too, but only while its offer has well over
`max_wait_s` left (an accept in time is never refused for the wait); a decline never
waits, since it moves its own alert on. This is per process: in a cluster each
process puts its own raises first.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from dispatch.storage.store import first_in_line


class Priority:
    def __init__(self, max_wait_s: float) -> None:
        self.max_wait_s = max_wait_s
        self._urgent = 0
        self._calm = asyncio.Event()
        self._calm.set()
        self.waited = 0  # routine steps that found a raise in flight (a metric)

    @property
    def urgent_in_flight(self) -> int:
        return self._urgent

    @contextlib.contextmanager
    def urgent(self) -> Iterator[None]:
        """Around a raise: routine work that starts meanwhile waits for it, and the
        raise's SQLite transaction goes before routine ones waiting for a turn."""
        self._urgent += 1
        self._calm.clear()
        token = first_in_line.set(True)
        try:
            yield
        finally:
            first_in_line.reset(token)
            self._urgent -= 1
            if self._urgent == 0:
                self._calm.set()

    async def routine(self) -> None:
        """Before routine work: returns at once unless a raise is in flight, else once
        none is (or after `max_wait_s`; 0 turns the wait off)."""
        if self._urgent == 0 or self.max_wait_s <= 0:
            return
        self.waited += 1
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.max_wait_s):
                await self._calm.wait()

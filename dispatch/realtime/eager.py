"""Start a coroutine in the calling task and leave it to a task only if it has to wait:
Python 3.12's eager tasks (`asyncio.eager_task_factory`), for one coroutine, on 3.11.

A websocket send that the socket can take at once never waits: run eagerly, it is done
before `start` returns, in the caller's turn of the event loop, where a task would run
a turn later behind every socket that became readable meanwhile. A send that has to
wait (a slow client's full buffer) goes on in a task, and the caller never waits.

Unlike 3.12's eager task, the first step runs as part of the caller's own task, in its
context (`asyncio.current_task()`, an `asyncio.timeout` around the caller, context
variables): only for coroutines that use none of those, as a send to a socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


def start(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
    """Run `coro` until it first waits: None if it finished (an exception it raised is
    raised here), else the task that carries it on from there."""
    try:
        waiting = coro.send(None)
    except StopIteration:
        return None
    return asyncio.get_running_loop().create_task(_carry_on(coro, waiting))


async def _carry_on(coro: Coroutine[Any, Any, None], waiting: Any) -> None:
    """Step `coro` as its task would: each time what it waits on is done, resume it
    (with the exception, if that failed or this task was cancelled)."""
    while True:
        try:
            if waiting is None:
                await asyncio.sleep(0)  # a bare yield: it gives up one turn of the loop
            else:
                # The future it yielded, marked as awaited by it: a task takes the mark
                # off before waiting on it (`Task.__step`), and so does this one.
                waiting._asyncio_future_blocking = False
                await waiting
        except BaseException as exc:
            try:
                waiting = coro.throw(exc)
            except StopIteration:
                return
            continue
        try:
            waiting = coro.send(None)
        except StopIteration:
            return

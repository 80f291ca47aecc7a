"""The core's SQLite store runs at most one transaction per turn of the event loop, in
the order they came (a raise's before routine ones): a burst of transactions takes many
short turns instead of one long one. A real SQLite file; the loop's turns are counted by
a callback that runs once in each."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from dispatch.storage.store import SqliteStore
from dispatch.usecases.priority import Priority


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    yield s
    await s.close()


class TurnCounter:
    """Counts the loop's turns: its callback puts itself back for the next one."""

    def __init__(self) -> None:
        self.turn = 0
        self._loop = asyncio.get_running_loop()
        self._handle = self._loop.call_soon(self._tick)

    def _tick(self) -> None:
        self.turn += 1
        self._handle = self._loop.call_soon(self._tick)

    def stop(self) -> None:
        self._handle.cancel()


def noting(name: str, log: list[tuple[str, int]], turns: TurnCounter) -> Callable[[Session], str]:
    def fn(session: Session) -> str:
        session.connection().execute(text("SELECT 1"))
        log.append((name, turns.turn))
        return name

    return fn


async def test_transactions_started_together_run_in_turns_of_their_own_in_order(
    store: SqliteStore,
) -> None:
    turns = TurnCounter()
    log: list[tuple[str, int]] = []
    names = [f"t{i}" for i in range(20)]
    try:
        done = await asyncio.gather(*(store.run(noting(n, log, turns)) for n in names))
    finally:
        turns.stop()
    assert done == names
    assert [name for name, _turn in log] == names  # in the order they came
    ran_in = [turn for _name, turn in log]
    assert len(set(ran_in)) == len(names)  # never two in one turn


async def test_one_cancelled_while_waiting_does_not_hold_up_the_others(
    store: SqliteStore,
) -> None:
    turns = TurnCounter()
    log: list[tuple[str, int]] = []
    try:
        tasks = [asyncio.create_task(store.run(noting(n, log, turns))) for n in ("a", "b", "c")]
        await asyncio.sleep(0)  # all three started: "a" runs, "b" and "c" wait
        tasks[1].cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        turns.stop()
    assert results[0] == "a" and results[2] == "c"
    assert isinstance(results[1], asyncio.CancelledError)
    assert [name for name, _turn in log] == ["a", "c"]


async def test_one_cancelled_just_as_its_turn_came_passes_the_turn_on(
    store: SqliteStore,
) -> None:
    """ "b" is handed the turn, then cancelled before it runs: "c" still gets one."""
    turns = TurnCounter()
    log: list[tuple[str, int]] = []
    loop = asyncio.get_running_loop()
    tasks: list[asyncio.Task[str]] = []

    def first(session: Session) -> str:
        # Runs in "a"'s turn, after the hand-over to "b" was scheduled for the next
        # one: this cancel lands just after "b" was handed the turn.
        loop.call_soon(tasks[1].cancel)
        return noting("a", log, turns)(session)

    try:
        tasks.append(asyncio.create_task(store.run(first)))
        tasks += [asyncio.create_task(store.run(noting(n, log, turns))) for n in ("b", "c")]
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 60)
    finally:
        turns.stop()
    assert results[0] == "a" and results[2] == "c"
    assert isinstance(results[1], asyncio.CancelledError)
    assert [name for name, _turn in log] == ["a", "c"]


async def test_a_raise_waiting_for_a_turn_goes_before_routine_transactions(
    store: SqliteStore,
) -> None:
    """ "a" holds this turn; "b" and "c" wait; then two raises come: they run next, in
    the order they came, and the routine ones after them."""
    turns = TurnCounter()
    log: list[tuple[str, int]] = []

    async def raising(name: str) -> str:
        with Priority(max_wait_s=0.0).urgent():  # what sets `first_in_line`
            return await store.run(noting(name, log, turns))

    try:
        routine = [asyncio.create_task(store.run(noting(n, log, turns))) for n in "abc"]
        raises = [asyncio.create_task(raising(n)) for n in ("r1", "r2")]
        await asyncio.gather(*routine, *raises)
    finally:
        turns.stop()
    assert [name for name, _turn in log] == ["a", "r1", "r2", "b", "c"]
    assert len({turn for _name, turn in log}) == 5

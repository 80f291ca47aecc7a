"""The registry's watch on session expiries: the sweep is handed only the connections
that are due, soonest first, never a closed one, and one whose session slid forward
comes up again at its new expiry. (Pure bookkeeping: no socket is touched, so the
connections are built without one.)"""

from __future__ import annotations

import gc
import weakref
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from dispatch.auth.sessions import Viewer
from dispatch.config import RealtimeSettings
from dispatch.realtime.connection import Connection
from dispatch.realtime.registry import Registry
from schemas.common import Role

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def conn(n: int, expires_in_s: int, role: Role = Role.OFFICER) -> Connection:
    crew_id = f"crew{n}" if role == Role.CREW else None
    viewer = Viewer(
        f"u{n}", f"user{n}", role, crew_id, T0 + timedelta(seconds=expires_in_s), f"s{n}"
    )
    return Connection(cast(Any, None), viewer, RealtimeSettings())


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_only_the_due_ones_come_up_soonest_first_and_once() -> None:
    registry = Registry()
    late, soon, crew, boss = (
        conn(1, 30),
        conn(2, 10),
        conn(3, 20, Role.CREW),
        conn(4, 5, Role.SUPERVISOR),
    )
    for c in (late, soon, crew, boss):
        registry.add(c)

    assert registry.expiring(at(4)) == []
    assert registry.expiring(at(20)) == [boss, soon, crew]
    assert registry.expiring(at(25)) == []  # taken off the watch once handed out
    assert registry.expiring(at(30)) == [late]


def test_a_closed_connection_never_comes_up() -> None:
    registry = Registry()
    gone, kept = conn(1, 10), conn(2, 10)
    registry.add(gone)
    registry.add(kept)
    registry.remove(gone)

    assert registry.expiring(at(10)) == [kept]


def test_a_session_that_slid_comes_up_at_its_new_expiry() -> None:
    registry = Registry()
    console = conn(1, 10, Role.SUPERVISOR)
    registry.add(console)
    console.viewer.expires_at = at(100)  # the console was used: its session slid

    assert registry.expiring(at(50)) == []
    assert registry.expiring(at(100)) == [console]


def test_one_put_back_on_the_watch_comes_up_again() -> None:
    registry = Registry()
    console = conn(1, 10, Role.SUPERVISOR)
    registry.add(console)
    assert registry.expiring(at(10)) == [console]

    console.viewer.expires_at = at(60)  # the database said it lives on
    registry.watch_expiry(console)

    assert registry.expiring(at(59)) == []
    assert registry.expiring(at(60)) == [console]


def test_closed_connections_entries_are_dropped_in_bulk() -> None:
    registry = Registry()
    kept = conn(0, 10)
    registry.add(kept)
    gone = [conn(n, 10_000) for n in range(1, 3_001)]
    for c in gone:
        registry.add(c)
    for c in gone:
        registry.remove(c)

    assert len(registry._expiries) < 1_500  # not one entry per closed connection
    assert registry.expiring(at(20_000)) == [kept]


def test_a_closed_connection_is_not_kept_alive_by_its_entry() -> None:
    registry = Registry()
    closed = conn(1, 10)
    registry.add(closed)
    registry.remove(closed)
    gone = weakref.ref(closed)
    del closed
    gc.collect()

    assert gone() is None


def test_one_closed_while_its_expiry_was_looked_up_is_not_watched_again() -> None:
    registry = Registry()
    console = conn(1, 10, Role.SUPERVISOR)
    registry.add(console)
    assert registry.expiring(at(10)) == [console]
    registry.remove(console)  # closed while the database was asked

    console.viewer.expires_at = at(60)
    registry.watch_expiry(console)

    assert registry._expiries == []

"""Connected clients by audience, and the one place where frames fan out to them."""

from __future__ import annotations

import heapq
import itertools
import json
import weakref
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from dispatch.realtime.connection import Connection
from dispatch.realtime.events import StoredEvent
from dispatch.realtime.visibility import frame_for, positions_for, supervisor_position
from schemas.common import Role


class Registry:
    def __init__(self) -> None:
        self.supervisors: set[Connection] = set()
        self.officers: dict[str, set[Connection]] = {}
        self.crews: dict[str, set[Connection]] = {}
        self._unsynced: set[Connection] = set()  # connected, not yet synced once
        self.closed = 0  # connections closed since start (a metric; the collector's cue)
        # Positions for supervisors, newest per subject, sent together every few hundred
        # milliseconds: one frame (one write) per supervisor instead of one per position.
        self._for_supervisors: dict[tuple[str, str], dict[str, Any]] = {}
        # Each connection's session expiry, soonest first (a heap), so the once-a-second
        # sweep looks at the ones that are due, not at all 5,000 (that took ~5 ms of the
        # loop every second). Entries hold their connection weakly (a closed one is not
        # kept alive by its entry); a closed connection's entry is dropped when it comes
        # up, or all together once they outnumber the rest (`_compact`).
        self._expiries: list[tuple[datetime, int, weakref.ref[Connection]]] = []
        self._pushes = itertools.count()
        # About how many entries are dead (removals since the last compaction, less the
        # dead entries popped since): an estimate, only for when to compact.
        self._gone = 0

    @property
    def unsynced(self) -> int:
        return len(self._unsynced)

    def unsynced_since(self, opened_before: float) -> list[Connection]:
        """Connections opened before this `time.monotonic()` that have not synced yet."""
        return [c for c in self._unsynced if c.opened_at < opened_before]

    def count(self, role: Role) -> int:
        if role == Role.SUPERVISOR:
            return len(self.supervisors)
        group = self.officers if role == Role.OFFICER else self.crews
        return sum(map(len, group.values()))

    def __len__(self) -> int:
        return (
            len(self.supervisors)
            + sum(map(len, self.officers.values()))
            + sum(map(len, self.crews.values()))
        )

    def add(self, conn: Connection) -> None:
        self._unsynced.add(conn)
        conn.on_synced = self._unsynced.discard
        v = conn.viewer
        if v.role == Role.SUPERVISOR:
            self.supervisors.add(conn)
        elif v.role == Role.OFFICER:
            self.officers.setdefault(v.user_id, set()).add(conn)
        elif v.crew_id is not None:
            self.crews.setdefault(v.crew_id, set()).add(conn)
        self.watch_expiry(conn)

    def remove(self, conn: Connection) -> None:
        self.closed += 1
        self._unsynced.discard(conn)
        v = conn.viewer
        self.supervisors.discard(conn)
        for group, key in ((self.officers, v.user_id), (self.crews, v.crew_id)):
            if key in group:
                group[key].discard(conn)
                if not group[key]:
                    del group[key]
        self._gone += 1
        if self._gone > 1_000 and 2 * self._gone > len(self._expiries):
            self._compact()

    def connected_here(self, role: str, subject_id: str) -> bool:
        """Whether an officer (user id) or a crew (crew id) has a socket on this process."""
        group = self.officers if role == Role.OFFICER else self.crews
        return bool(group.get(subject_id))

    def holds(self, conn: Connection) -> bool:
        """Whether this connection is registered (added and not removed)."""
        v = conn.viewer
        if v.role == Role.SUPERVISOR:
            return conn in self.supervisors
        if v.role == Role.OFFICER:
            return conn in self.officers.get(v.user_id, ())
        return v.crew_id is not None and conn in self.crews.get(v.crew_id, ())

    def watch_expiry(self, conn: Connection) -> None:
        """Watch this connection's session expiry (`viewer.expires_at` as it is now)."""
        if self.holds(conn):
            entry = (conn.viewer.expires_at, next(self._pushes), weakref.ref(conn))
            heapq.heappush(self._expiries, entry)

    def expiring(self, now: datetime) -> list[Connection]:
        """The registered connections whose session expiry has come (`expires_at <= now`),
        soonest first, each taken off the watch (`watch_expiry` puts one back). One whose
        expiry slid forward since it was watched is watched again at its new expiry."""
        due: list[Connection] = []
        while self._expiries and self._expiries[0][0] <= now:
            at, _, ref = heapq.heappop(self._expiries)
            conn = ref()
            if conn is None or not self.holds(conn):
                self._gone = max(0, self._gone - 1)
            elif conn.viewer.expires_at > at:
                self.watch_expiry(conn)
            else:
                due.append(conn)
        return due

    def _compact(self) -> None:
        self._expiries = [e for e in self._expiries if (c := e[2]()) is not None and self.holds(c)]
        heapq.heapify(self._expiries)
        self._gone = 0

    def everyone(self) -> list[Connection]:
        return [
            *self.supervisors,
            *(c for group in self.officers.values() for c in group),
            *(c for group in self.crews.values() for c in group),
        ]

    def close_all(self, code: int, reason: str) -> None:
        """Close every socket here (each client reconnects and syncs)."""
        for conn in self.everyone():
            conn.close(code, reason)

    def by_session(self, session_hash: str) -> list[Connection]:
        return [c for c in self.everyone() if c.viewer.session_hash == session_hash]

    def _crew_conns(self, crew_ids: Iterable[str]) -> Iterator[Connection]:
        for crew_id in crew_ids:
            yield from self.crews.get(crew_id, ())

    def send_now(self, crew_ids: Iterable[str]) -> None:
        """Send what these crews' outboxes hold from the calling task (`Connection.
        send_now`): a raise's offers leave in its own turn of the loop."""
        for conn in list(self._crew_conns(crew_ids)):
            conn.send_now()

    def deliver_event(self, event: StoredEvent) -> None:
        supervisor_frame: str | None = None
        for conn in self.supervisors:
            supervisor_frame = supervisor_frame or frame_for(conn.viewer, event)
            if supervisor_frame is not None:
                conn.push_event(event.seq, supervisor_frame)
        targets = list(self.officers.get(event.officer_id or "", ()))
        for user_id in event.user_ids:
            if user_id != event.officer_id:
                targets.extend(self.officers.get(user_id, ()))
        targets.extend(self._crew_conns(event.crew_ids))
        for conn in targets:
            frame = frame_for(conn.viewer, event)
            if frame is not None:
                conn.push_event(event.seq, frame)

    def flush_positions(self) -> None:
        """Send the positions gathered since the last flush to every supervisor, as one
        `positions` frame (made once)."""
        if not self._for_supervisors:
            return
        batch, self._for_supervisors = list(self._for_supervisors.values()), {}
        text = json.dumps({"type": "positions", "positions": batch})
        for conn in self.supervisors:
            if conn.synced:
                conn.push(text)

    def deliver_position(self, message: dict[str, Any]) -> None:
        frame = message["frame"]
        alerts = message.get("alerts") or {}
        if self.supervisors:
            self._for_supervisors[(frame["role"], frame["subject_id"])] = supervisor_position(
                message
            )
        if alerts:  # an officer's to her alerts' crews; a crew's to the crews beside it
            crews = {c for crew_ids in alerts.values() for c in crew_ids}
            for conn in self._crew_conns(crews):
                if conn.synced:
                    for visible in positions_for(conn.viewer, message):
                        conn.push(json.dumps(visible))

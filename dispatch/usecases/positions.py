"""Live positions: kept in memory, relayed at once, written to the database in batches.

A crew's position feeds the index used for matching. An officer's position is
relayed to supervisors, and to a crew only while it is attached to her open
alert; while an alert is open her positions are kept as part of the incident.

The hot path allocates little that lives: the latest fix of each subject is a tuple
of plain values (which the garbage collector stops tracking), and the relayed frame
is built once for everyone who may see it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlmodel import col

from dispatch.auth.sessions import Viewer
from dispatch.realtime.events import KIND_ALERT, StoredEvent
from dispatch.storage import driver_sql
from dispatch.storage.models import AlertTrack, Crew
from dispatch.storage.store import Unit
from dispatch.usecases.context import NODE_ID, POSITIONS_CHANNEL, Context
from schemas.common import Position, Role
from schemas.server import LivePosition
from schemas.views import OPEN_ALERT_STATES, AlertState, AssignmentStatus

log = logging.getLogger("dispatch")

PEER_BATCH_S = 0.01  # positions go to the other processes together, this often
FLUSH_CHUNK = 100  # rows per transaction: about a millisecond of the loop on SQLite

Fix = tuple[float, float, float | None, datetime]  # lat, lon, accuracy, when
Relay = Callable[[dict[str, Any]], None]
FirstFix = Callable[[str, list[str], Fix], Coroutine[Any, Any, None]]


def frame_of(role: Role, subject_id: str, fix: Fix) -> dict[str, Any]:
    lat, lon, accuracy, at = fix
    return {
        "type": "position",
        "role": role.value,
        "subject_id": subject_id,
        "alert_id": None,
        "lat": lat,
        "lon": lon,
        "accuracy": accuracy,
        "at": at.isoformat().replace("+00:00", "Z"),
    }


def live_position(role: Role, subject_id: str, fix: Fix, alert_id: str | None) -> LivePosition:
    lat, lon, accuracy, at = fix
    return LivePosition(
        role=role,
        subject_id=subject_id,
        alert_id=alert_id,
        lat=lat,
        lon=lon,
        accuracy=accuracy,
        at=at,
    )


class Positions:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.relay: Relay = lambda message: None  # the registry's fan-out, set by services
        # officer id -> her open alerts -> the crews attached to each (who may see her)
        self.officer_alerts: dict[str, dict[str, frozenset[str]]] = {}
        self.officer_last: dict[str, Fix] = {}
        # Whether an officer's deployment is live (the alerts part knows): with no open
        # alert and none live, her position goes to nobody (her page stops sending too).
        self.is_live: Callable[[str], bool] = lambda officer_id: False
        # officer id -> her open alerts raised with no fix: her next fix places them,
        # through `on_first_fix` (the alerts part sets it).
        self.unplaced: dict[str, set[str]] = {}
        self.on_first_fix: FirstFix | None = None
        self.crew_last: dict[str, Fix] = {}
        # open alert -> the crews on it (and the crew that called for help): they see each
        # other's positions; crew -> those alerts.
        self.alert_crews: dict[str, frozenset[str]] = {}
        self.crew_alerts: dict[str, set[str]] = {}
        self._pending_crews: dict[str, Fix] = {}
        self._pending_tracks: list[dict[str, Any]] = []
        self._to_peers: list[dict[str, Any]] = []
        ctx.observers.append(self.observe)

    def blind_crews(self) -> None:
        """Events were lost: which crews are on which alert is no longer known. Until
        memory is read back, no crew sees an officer or another crew; supervisors still
        do, and her positions are still kept on the alerts believed open."""
        for alerts in self.officer_alerts.values():
            for alert_id in alerts:
                alerts[alert_id] = frozenset()
        self.alert_crews.clear()
        self.crew_alerts.clear()

    def forget_alerts(self) -> None:
        """Drop what the alert events said: `observe` is told again from the database."""
        self.officer_alerts.clear()
        self.alert_crews.clear()
        self.crew_alerts.clear()
        self.unplaced.clear()

    def observe(self, event: StoredEvent) -> None:
        """Follow which crews may see which officer, from the alert events (in order)."""
        if event.kind != KIND_ALERT or event.officer_id is None:
            return
        view = event.view()
        self._follow_crews(event.entity_id, view)
        alerts = self.officer_alerts.setdefault(event.officer_id, {})
        is_open = AlertState(view["state"]) in OPEN_ALERT_STATES
        if is_open:
            alerts[event.entity_id] = frozenset(
                c["crew_id"] for c in view["crews"] if c["status"] != AssignmentStatus.CLEARED
            )
        else:
            alerts.pop(event.entity_id, None)
            if not alerts:
                del self.officer_alerts[event.officer_id]
        if is_open and view.get("position_unknown"):
            self.unplaced.setdefault(event.officer_id, set()).add(event.entity_id)
        elif event.officer_id in self.unplaced:
            unplaced = self.unplaced[event.officer_id]
            unplaced.discard(event.entity_id)
            if not unplaced:
                del self.unplaced[event.officer_id]

    def _follow_crews(self, alert_id: str, view: dict[str, Any]) -> None:
        for crew_id in self.alert_crews.pop(alert_id, frozenset()):
            mine = self.crew_alerts.get(crew_id)
            if mine is not None:
                mine.discard(alert_id)
                if not mine:
                    del self.crew_alerts[crew_id]
        if AlertState(view["state"]) not in OPEN_ALERT_STATES:
            return
        crews = {c["crew_id"] for c in view["crews"] if c["status"] != AssignmentStatus.CLEARED}
        if view.get("help_crew_id"):
            crews.add(view["help_crew_id"])
        if len(crews) < 2:
            return  # nobody beside it to see
        self.alert_crews[alert_id] = frozenset(crews)
        for crew_id in crews:
            self.crew_alerts.setdefault(crew_id, set()).add(alert_id)

    def crews_beside(self, crew_id: str) -> dict[str, list[str]]:
        """The open alerts this crew shares with other crews, and all their crews."""
        return {a: sorted(self.alert_crews[a]) for a in self.crew_alerts.get(crew_id, ())}

    def _fix(self, position: Position) -> Fix:
        now = self.ctx.clock()
        at = min(position.at, now) if position.at is not None else now
        return (position.lat, position.lon, position.accuracy, at)

    async def officer_position(self, viewer: Viewer, position: Position) -> None:
        fix = self._fix(position)
        self.officer_last[viewer.user_id] = fix
        if viewer.user_id in self.unplaced and self.on_first_fix is not None:
            unplaced = sorted(self.unplaced.pop(viewer.user_id))
            self.ctx.spawn(self.on_first_fix(viewer.user_id, unplaced, fix))
        alerts = self.officer_alerts.get(viewer.user_id, {})
        for alert_id in alerts:
            self._pending_tracks.append(
                {
                    "alert_id": alert_id,
                    "lat": fix[0],
                    "lon": fix[1],
                    "accuracy": fix[2],
                    "at": fix[3],
                }
            )
        if not alerts and not self.is_live(viewer.user_id):
            return  # kept for the moment she raises an alert; shown to nobody
        message = {
            "frame": frame_of(Role.OFFICER, viewer.user_id, fix),
            "alerts": {a: sorted(crews) for a, crews in alerts.items()},
        }
        await self._send(message)

    async def crew_position(self, viewer: Viewer, position: Position) -> None:
        crew_id = viewer.crew_id
        if crew_id is None or crew_id not in self.ctx.index:
            return  # unknown crew (removed while connected): nothing to match
        fix = self._fix(position)
        self._crew_moved(crew_id, fix)
        self._pending_crews[crew_id] = fix
        alerts = self.crews_beside(crew_id)
        await self._send({"frame": frame_of(Role.CREW, crew_id, fix), "alerts": alerts})

    def _crew_moved(self, crew_id: str, fix: Fix) -> None:
        """Feed the index ranking uses (a crew connected here or to a peer alike)."""
        index, now = self.ctx.index, fix[3].timestamp()
        before = index.position(crew_id)
        if before is not None and before[2] > now:
            return  # an older fix relayed late
        was_fresh = before is not None and before[2] >= now - self.ctx.rules.fresh_s
        index.set_position(crew_id, fix[0], fix[1], now)
        self.crew_last[crew_id] = fix
        if not was_fresh and index.is_ready(crew_id):
            self.ctx.on_crew_ready()

    async def _send(self, message: dict[str, Any]) -> None:
        self.relay(message)
        if self.ctx.hub.shared:
            # To the peers together, every PEER_BATCH_S: one hub message, not one each.
            if not self._to_peers:
                asyncio.get_running_loop().call_later(PEER_BATCH_S, self._flush_to_peers)
            self._to_peers.append(message)

    def _flush_to_peers(self) -> None:
        batch, self._to_peers = self._to_peers, []
        if batch:
            text = json.dumps({"origin": NODE_ID, "batch": batch})
            self.ctx.hub.publish_later(POSITIONS_CHANNEL, text)

    def from_peer(self, text: str) -> None:
        """Positions relayed by another process: fanned out here too, and a crew's feed
        this process's index, so that it ranks every crew in the cluster."""
        envelope = json.loads(text)
        if envelope.get("origin") == NODE_ID:
            return
        for message in envelope["batch"]:
            frame = message["frame"]
            crew_id = frame["subject_id"]
            if frame["role"] == Role.CREW.value and crew_id in self.ctx.index:
                at = datetime.fromisoformat(frame["at"])
                self._crew_moved(crew_id, (frame["lat"], frame["lon"], frame["accuracy"], at))
            self.relay(message)

    # -- what a snapshot shows ---------------------------------------------------------

    def visible(self, viewer: Viewer, alerts: list[tuple[str, str]]) -> list[LivePosition]:
        """Positions this viewer may see now; `alerts` are (alert id, officer id) of the
        open alerts it sees."""
        if viewer.role == Role.SUPERVISOR:
            officers = [
                live_position(
                    Role.OFFICER,
                    officer,
                    fix,
                    next(iter(self.officer_alerts.get(officer, {})), None),
                )
                for officer, fix in self.officer_last.items()
                if officer in self.officer_alerts or self.is_live(officer)
            ]
            crews = [live_position(Role.CREW, c, fix, None) for c, fix in self.crew_last.items()]
            return [*officers, *crews]
        if viewer.role == Role.CREW:
            beside = [
                live_position(Role.CREW, crew_id, self.crew_last[crew_id], alert_id)
                for alert_id, crews in self.crews_beside(viewer.crew_id or "").items()
                for crew_id in crews
                if crew_id != viewer.crew_id and crew_id in self.crew_last
            ]
            return [
                *(
                    live_position(Role.OFFICER, officer, self.officer_last[officer], alert_id)
                    for alert_id, officer in alerts
                    if officer in self.officer_last
                ),
                *beside,
            ]
        return []

    def remember_crew(self, crew: Crew) -> None:
        """A crew's last known position from the database (after a restart)."""
        if (
            crew.id in self.crew_last
            or crew.last_lat is None
            or crew.last_lon is None
            or crew.last_fix_at is None
        ):
            return
        self.crew_last[crew.id] = (
            crew.last_lat,
            crew.last_lon,
            crew.last_accuracy,
            crew.last_fix_at,
        )

    # -- the database ------------------------------------------------------------------

    async def flush(self) -> int:
        """Write the latest crew positions and the officers' incident tracks through the
        core's store, a small transaction at a time, giving the loop back in between:
        an alert never waits behind a flush for the database. Returns rows written.

        A chunk that fails (the database gone, busy too long) and every chunk after it
        go back in line for the next flush, behind nothing: a crew's newer fix taken
        meanwhile wins over its unwritten one, and her track loses no point."""
        crews, self._pending_crews = list(self._pending_crews.items()), {}
        tracks, self._pending_tracks = self._pending_tracks, []
        moved = added = 0
        try:
            for start in range(0, len(crews), FLUSH_CHUNK):
                chunk = crews[start : start + FLUSH_CHUNK]
                rows = [
                    {"b_id": c, "b_lat": f[0], "b_lon": f[1], "b_acc": f[2], "b_at": f[3]}
                    for c, f in chunk
                ]
                await self.ctx.store.run_unit(partial(_write, MOVE_CREWS, rows))
                moved += len(chunk)
                await asyncio.sleep(0)
            for start in range(0, len(tracks), FLUSH_CHUNK):
                points = tracks[start : start + FLUSH_CHUNK]
                await self.ctx.store.run_unit(partial(_write, ADD_TRACKS, points))
                added += len(points)
                await asyncio.sleep(0)
        except BaseException:
            self._pending_crews = {**dict(crews[moved:]), **self._pending_crews}
            self._pending_tracks = tracks[added:] + self._pending_tracks
            raise
        return moved + added


def _write(statement: Any, rows: list[dict[str, Any]], unit: Unit) -> None:
    """On SQLite, on the driver's cursor: half SQLAlchemy's cost for 100 rows (0.9 ms
    against 1.7 ms here, and each chunk holds the event loop while it runs)."""
    driver_sql.executemany(unit.conn, statement, rows)


MOVE_CREWS = (
    update(Crew)
    .where(col(Crew.id) == bindparam("b_id"))
    .values(
        last_lat=bindparam("b_lat"),
        last_lon=bindparam("b_lon"),
        last_accuracy=bindparam("b_acc"),
        last_fix_at=bindparam("b_at"),
    )
)
ADD_TRACKS = insert(AlertTrack)

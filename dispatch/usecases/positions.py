"""Live positions: kept in memory, relayed at once, written to the database in batches.

A crew's position feeds the index used for matching. An officer's position is
relayed to supervisors, and to a crew only while it is attached to her open
alert; while an alert is open her positions are kept as part of the incident.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlmodel import col

from dispatch.auth.sessions import Viewer
from dispatch.realtime.events import KIND_ALERT, KIND_CREW, StoredEvent
from dispatch.storage.models import AlertTrack, Crew
from dispatch.usecases.dispatcher import POSITIONS_CHANNEL, DispatcherBase
from schemas.common import CrewMode, Position, Role
from schemas.server import LivePosition
from schemas.views import OPEN_ALERT_STATES, AlertState, AssignmentStatus

MAX_TRACKED_ALERTS = 20_000


class PositionCases(DispatcherBase):
    def _positions_init(self) -> None:
        self.officer_alerts: dict[str, dict[str, frozenset[str]]] = {}
        self._alert_seq: dict[str, int] = {}  # last seq applied per alert (newest kept)
        self.crew_last: dict[str, LivePosition] = {}
        self._pending_crews: dict[str, LivePosition] = {}
        self._pending_tracks: list[AlertTrack] = []

    def observe(self, event: StoredEvent) -> None:
        """Follow which crews may see which officer, from the alert events, and each crew's
        mode, from the crew events (any process's)."""
        if event.kind == KIND_CREW:
            mode = CrewMode(json.loads(event.payload)["mode"])
            if event.entity_id in self.index:
                self.index.set_speed(event.entity_id, self.speed(mode))
            return
        if event.kind != KIND_ALERT or event.officer_id is None:
            return
        if event.seq and event.seq <= self._alert_seq.get(event.entity_id, 0):
            return  # already applied (our own, seen at commit), or older than what we have
        if event.seq:
            self._alert_seq[event.entity_id] = event.seq
            if len(self._alert_seq) > MAX_TRACKED_ALERTS:
                for old in list(self._alert_seq)[: MAX_TRACKED_ALERTS // 10]:
                    del self._alert_seq[old]
        view = json.loads(event.payload)
        alerts = self.officer_alerts.setdefault(event.officer_id, {})
        if AlertState(view["state"]) in OPEN_ALERT_STATES:
            alerts[event.entity_id] = frozenset(
                c["crew_id"] for c in view["crews"] if c["status"] != AssignmentStatus.CLEARED
            )
        else:
            alerts.pop(event.entity_id, None)
            if not alerts:
                del self.officer_alerts[event.officer_id]

    def _fix_time(self, position: Position, received: datetime) -> datetime:
        return min(position.at, received) if position.at is not None else received

    async def officer_position(self, viewer: Viewer, position: Position) -> None:
        now = self.clock()
        at = self._fix_time(position, now)
        self.note_officer_position(viewer.user_id, position, at)
        alerts = self.officer_alerts.get(viewer.user_id, {})
        for alert_id in alerts:
            self._pending_tracks.append(
                AlertTrack(
                    alert_id=alert_id,
                    lat=position.lat,
                    lon=position.lon,
                    accuracy=position.accuracy,
                    at=at,
                )
            )
        frame = self.officer_last[viewer.user_id]
        message = {
            "frame": frame.model_dump(mode="json"),
            "alerts": {a: sorted(crews) for a, crews in alerts.items()},
        }
        await self.hub.publish(POSITIONS_CHANNEL, json.dumps(message))

    async def crew_position(self, viewer: Viewer, position: Position) -> None:
        if viewer.crew_id is None:
            return
        crew_id = viewer.crew_id
        now = self.clock()
        at = self._fix_time(position, now)
        if crew_id not in self.index:
            return  # unknown crew (removed while connected): nothing to match
        before = self.index.position(crew_id)
        was_fresh = before is not None and before[2] >= now.timestamp() - self.rules.fresh_s
        self.index.set_position(crew_id, position.lat, position.lon, at.timestamp())
        frame = LivePosition.of(Role.CREW, crew_id, position, at)
        self.crew_last[crew_id] = frame
        self._pending_crews[crew_id] = frame
        if not was_fresh and self.index.is_ready(crew_id):
            self.kick()
        await self.hub.publish(
            POSITIONS_CHANNEL, json.dumps({"frame": frame.model_dump(mode="json"), "alerts": {}})
        )

    async def flush_positions(self) -> int:
        """Write the latest crew positions and the officers' incident tracks. Returns rows."""
        crews, self._pending_crews = self._pending_crews, {}
        tracks, self._pending_tracks = self._pending_tracks, []
        if not crews and not tracks:
            return 0
        async with self.lock, self.db.session() as s:
            if crews:
                conn = await s.connection()
                await conn.execute(
                    update(Crew)
                    .where(col(Crew.id) == bindparam("b_id"))
                    .values(
                        last_lat=bindparam("b_lat"),
                        last_lon=bindparam("b_lon"),
                        last_accuracy=bindparam("b_acc"),
                        last_fix_at=bindparam("b_at"),
                    ),
                    [
                        {
                            "b_id": c,
                            "b_lat": f.lat,
                            "b_lon": f.lon,
                            "b_acc": f.accuracy,
                            "b_at": f.at,
                        }
                        for c, f in crews.items()
                    ],
                )
            s.add_all(tracks)
            await s.commit()
        return len(crews) + len(tracks)

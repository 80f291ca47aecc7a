"""Bringing a (re)connecting client up to date: the missed events, or a snapshot.

The missed events come from the sequencer's ring in memory, so a storm of phones
reconnecting after a blip reads nothing from the database."""

from __future__ import annotations

from typing import Any

from dispatch.realtime.connection import Connection
from dispatch.realtime.visibility import frame_for
from dispatch.usecases.dispatcher import Dispatcher
from schemas.errors import CloseCode
from schemas.server import Synced

SNAPSHOT_TRIES = 3


async def sync(d: Dispatcher, conn: Connection, last_seq: int | None) -> dict[str, Any]:
    conn.unsync()
    if last_seq is not None:
        events = d.snapshots.missed(conn.viewer, last_seq)
        if events is not None:
            frames = [f for e in events if (f := frame_for(conn.viewer, e)) is not None]
            # A replay larger than the client's outbox would cut it off before it ends,
            # and again on every retry: such a client gets a snapshot (one frame) instead.
            if not conn.held_overflow and len(frames) < conn.room() // 2:
                upto = events[-1].seq if events else last_seq
                trailer = Synced(seq=upto, replayed=len(frames)).model_dump_json()
                conn.complete_sync(frames, upto, trailer)
                d.snapshots.synced(conn.viewer, upto)
                return {"mode": "replay", "seq": upto, "replayed": len(frames)}
    for _ in range(SNAPSHOT_TRIES):
        conn.held_overflow = False
        snap = await d.snapshots.snapshot(conn.viewer)
        if conn.held_overflow:
            continue  # events were dropped while reading: read again
        trailer = Synced(seq=snap.seq, replayed=0).model_dump_json()
        conn.complete_sync([snap.model_dump_json()], snap.seq, trailer)
        d.snapshots.synced(conn.viewer, snap.seq)
        return {"mode": "snapshot", "seq": snap.seq}
    conn.close(CloseCode.TRY_AGAIN, "too many changes to sync: reconnect")
    return {"mode": "none"}

"""Several processes (nodes) as one dispatch: which are alive, which crews each holds.

Only when the hub is shared (Redis). Every node:

- beats every `cluster.heartbeat_s`: one small transaction updates its `cluster_node`
  row and writes the crews that connected to it or left it since the last beat
  (`crew_link`), then reads the other nodes' links;
- says the same at once over the hub (`PRESENCE_CHANNEL`), so that a crew connected to
  one node is ready for the others' ranking within a message, not a beat; the links
  in the database repair what the hub dropped;
- takes over a node silent for `cluster.dead_after_s`: deletes its row and links (one
  peer wins the delete), and withdraws, through the offering step, the open offer of
  each of its crews that has not come back anywhere within
  `dispatch.disconnect_grace_s` of the dead node's last beat. Its offers' deadlines
  are every node's sweep; its waiting alerts every node's retry.

A node whose own beats failed (the database was away) judges nobody dead until it has
beaten for `dead_after_s` again: after an outage every node's row is old, and none may
take its live peers over. A node that finds its row gone (taken over while it was cut
off) writes all its crews again and says so.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlmodel import Session

from dispatch.storage.models import ClusterNode, CrewLink
from dispatch.usecases.context import NODE_ID, PRESENCE_CHANNEL, Context
from dispatch.usecases.crews import Crews

log = logging.getLogger("dispatch")

NODES, LINKS = ClusterNode.__table__, CrewLink.__table__  # type: ignore[attr-defined]


@dataclass
class Beat:
    """What one heartbeat transaction found."""

    rejoined: bool = False
    dead: list[tuple[str, datetime, list[str]]] = field(default_factory=list)
    links: dict[str, set[str]] = field(default_factory=dict)  # node -> its crews


class Cluster:
    def __init__(self, ctx: Context, crews: Crews) -> None:
        self.ctx, self.crews_part = ctx, crews
        self.node_id = NODE_ID
        self.enabled = ctx.hub.shared
        self._pending: dict[str, bool] = {}  # crew -> connected here, not yet written
        self._heard: dict[tuple[str, str], float] = {}  # (crew, node) -> when the hub said
        self._healthy_since: float | None = None
        self.taken_over = 0  # nodes this one took over (a metric)
        self.alive_peers = 0
        self._leaving = False
        if self.enabled:
            ctx.on_presence = self.local

    # -- this node's crews ------------------------------------------------------------

    def local(self, crew_id: str, up: bool) -> None:
        self._pending[crew_id] = up
        key = "up" if up else "down"
        self._say({"node": self.node_id, key: [crew_id]})

    def _say(self, message: dict[str, object]) -> None:
        self.ctx.hub.publish_later(PRESENCE_CHANNEL, json.dumps(message))

    # -- what peers say -----------------------------------------------------------------

    def from_peer(self, text: str) -> None:
        message = json.loads(text)
        node = message["node"]
        if node == self.node_id:
            return
        if message.get("gone"):
            self._forget_node(node)
            return
        now = time.monotonic()
        for crew_id in message.get("up", ()):
            self._heard[(crew_id, node)] = now
            self._set_remote(crew_id, node, True)
        for crew_id in message.get("down", ()):
            self._heard[(crew_id, node)] = now
            self._set_remote(crew_id, node, False)

    def _set_remote(self, crew_id: str, node: str, up: bool) -> None:
        remote = self.ctx.crews.remote
        nodes = remote.get(crew_id)
        if up:
            remote.setdefault(crew_id, set()).add(node)
        elif nodes is not None:
            nodes.discard(node)
            if not nodes:
                del remote[crew_id]
        self.ctx.refresh_ready(crew_id)

    def _forget_node(self, node: str) -> list[str]:
        gone = [c for c, nodes in self.ctx.crews.remote.items() if node in nodes]
        for crew_id in gone:
            self._set_remote(crew_id, node, False)
        for key in [k for k in self._heard if k[1] == node]:
            del self._heard[key]
        return gone

    # -- the heartbeat ------------------------------------------------------------------

    async def start(self) -> None:
        if self.enabled:
            await self.beat()

    async def beat(self) -> None:
        if not self.enabled or self._leaving:
            return
        changes, self._pending = self._pending, {}
        here = sorted(c for c, n in self.ctx.crews.connections.items() if n > 0)
        mono = time.monotonic()
        judge = self._healthy_since is not None and (
            mono - self._healthy_since >= self.ctx.settings.cluster.dead_after_s
        )
        now = self.ctx.clock()
        cutoff = now - timedelta(seconds=self.ctx.settings.cluster.dead_after_s)
        try:
            found = await self.ctx.store.run(
                lambda s: self._beat(s, now, changes, here, cutoff if judge else None)
            )
        except Exception:
            self._pending = {**changes, **self._pending}
            if self._healthy_since is not None:
                log.warning("heartbeat failed: judging no peer until beats succeed again")
            self._healthy_since = None
            raise
        if self._healthy_since is None:
            self._healthy_since = mono
        if found.rejoined:
            self._say({"node": self.node_id, "up": here})
        self._repair(found.links)
        for node, last_beat, crews in found.dead:
            self._take_over(node, last_beat, crews)

    def _beat(
        self,
        s: Session,
        now: datetime,
        changes: dict[str, bool],
        here: list[str],
        cutoff: datetime | None,
    ) -> Beat:
        conn, me, found = s.connection(), self.node_id, Beat()
        nodes, links = NODES, LINKS
        beat = conn.execute(update(nodes).where(nodes.c.id == me).values(beat_at=now))
        if beat.rowcount == 0:  # first beat, or taken over while cut off: all again
            conn.execute(insert(nodes).values(id=me, started_at=now, beat_at=now))
            conn.execute(delete(links).where(links.c.node_id == me))
            changes = dict.fromkeys(here, True)
            found.rejoined = True
        if changes:
            conn.execute(
                delete(links).where(links.c.node_id == me, links.c.crew_id.in_(list(changes)))
            )
            ups = [{"crew_id": c, "node_id": me} for c, up in changes.items() if up]
            if ups:
                conn.execute(insert(links), ups)
        if cutoff is not None:
            dead = conn.execute(
                delete(nodes)
                .where(nodes.c.beat_at < cutoff, nodes.c.id != me)
                .returning(nodes.c.id, nodes.c.beat_at)
            ).all()
            for node, last_beat in dead:
                crews = conn.execute(
                    delete(links).where(links.c.node_id == node).returning(links.c.crew_id)
                ).scalars()
                found.dead.append((node, last_beat, list(crews)))
        for node, crew_id in conn.execute(select(links.c.node_id, links.c.crew_id)).all():
            if node != me:
                found.links.setdefault(node, set()).add(crew_id)
        alive = conn.execute(select(nodes.c.id).where(nodes.c.id != me)).all()
        self.alive_peers = len(alive)
        return found

    def _repair(self, links: dict[str, set[str]]) -> None:
        """Make the remote map agree with the database, except for what the hub said
        lately (a link is written up to a beat after its message)."""
        trust_hub = time.monotonic() - self.ctx.settings.cluster.dead_after_s
        for key, at in list(self._heard.items()):
            if at < trust_hub:
                del self._heard[key]
        remote = self.ctx.crews.remote
        for crew_id, nodes in list(remote.items()):
            for node in list(nodes):
                if crew_id not in links.get(node, ()) and (crew_id, node) not in self._heard:
                    self._set_remote(crew_id, node, False)
        for node, crews in links.items():
            for crew_id in crews:
                if node not in remote.get(crew_id, ()) and (crew_id, node) not in self._heard:
                    self._set_remote(crew_id, node, True)

    def _take_over(self, node: str, last_beat: datetime, crews: list[str]) -> None:
        self.taken_over += 1
        log.warning(
            "node %s silent since %s: taken over",
            node,
            last_beat.isoformat(),
            extra={"node": node},
        )
        self._say({"node": node, "gone": True})
        self._forget_node(node)
        grace = self.ctx.settings.dispatch.disconnect_grace_s
        left = grace - (self.ctx.clock() - last_beat).total_seconds()
        for crew_id in crews:
            self.ctx.refresh_ready(crew_id)
            if not self.ctx.crews.connected_anywhere(crew_id):
                # Its last events may not have reached this process (it died before
                # sending them): the database says whether the crew holds an offer.
                self.crews_part.withdraw_after(crew_id, max(0.0, left), known=False)

    async def stop(self) -> None:
        """Leave the cluster: the crews connected here are no longer ready anywhere."""
        if not self.enabled:
            return
        self._leaving = True
        me = self.node_id

        def leave(s: Session) -> None:
            conn = s.connection()
            conn.execute(delete(LINKS).where(LINKS.c.node_id == me))
            conn.execute(delete(NODES).where(NODES.c.id == me))

        try:
            await self.ctx.store.run(leave)
            await self.ctx.hub.publish(PRESENCE_CHANNEL, json.dumps({"node": me, "gone": True}))
        except Exception:
            log.warning("could not leave the cluster cleanly; peers take this node over")

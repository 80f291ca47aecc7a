"""Stored events: what changed, for whom, in sequence.

An event carries the full view of the entity that changed and its audience:
the alert's officer, and the crews that could see the entity before or after
the change (so that a crew that loses sight of an alert is told to drop it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dispatch.storage.models import Event

KIND_ALERT, KIND_OFFER, KIND_CREW = "alert", "offer", "crew"
KIND_DEPLOYMENT = "deployment"
# What the officer's own phone is shown instead of the truth: after her duress PIN, the
# cancel she seems to have made (for her only: `user_ids` holds her id).
KIND_COVER = "cover"
# Welfare warnings on the board (missed check-in, silent phone): supervisors only.
KIND_WARNING, KIND_WARNING_CLEAR = "welfare.warning", "welfare.clear"
# An alert's message (supervisors and the crews in `crew_ids`; never an officer), and a
# supervisor's discreet signal to an officer (her only: `user_ids` holds her id).
KIND_MESSAGE, KIND_SIGNAL = "message", "signal"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    kind: str
    entity_id: str
    payload: str  # the entity's view, JSON
    officer_id: str | None
    crew_ids: tuple[str, ...]
    user_ids: tuple[str, ...] = ()  # further users who see it (a deployment's officers)
    _view: dict[str, Any] | None = field(default=None, init=False, compare=False, repr=False)

    def view(self) -> dict[str, Any]:
        """The payload parsed, once per event however many observers and sockets read
        it (each parsed it again). Shared between them: never change it."""
        if self._view is None:
            object.__setattr__(self, "_view", json.loads(self.payload))
        assert self._view is not None
        return self._view

    def to_json(self) -> str:
        return json.dumps(
            {
                "seq": self.seq,
                "kind": self.kind,
                "entity_id": self.entity_id,
                "payload": self.payload,
                "officer_id": self.officer_id,
                "crew_ids": list(self.crew_ids),
                "user_ids": list(self.user_ids),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> StoredEvent:
        d: dict[str, Any] = json.loads(text)
        return cls(
            d["seq"],
            d["kind"],
            d["entity_id"],
            d["payload"],
            d["officer_id"],
            tuple(d["crew_ids"]),
            tuple(d.get("user_ids", ())),
        )

    @classmethod
    def from_row(cls, row: Event) -> StoredEvent:
        crews = tuple(c for c in row.crew_ids.split(" ") if c)
        users = tuple(u for u in (row.user_ids or "").split(" ") if u)
        return cls(row.seq, row.kind, row.entity_id, row.payload, row.officer_id, crews, users)

    def row_values(self, at: datetime) -> dict[str, Any]:
        """The event table's row, for a bulk insert."""
        return {
            "seq": self.seq,
            "at": at,
            "kind": self.kind,
            "entity_id": self.entity_id,
            "payload": self.payload,
            "officer_id": self.officer_id,
            "crew_ids": " ".join(self.crew_ids),
            "user_ids": " ".join(self.user_ids) or None,
        }


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """An event before its sequence number is taken at commit."""

    kind: str
    entity_id: str
    payload: str
    officer_id: str | None
    crew_ids: tuple[str, ...]
    user_ids: tuple[str, ...] = ()

    def numbered(self, seq: int) -> StoredEvent:
        return StoredEvent(
            seq,
            self.kind,
            self.entity_id,
            self.payload,
            self.officer_id,
            self.crew_ids,
            self.user_ids,
        )

"""Nearest-crew ranking over an in-memory index of crew positions.

The index keeps positions in numpy arrays (one slot per crew), so ranking is
one vectorised pass over the arrays and a partial sort, never a Python loop
over every crew. It holds no truth of its own: the server rebuilds it from the
database and from the crews' position messages.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from dispatch.core.geo import haversine_many_m
from schemas.common import CrewMode


@dataclass(frozen=True, slots=True)
class Candidate:
    crew_id: str
    distance_m: float
    eta_s: float


@dataclass(frozen=True, slots=True)
class RankingRules:
    fresh_s: float
    detour_factor: float
    speed_mps: Mapping[CrewMode, float]


class CrewIndex:
    """Positions and availability of crews, ranked by estimated travel time."""

    def __init__(self, capacity: int = 64) -> None:
        self._slots: dict[str, int] = {}
        self._ids: list[str | None] = [None] * capacity
        self._free: list[int] = list(range(capacity - 1, -1, -1))
        self._lat = np.zeros(capacity)
        self._lon = np.zeros(capacity)
        self._cos = np.ones(capacity)
        self._fix_at = np.full(capacity, -math.inf)
        self._speed = np.ones(capacity)
        self._ready = np.zeros(capacity, dtype=bool)  # on duty, available, connected

    def __len__(self) -> int:
        return len(self._slots)

    def __contains__(self, crew_id: object) -> bool:
        return crew_id in self._slots

    def _grow(self) -> None:
        old = len(self._ids)
        new = old * 2
        self._ids.extend([None] * old)
        self._free.extend(range(new - 1, old - 1, -1))
        self._lat = np.resize(self._lat, new)
        self._lon = np.resize(self._lon, new)
        self._cos = np.resize(self._cos, new)
        self._fix_at = np.concatenate([self._fix_at, np.full(old, -math.inf)])
        self._speed = np.resize(self._speed, new)
        self._ready = np.concatenate([self._ready, np.zeros(old, dtype=bool)])

    def _slot(self, crew_id: str) -> int:
        slot = self._slots.get(crew_id)
        if slot is None:
            if not self._free:
                self._grow()
            slot = self._free.pop()
            self._slots[crew_id] = slot
            self._ids[slot] = crew_id
            self._fix_at[slot] = -math.inf
            self._ready[slot] = False
            self._speed[slot] = 1.0
        return slot

    def set_speed(self, crew_id: str, speed_mps: float) -> None:
        if speed_mps <= 0:
            raise ValueError("speed must be positive")
        slot = self._slot(crew_id)  # may grow the arrays: take the slot before indexing
        self._speed[slot] = speed_mps

    def set_position(self, crew_id: str, lat: float, lon: float, fix_at: float) -> None:
        """Record a fix (degrees, epoch seconds). An older fix than the one held is ignored."""
        slot = self._slot(crew_id)
        if fix_at < self._fix_at[slot]:
            return
        rad = math.radians(lat)
        self._lat[slot], self._lon[slot] = rad, math.radians(lon)
        self._cos[slot] = math.cos(rad)
        self._fix_at[slot] = fix_at

    def position(self, crew_id: str) -> tuple[float, float, float] | None:
        """(lat, lon, fix time) of a crew, or None when it has no fix."""
        slot = self._slots.get(crew_id)
        if slot is None or self._fix_at[slot] == -math.inf:
            return None
        return (
            math.degrees(self._lat[slot]),
            math.degrees(self._lon[slot]),
            float(self._fix_at[slot]),
        )

    def set_ready(self, crew_id: str, ready: bool) -> None:
        """Ready = on duty, available (no offer, no assignment) and connected."""
        slot = self._slot(crew_id)
        self._ready[slot] = ready

    def is_ready(self, crew_id: str) -> bool:
        slot = self._slots.get(crew_id)
        return slot is not None and bool(self._ready[slot])

    def remove(self, crew_id: str) -> None:
        slot = self._slots.pop(crew_id, None)
        if slot is not None:
            self._ids[slot] = None
            self._ready[slot] = False
            self._fix_at[slot] = -math.inf
            self._free.append(slot)

    def rank(
        self,
        lat: float,
        lon: float,
        *,
        now: float,
        rules: RankingRules,
        limit: int,
        exclude: Collection[str] = (),
    ) -> list[Candidate]:
        """The `limit` best ready crews with a fresh fix, by estimated travel time."""
        if limit <= 0 or not self._slots:
            return []
        mask: npt.NDArray[np.bool_] = self._ready & (self._fix_at >= now - rules.fresh_s)
        for crew_id in exclude:
            slot = self._slots.get(crew_id)
            if slot is not None:
                mask[slot] = False
        slots = np.flatnonzero(mask)
        if slots.size == 0:
            return []
        distance = haversine_many_m(lat, lon, self._lat[slots], self._lon[slots], self._cos[slots])
        eta = distance * rules.detour_factor / self._speed[slots]
        if slots.size > limit:
            best = np.argpartition(eta, limit - 1)[:limit]
        else:
            best = np.arange(slots.size)
        # Ties on ETA go to the crew id, so that ranking never depends on slot order.
        chosen = sorted(best.tolist(), key=lambda i: (float(eta[i]), self._ids[slots[i]] or ""))
        return [
            Candidate(
                crew_id=self._ids[slots[i]] or "",
                distance_m=float(distance[i]),
                eta_s=float(eta[i]),
            )
            for i in chosen
        ]

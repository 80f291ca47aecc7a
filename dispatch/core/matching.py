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

from dispatch.core.geo import haversine_m
from schemas.common import CrewMode

BARRED = 1e300  # the cheap figure of a crew that may not be offered anything


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
        self._inv_speed2 = np.ones(capacity)  # 1 / speed squared, for the cheap pass
        self._not_ready = np.ones(capacity, dtype=bool)
        self._high = 0  # one past the highest slot ever taken
        self._scratch = np.empty((3, 0))
        self._mask = np.empty(0, dtype=bool)

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
        self._inv_speed2 = np.resize(self._inv_speed2, new)
        self._ready = np.concatenate([self._ready, np.zeros(old, dtype=bool)])
        self._not_ready = np.concatenate([self._not_ready, np.ones(old, dtype=bool)])

    def _slot(self, crew_id: str) -> int:
        slot = self._slots.get(crew_id)
        if slot is None:
            if not self._free:
                self._grow()
            slot = self._free.pop()
            self._high = max(self._high, slot + 1)
            self._slots[crew_id] = slot
            self._ids[slot] = crew_id
            self._fix_at[slot] = -math.inf
            self._ready[slot] = False
            self._not_ready[slot] = True
            self._speed[slot] = 1.0
            self._inv_speed2[slot] = 1.0
        return slot

    def set_speed(self, crew_id: str, speed_mps: float) -> None:
        if speed_mps <= 0:
            raise ValueError("speed must be positive")
        slot = self._slot(crew_id)  # may grow the arrays: take the slot before indexing
        self._speed[slot] = speed_mps
        self._inv_speed2[slot] = 1.0 / (speed_mps * speed_mps)

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
        self._not_ready[slot] = not ready

    def is_ready(self, crew_id: str) -> bool:
        slot = self._slots.get(crew_id)
        return slot is not None and bool(self._ready[slot])

    def remove(self, crew_id: str) -> None:
        slot = self._slots.pop(crew_id, None)
        if slot is not None:
            self._ids[slot] = None
            self._ready[slot] = False
            self._not_ready[slot] = True
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
        """The `limit` best ready crews with a fresh fix, by estimated travel time.

        Two passes: a cheap one over every crew (a flat-earth distance, squared, no
        trigonometry, into scratch arrays that are never reallocated) keeps the few
        crews that can be among the best; the exact haversine ranks only those. Within
        a few tens of kilometres the flat-earth figure is within 1 % of the exact one,
        so keeping everything within 2 % of the `limit`-th best loses no one."""
        if limit <= 0 or not self._slots:
            return []
        n = self._high  # slots are taken lowest first: none in use at or above this
        if self._scratch.shape[1] < n:
            self._scratch = np.empty((3, len(self._ids)))
            self._mask = np.empty(len(self._ids), dtype=bool)
        x, y, eta2 = self._scratch[0, :n], self._scratch[1, :n], self._scratch[2, :n]
        barred = self._mask[:n]
        # Barred: not ready, or a stale fix. A barred crew's figure is pushed out of reach.
        np.less(self._fix_at[:n], now - rules.fresh_s, out=barred)
        np.logical_or(barred, self._not_ready[:n], out=barred)
        lat0, lon0 = math.radians(lat), math.radians(lon)
        np.subtract(self._lon[:n], lon0, out=x)
        np.multiply(x, math.cos(lat0), out=x)
        np.subtract(self._lat[:n], lat0, out=y)
        np.multiply(x, x, out=x)
        np.multiply(y, y, out=y)
        np.add(x, y, out=eta2)
        np.multiply(eta2, self._inv_speed2[:n], out=eta2)
        np.multiply(barred, BARRED, out=x)
        np.add(eta2, x, out=eta2)
        for crew_id in exclude:
            slot = self._slots.get(crew_id)
            if slot is not None:
                eta2[slot] = BARRED
        best: list[tuple[int, float]] = []
        for _ in range(min(limit, n)):
            slot = int(np.argmin(eta2))
            value = float(eta2[slot])
            if value >= BARRED:
                break
            best.append((slot, value))
            eta2[slot] = math.inf  # out of the next argmin
        if not best:
            return []
        kth = best[-1][1]
        for slot, value in best:
            eta2[slot] = value
        slots = np.flatnonzero(eta2 <= kth * 1.0404).tolist()  # 2 % in distance, squared
        found = []
        for slot in slots:
            distance = haversine_m(
                lat, lon, math.degrees(self._lat[slot]), math.degrees(self._lon[slot])
            )
            eta = distance * rules.detour_factor / float(self._speed[slot])
            found.append((eta, self._ids[slot] or "", distance))
        # Ties on ETA go to the crew id, so that ranking never depends on slot order.
        found.sort()
        return [Candidate(crew_id=c, distance_m=d, eta_s=e) for e, c, d in found[:limit]]

"""Names for places, pure: the nearest named point to a position, its distance and the
8-point direction from it ("near Castle Green, 120 m N"), and finding names by text.
No I/O: the router hands it the candidates (operations' places and the gazetteer)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from dispatch.core.geo import EARTH_RADIUS_M, haversine_m

DIRECTIONS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
AT_M = 25.0  # closer than this, a position is "at" the place
METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180


@dataclass(frozen=True)
class NamedPoint:
    name: str
    lat: float
    lon: float
    source: str = "gazetteer"  # or "operation"


@dataclass(frozen=True)
class Nearby:
    place: NamedPoint
    distance_m: float
    direction: str  # from the place to the position

    @property
    def text(self) -> str:
        if self.distance_m < AT_M:
            return f"at {self.place.name}"
        return f"near {self.place.name}, {distance_text(self.distance_m)} {self.direction}"


def distance_text(metres: float) -> str:
    """120 m (to 10 m) below a kilometre, then 1.2 km."""
    if metres < 995:
        return f"{round(metres / 10) * 10:.0f} m"
    return f"{metres / 1000:.1f} km"


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from the first point to the second, degrees clockwise from north."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360


def direction(bearing: float) -> str:
    """The 8-point compass direction of a bearing: N covers 337.5 to 22.5 degrees."""
    return DIRECTIONS[int((bearing % 360 + 22.5) // 45) % 8]


def box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """South, north, west, east: a box that holds every point within `radius_m`."""
    dlat = radius_m / METRES_PER_DEGREE
    cos = max(math.cos(math.radians(lat)), 1e-6)
    dlon = min(180.0, dlat / cos)
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def nearest(lat: float, lon: float, places: Iterable[NamedPoint], radius_m: float) -> Nearby | None:
    """The nearest place within `radius_m` (ties: the first given), or None."""
    best: tuple[float, NamedPoint] | None = None
    for place in places:
        d = haversine_m(place.lat, place.lon, lat, lon)
        if d <= radius_m and (best is None or d < best[0]):
            best = (d, place)
    if best is None:
        return None
    d, place = best
    return Nearby(place, d, direction(bearing_deg(place.lat, place.lon, lat, lon)))


def matches(query: str, places: Iterable[NamedPoint], limit: int) -> list[NamedPoint]:
    """Places whose name holds `query` (any case): exact names first, then those that
    start with it, then a word that starts with it, then the rest; alphabetical within
    each; one of each name and position."""
    q = " ".join(query.split()).casefold()
    if not q:
        return []

    def rank(p: NamedPoint) -> tuple[int, str]:
        name = p.name.casefold()
        if name == q:
            return 0, name
        if name.startswith(q):
            return 1, name
        if any(word.startswith(q) for word in name.split()):
            return 2, name
        return 3, name

    seen: set[tuple[str, float, float]] = set()
    found: list[NamedPoint] = []
    for p in sorted((p for p in places if q in p.name.casefold()), key=rank):
        key = (p.name.casefold(), round(p.lat, 4), round(p.lon, 4))
        if key not in seen:
            seen.add(key)
            found.append(p)
    return found[:limit]

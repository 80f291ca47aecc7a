"""Great-circle distance and travel-time estimates."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_M = 6_371_008.8

FloatArray = npt.NDArray[np.float64]


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance in metres between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def haversine_many_m(
    lat: float, lon: float, lat_rad: FloatArray, lon_rad: FloatArray, cos_lat: FloatArray
) -> FloatArray:
    """Distances in metres from one point (degrees) to many (radians, with their cosines)."""
    p1, l1 = math.radians(lat), math.radians(lon)
    a = np.sin((lat_rad - p1) / 2) ** 2 + math.cos(p1) * cos_lat * np.sin((lon_rad - l1) / 2) ** 2
    result: FloatArray = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    return result


def eta_s(distance_m: float, detour_factor: float, speed_mps: float) -> float:
    """Estimated travel time: distance x detour factor / speed of the crew's mode."""
    return distance_m * detour_factor / speed_mps

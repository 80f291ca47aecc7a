"""Great-circle distances: known values, symmetry, and the vectorised form agrees."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.core.geo import EARTH_RADIUS_M, eta_s, haversine_m, haversine_many_m

LONDON = (51.5074, -0.1278)
PARIS = (48.8566, 2.3522)

latitudes = st.floats(-90, 90, allow_nan=False, allow_infinity=False)
longitudes = st.floats(-180, 180, allow_nan=False, allow_infinity=False)
points = st.tuples(latitudes, longitudes)


def test_one_degree_of_latitude_is_about_111_km() -> None:
    assert haversine_m(51.0, -2.0, 52.0, -2.0) == pytest.approx(111_200, rel=0.005)
    assert haversine_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(111_200, rel=0.005)


def test_one_degree_of_longitude_shrinks_with_latitude() -> None:
    at_equator = haversine_m(0.0, 0.0, 0.0, 1.0)
    at_sixty = haversine_m(60.0, 0.0, 60.0, 1.0)
    assert at_equator == pytest.approx(111_200, rel=0.005)
    # cos(60 deg) = 0.5: a degree of longitude is about half as long there.
    assert at_sixty == pytest.approx(at_equator / 2, rel=0.001)


def test_london_to_paris_is_about_343_km() -> None:
    assert haversine_m(*LONDON, *PARIS) == pytest.approx(343_500, rel=0.01)


def test_antipodes_are_half_the_circumference_apart() -> None:
    assert haversine_m(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * EARTH_RADIUS_M)
    assert haversine_m(90.0, 0.0, -90.0, 0.0) == pytest.approx(math.pi * EARTH_RADIUS_M)


def test_eta_is_distance_times_detour_over_speed() -> None:
    # 1 km by road-ish (x1.4) at 2 m/s on foot: 700 s.
    assert eta_s(1000.0, 1.4, 2.0) == pytest.approx(700.0)


@given(points)
def test_distance_to_itself_is_zero(p: tuple[float, float]) -> None:
    assert haversine_m(*p, *p) == 0.0


@given(points, points)
def test_distance_is_symmetric_and_bounded(a: tuple[float, float], b: tuple[float, float]) -> None:
    there, back = haversine_m(*a, *b), haversine_m(*b, *a)
    assert math.isclose(there, back, rel_tol=1e-12, abs_tol=1e-6)
    assert 0.0 <= there <= math.pi * EARTH_RADIUS_M * (1 + 1e-12)


@given(points, st.lists(points, min_size=1, max_size=20))
def test_many_agrees_with_one_at_a_time(
    origin: tuple[float, float], others: list[tuple[float, float]]
) -> None:
    lat_rad = np.radians(np.array([p[0] for p in others], dtype=np.float64))
    lon_rad = np.radians(np.array([p[1] for p in others], dtype=np.float64))
    many = haversine_many_m(*origin, lat_rad, lon_rad, np.cos(lat_rad))
    assert many.shape == (len(others),)
    for got, (lat, lon) in zip(many.tolist(), others, strict=True):
        # Near-antipodal pairs make asin ill-conditioned: allow a relative 1e-7.
        assert math.isclose(got, haversine_m(*origin, lat, lon), rel_tol=1e-7, abs_tol=1e-6)

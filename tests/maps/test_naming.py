"""Names for places, pure: the nearest known place, its distance and the 8-point direction
from it to her, none beyond the radius; finding names by text. No event loop."""

from __future__ import annotations

import math

import pytest

from dispatch.core.geo import haversine_m
from dispatch.maps.naming import (
    NamedPoint,
    bearing_deg,
    box,
    direction,
    distance_text,
    matches,
    nearest,
)

GREEN = NamedPoint("Castle Green", 52.0530, -2.7120)
CATHEDRAL = NamedPoint("Hereford Cathedral", 52.0542, -2.7157, source="operation")
M_PER_DEG = 111_195.0


def offset(p: NamedPoint, metres: float, bearing: float) -> tuple[float, float]:
    """A point `metres` from p towards `bearing` (small distances)."""
    north = metres * math.cos(math.radians(bearing)) / M_PER_DEG
    east = metres * math.sin(math.radians(bearing)) / (M_PER_DEG * math.cos(math.radians(p.lat)))
    return p.lat + north, p.lon + east


def test_the_board_line_names_the_place_its_distance_and_the_direction_from_it() -> None:
    lat, lon = offset(GREEN, 120, 0)
    found = nearest(lat, lon, [GREEN], 2000)
    assert found is not None
    assert found.text == "near Castle Green, 120 m N"
    assert found.distance_m == pytest.approx(120, abs=0.5)


@pytest.mark.parametrize(
    ("bearing", "expected"),
    [
        (0, "N"),
        (45, "NE"),
        (90, "E"),
        (135, "SE"),
        (180, "S"),
        (225, "SW"),
        (270, "W"),
        (315, "NW"),
    ],
)
def test_eight_points_each_way_round(bearing: float, expected: str) -> None:
    lat, lon = offset(GREEN, 400, bearing)
    found = nearest(lat, lon, [GREEN], 2000)
    assert found is not None and found.direction == expected
    assert found.text == f"near Castle Green, 400 m {expected}"


@pytest.mark.parametrize(
    ("bearing", "expected"),
    [
        (0, "N"),
        (22.4, "N"),
        (22.5, "NE"),
        (67.4, "NE"),
        (67.5, "E"),
        (337.4, "NW"),
        (337.5, "N"),
        (359.9, "N"),
        (-10, "N"),
        (370, "N"),
    ],
)
def test_each_direction_covers_45_degrees_centred_on_it(bearing: float, expected: str) -> None:
    assert direction(bearing) == expected


def test_bearings_are_clockwise_from_north() -> None:
    assert bearing_deg(52.0, -2.7, 52.01, -2.7) == pytest.approx(0, abs=1e-6)
    assert bearing_deg(52.0, -2.7, 52.0, -2.69) == pytest.approx(90, abs=0.01)
    assert bearing_deg(52.0, -2.7, 51.99, -2.7) == pytest.approx(180, abs=1e-6)
    assert bearing_deg(52.0, -2.7, 52.0, -2.71) == pytest.approx(270, abs=0.01)


def test_the_nearest_of_several_wins_and_none_is_named_beyond_the_radius() -> None:
    lat, lon = offset(CATHEDRAL, 60, 90)
    found = nearest(lat, lon, [GREEN, CATHEDRAL], 2000)
    assert found is not None and found.place == CATHEDRAL
    assert found.text == "near Hereford Cathedral, 60 m E"
    far = offset(GREEN, 2100, 180)
    assert nearest(*far, [GREEN], 2000) is None
    assert nearest(*far, [GREEN], 2500) is not None
    assert nearest(*far, [], 2000) is None


def test_close_by_is_at_the_place_and_far_is_in_kilometres() -> None:
    lat, lon = offset(GREEN, 10, 200)
    found = nearest(lat, lon, [GREEN], 2000)
    assert found is not None and found.text == "at Castle Green"
    lat, lon = offset(GREEN, 1240, 270)
    found = nearest(lat, lon, [GREEN], 2000)
    assert found is not None and found.text == "near Castle Green, 1.2 km W"


@pytest.mark.parametrize(
    ("metres", "text"),
    [
        (24, "20 m"),
        (120.4, "120 m"),
        (125, "120 m"),
        (126, "130 m"),
        (994, "990 m"),
        (995, "1.0 km"),
        (1250, "1.2 km"),
        (15400, "15.4 km"),
    ],
)
def test_distances_read_out_on_the_radio(metres: float, text: str) -> None:
    assert distance_text(metres) == text


def test_the_search_box_holds_every_point_within_the_radius() -> None:
    south, north, west, east = box(GREEN.lat, GREEN.lon, 2000)
    for bearing in range(0, 360, 15):
        lat, lon = offset(GREEN, 1990, bearing)
        assert haversine_m(GREEN.lat, GREEN.lon, lat, lon) < 2000
        assert south <= lat <= north and west <= lon <= east


def test_names_are_found_by_text_exact_first_then_starting_with_it() -> None:
    places = [
        NamedPoint("Greenland Road", 52.06, -2.70),
        NamedPoint("Castle Green", 52.053, -2.712),
        NamedPoint("green", 52.01, -2.70),
        NamedPoint("Castle Green", 52.053, -2.712, source="operation"),  # the same place
        NamedPoint("Bartonsham", 52.05, -2.70),
        NamedPoint("Evergreen Close", 52.04, -2.71),
    ]
    found = [p.name for p in matches("  GREEN ", places, 10)]
    assert found == ["green", "Greenland Road", "Castle Green", "Evergreen Close"]
    assert [p.name for p in matches("green", places, 2)] == ["green", "Greenland Road"]
    assert matches("", places, 10) == []
    assert matches("nowhere", places, 10) == []

"""The force's gazetteer files, parsed without an event loop: CSV with name, lat, lon and
GeoJSON Point features with a name. A bad file is refused whole, naming where it stopped."""

from __future__ import annotations

import json

import pytest

from dispatch.maps.gazetteer import GazetteerError, parse
from dispatch.maps.naming import NamedPoint


def geojson(*features: object) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


def point(name: object, lon: float, lat: float) -> dict[str, object]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"name": name},
    }


def test_a_csv_names_its_columns_in_any_order_and_may_carry_others() -> None:
    text = (
        "\ufefflon,Name,lat,kind\n-2.712,Castle Green,52.053,park\n\n"
        "-2.7157, Cathedral ,52.0542,x\n"
    )
    assert parse(text, "names.CSV") == [
        NamedPoint("Castle Green", 52.053, -2.712),
        NamedPoint("Cathedral", 52.0542, -2.7157),
    ]


def test_a_geojson_file_gives_its_named_points() -> None:
    text = geojson(point("Castle Green", -2.712, 52.053), point("Bus station", -2.71, 52.06))
    assert parse(text, "names.geojson") == [
        NamedPoint("Castle Green", 52.053, -2.712),
        NamedPoint("Bus station", 52.06, -2.71),
    ]


@pytest.mark.parametrize(
    ("text", "name", "says"),
    [
        ("name,lat\nA,52\n", "a.csv", "line 1: the header must name the columns name, lat and lon"),
        (
            "name,lat,lon\nA,52.0,-2.7\nB,north,-2.7\n",
            "a.csv",
            "line 3: lat and lon must be numbers",
        ),
        ("name,lat,lon\nA,95,-2.7\n", "a.csv", "line 2: lat must be within -90..90"),
        ("name,lat,lon\n,52,-2.7\n", "a.csv", "line 2: the name is empty"),
        ("name,lat,lon\n" + "x" * 101 + ",52,-2.7\n", "a.csv", "line 2: the name is over 100"),
        ("name,lat,lon\nA,52\n", "a.csv", "line 2: 2 columns, the header has 3"),
        ("name,lat,lon\n", "a.csv", "a.csv names no places"),
        ("{", "a.geojson", "Not valid JSON"),
        ('{"type": "Feature"}', "a.geojson", "Not a GeoJSON FeatureCollection"),
        (
            geojson({"type": "Feature", "geometry": {"type": "LineString", "coordinates": []}}),
            "a.geojson",
            "feature 1: only Point features are taken",
        ),
        (
            geojson(point("A", -2.7, 52), point(None, -2.7, 52)),
            "a.json",
            "feature 2: the name is empty",
        ),
        ("name,lat,lon\nA,52,-2.7\n", "a.txt", "a.txt: give a .csv (name,lat,lon) or a .geojson"),
    ],
)
def test_a_bad_file_is_refused_whole_with_a_stable_code_and_where(
    text: str, name: str, says: str
) -> None:
    with pytest.raises(GazetteerError) as refused:
        parse(text, name)
    assert refused.value.code == "bad_gazetteer"
    assert says in refused.value.message

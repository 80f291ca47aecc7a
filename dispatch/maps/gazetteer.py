"""The force's gazetteer: named points from a CSV (`name,lat,lon`) or GeoJSON file (Point
features with a `name` property), and the queries that find names near a position or by
text among them and among the operations' places.

Parsing is pure and refuses a whole file at its first bad line (a stable code and a
sentence naming the line); an import replaces the whole gazetteer in one transaction.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from typing import Any

from sqlalchemy import delete, func, insert
from sqlmodel import col, select

from dispatch.maps.naming import NamedPoint, box
from dispatch.storage.db import Database
from dispatch.storage.models import GazetteerPlace, Place

MAX_NAME = 100
MAX_PLACES = 1_000_000
BATCH = 5000


class GazetteerError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _point(name: object, lat: object, lon: object, where: str) -> NamedPoint:
    text = " ".join(str(name or "").split())
    if not text:
        raise GazetteerError("bad_gazetteer", f"{where}: the name is empty.")
    if len(text) > MAX_NAME:
        raise GazetteerError("bad_gazetteer", f"{where}: the name is over {MAX_NAME} characters.")
    try:
        y, x = float(str(lat)), float(str(lon))
    except ValueError:
        raise GazetteerError("bad_gazetteer", f"{where}: lat and lon must be numbers.") from None
    if not (math.isfinite(y) and math.isfinite(x) and -90 <= y <= 90 and -180 <= x <= 180):
        raise GazetteerError(
            "bad_gazetteer", f"{where}: lat must be within -90..90 and lon within -180..180."
        )
    return NamedPoint(text, y, x)


def parse_csv(text: str) -> list[NamedPoint]:
    """A header row naming (at least) name, lat and lon, in any order and case."""
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().casefold() for h in next(rows, [])]
    missing = [c for c in ("name", "lat", "lon") if c not in header]
    if missing:
        raise GazetteerError(
            "bad_gazetteer",
            f"line 1: the header must name the columns name, lat and lon ({', '.join(missing)} "
            "missing).",
        )
    at = {c: header.index(c) for c in ("name", "lat", "lon")}
    points = []
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            raise GazetteerError(
                "bad_gazetteer", f"line {line}: {len(row)} columns, the header has {len(header)}."
            )
        points.append(_point(row[at["name"]], row[at["lat"]], row[at["lon"]], f"line {line}"))
    return points


def parse_geojson(text: str) -> list[NamedPoint]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GazetteerError(
            "bad_gazetteer", f"Not valid JSON: {exc.msg} (line {exc.lineno})."
        ) from None
    features = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(features, list):
        raise GazetteerError("bad_gazetteer", "Not a GeoJSON FeatureCollection (no features).")
    points = []
    for i, feature in enumerate(features, start=1):
        where = f"feature {i}"
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        props = (feature.get("properties") if isinstance(feature, dict) else None) or {}
        if not isinstance(geometry, dict) or geometry.get("type") != "Point":
            raise GazetteerError("bad_gazetteer", f"{where}: only Point features are taken.")
        coords: Any = geometry.get("coordinates")
        if not isinstance(coords, list) or len(coords) < 2:
            raise GazetteerError("bad_gazetteer", f"{where}: a Point needs [lon, lat].")
        if not isinstance(props, dict):
            raise GazetteerError("bad_gazetteer", f"{where}: properties must be an object.")
        points.append(_point(props.get("name"), coords[1], coords[0], where))
    return points


def parse(text: str, filename: str) -> list[NamedPoint]:
    """By the file's extension: .csv, or .geojson / .json."""
    lower = filename.lower()
    if lower.endswith(".csv"):
        points = parse_csv(text)
    elif lower.endswith((".geojson", ".json")):
        points = parse_geojson(text)
    else:
        raise GazetteerError(
            "bad_gazetteer", f"{filename}: give a .csv (name,lat,lon) or a .geojson file."
        )
    if not points:
        raise GazetteerError("bad_gazetteer", f"{filename} names no places.")
    if len(points) > MAX_PLACES:
        raise GazetteerError("bad_gazetteer", f"{filename} has over {MAX_PLACES} places.")
    return points


def _batches(points: list[NamedPoint]) -> Iterator[list[dict[str, object]]]:
    for start in range(0, len(points), BATCH):
        yield [{"name": p.name, "lat": p.lat, "lon": p.lon} for p in points[start : start + BATCH]]


async def replace_all(db: Database, points: list[NamedPoint]) -> int:
    """The gazetteer becomes `points`; returns how many it held before."""
    async with db.session() as s:
        before = (await s.exec(select(func.count()).select_from(GazetteerPlace))).one()
        await s.exec(delete(GazetteerPlace))
        for batch in _batches(points):
            await s.exec(insert(GazetteerPlace), params=batch)
        await s.commit()
    return int(before)


def _rows(rows: Any, source: str) -> list[NamedPoint]:
    return [NamedPoint(str(name), float(lat), float(lon), source) for name, lat, lon in rows]


async def near(db: Database, lat: float, lon: float, radius_m: float) -> list[NamedPoint]:
    """Candidates within a box around the position: the operations' places and the
    gazetteer's (`naming.nearest` measures them)."""
    south, north, west, east = box(lat, lon, radius_m)
    found: list[NamedPoint] = []
    async with db.session() as s:
        for table, source in ((Place, "operation"), (GazetteerPlace, "gazetteer")):
            rows = await s.exec(
                select(col(table.name), col(table.lat), col(table.lon)).where(
                    col(table.lat).between(south, north), col(table.lon).between(west, east)
                )
            )
            found += _rows(rows, source)
    return found


async def search(db: Database, query: str, limit: int) -> list[NamedPoint]:
    """Places whose name holds `query` (any case), the shortest names first, from the
    operations' places and the gazetteer; `naming.matches` orders them."""
    q = " ".join(query.split()).lower()
    found: list[NamedPoint] = []
    async with db.session() as s:
        for table, source in ((Place, "operation"), (GazetteerPlace, "gazetteer")):
            name = col(table.name)
            rows = await s.exec(
                select(name, col(table.lat), col(table.lon))
                .where(func.lower(name).contains(q, autoescape=True))
                .order_by(func.length(name), name)
                .limit(limit * 4)
            )
            found += _rows(rows, source)
    return found

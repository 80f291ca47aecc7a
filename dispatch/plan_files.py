"""A plan and its places as files: iCalendar, GeoJSON and CSV (pure conversions)."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import icalendar
from pydantic import ValidationError

from schemas.operations import OperationView, PlaceIn, PlanView
from schemas.views import DeploymentState

ICS_STATUS = {
    DeploymentState.PLANNED: "TENTATIVE",
    DeploymentState.CANCELLED: "CANCELLED",
    DeploymentState.MISSED: "CANCELLED",
}


def plan_ics(plan: PlanView, stamp: datetime, people: Mapping[str, str] | None = None) -> bytes:
    """Every deployment of the plan as an event (times in UTC); officers and crews by
    `people` (user or crew id -> display name or callsign) where known."""
    who = _namer(people)
    op = plan.operation
    names = {p.id: p for p in op.places}
    cal = icalendar.Calendar()
    cal.add("prodid", "-//dispatch//operations//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", op.name)
    for d in plan.deployments:
        place = names.get(d.place_id)
        event = icalendar.Event()
        event.add("uid", f"{d.id}@dispatch")
        event.add("dtstamp", stamp)
        event.add("dtstart", d.starts_at)
        event.add("dtend", d.ends_at)
        event.add("summary", f"{op.name}: {d.place_name}")
        event.add("location", d.place_name)
        if place is not None:
            event.add("geo", (place.lat, place.lon))
        event.add("status", ICS_STATUS.get(d.state, "CONFIRMED"))
        event.add(
            "description",
            f"State: {d.state.value}. Officers: {', '.join(map(who, d.officer_ids)) or '-'}. "
            f"Crews: {', '.join(map(who, d.crew_ids)) or '-'}.",
        )
        cal.add_component(event)
    return bytes(cal.to_ical())


def places_geojson(op: OperationView) -> dict[str, Any]:
    """The operation's places: Points (with radius_m) and LineStrings, [lon, lat] order."""
    features = []
    for p in op.places:
        geometry: dict[str, Any]
        if p.route is not None:
            geometry = {"type": "LineString", "coordinates": [[lon, lat] for lat, lon in p.route]}
        else:
            geometry = {"type": "Point", "coordinates": [p.lon, p.lat]}
        properties: dict[str, Any] = {"id": p.id, "name": p.name, "risk": p.risk}
        if p.radius_m is not None:
            properties["radius_m"] = p.radius_m
        if p.hourly is not None:
            properties["hourly"] = p.hourly
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    return {"type": "FeatureCollection", "name": op.name, "features": features}


class PlaceFileError(ValueError):
    """A places file that cannot be read; the message says where."""


def places_from_geojson(document: Any) -> list[PlaceIn]:
    """Places from a GeoJSON FeatureCollection of Points and LineStrings, whose
    properties give `name`, `risk` and optionally `radius_m` and `hourly`."""
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise PlaceFileError("expected a GeoJSON FeatureCollection")
    features = document.get("features")
    if not isinstance(features, list) or not features:
        raise PlaceFileError("the FeatureCollection has no features")
    places = []
    for i, feature in enumerate(features):
        where = f"features[{i}]"
        if not isinstance(feature, dict):
            raise PlaceFileError(f"{where}: not a Feature")
        geometry = feature.get("geometry") or {}
        props = feature.get("properties") or {}
        if not isinstance(geometry, dict) or not isinstance(props, dict):
            raise PlaceFileError(f"{where}: geometry and properties must be objects")
        kind, coords = geometry.get("type"), geometry.get("coordinates")
        body: dict[str, Any] = {
            "name": props.get("name") or f"Place {i + 1}",
            "risk": props.get("risk", 1.0),
        }
        for key in ("radius_m", "hourly"):
            if props.get(key) is not None:
                body[key] = props[key]
        try:
            if kind == "Point":
                body["lon"], body["lat"] = coords[0], coords[1]  # type: ignore[index]
                body.setdefault("radius_m", 150.0)
            elif kind == "LineString":
                body["route"] = [(c[1], c[0]) for c in coords]  # type: ignore[union-attr]
            else:
                raise PlaceFileError(f"{where}: geometry must be a Point or a LineString")
            places.append(PlaceIn.model_validate(body))
        except (TypeError, IndexError, KeyError):
            raise PlaceFileError(f"{where}: coordinates are not [lon, lat] numbers") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "place"
            raise PlaceFileError(f"{where}: {field}: {first['msg']}") from None
    return places


def plan_csv(plan: PlanView, people: Mapping[str, str] | None = None) -> str:
    """One row per deployment; officers and crews by name where `people` knows them."""
    who = _namer(people)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["id", "place", "starts_at", "ends_at", "state", "pinned", "officers", "crews", "note"]
    )
    for d in plan.deployments:
        writer.writerow(
            [
                d.id,
                d.place_name,
                d.starts_at.isoformat(),
                d.ends_at.isoformat(),
                d.state.value,
                "yes" if d.pinned else "no",
                "; ".join(map(who, d.officer_ids)),
                "; ".join(map(who, d.crew_ids)),
                d.note or "",
            ]
        )
    return out.getvalue()


# -- places as CSV -----------------------------------------------------------------------------

HOURS = [f"h{i}" for i in range(24)]
CSV_COLUMNS = frozenset({"name", "lat", "lon", "radius_m", "risk", "route", "hourly", *HOURS})
MAX_CSV_PLACES = 500
MAX_CSV_ERRORS = 5
_SEPARATORS = re.compile(r"[\s;]+")


def places_csv(op: OperationView) -> str:
    """The operation's places in the format `places_from_csv` reads back: a point has
    lat, lon and radius_m; a route has `route` ("lat lon; lat lon; ..."); `hourly` is
    24 weights separated by spaces, or empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "lat", "lon", "radius_m", "risk", "route", "hourly"])
    for p in op.places:
        route = "; ".join(f"{lat:.6f} {lon:.6f}" for lat, lon in p.route) if p.route else ""
        point = p.route is None
        writer.writerow(
            [
                p.name,
                f"{p.lat:.6f}" if point else "",
                f"{p.lon:.6f}" if point else "",
                _number(p.radius_m) if p.radius_m is not None else "",
                _number(p.risk),
                route,
                " ".join(_number(w) for w in p.hourly) if p.hourly else "",
            ]
        )
    return out.getvalue()


def _number(value: float) -> str:
    return f"{value:g}" if value == int(value) else repr(value)


def places_from_csv(text: str) -> list[PlaceIn]:
    """Places from CSV text (comma-separated, a header row first, UTF-8).

    Columns, in any order, named in the header (case and spaces ignored):

    - `name` (required): the place's name;
    - `lat`, `lon` and optionally `radius_m` (metres, 150 if empty): a point; or
    - `route`: a line, as "lat lon; lat lon; ..." (at least two points);
    - `risk` (optional, 1 if empty): the place's risk weight, above 0;
    - hourly weights by local hour (optional), either as columns `h0` ... `h23` (all
      24 of them) or as one column `hourly` of 24 numbers separated by spaces or
      semicolons. An empty cell means no hourly weights for that place.

    Blank lines are skipped. Errors name the line and the column, as
    "line 4, risk: not a number"; the first few are reported together.
    """
    rows = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    try:
        header = next(rows, None)
    except csv.Error as exc:
        raise PlaceFileError(f"line 1: {exc}") from None
    if header is None or not any(cell.strip() for cell in header):
        raise PlaceFileError(
            "line 1: the file is empty; expected a header row (name, lat, lon, ...)"
        )
    columns = [cell.strip().lower() for cell in header]
    _check_header(columns)
    places: list[PlaceIn] = []
    errors: list[str] = []
    try:
        for row in rows:
            if not any(cell.strip() for cell in row):
                continue
            line = rows.line_num
            if len(row) > len(columns):
                errors.append(f"line {line}: {len(row)} cells but the header names {len(columns)}")
                continue
            if len(places) + len(errors) >= MAX_CSV_PLACES:
                raise PlaceFileError(f"line {line}: a file holds at most {MAX_CSV_PLACES} places")
            cells = {col: cell.strip() for col, cell in zip(columns, row, strict=False)}
            try:
                places.append(_place_of_row(cells))
            except _CellError as exc:
                errors.append(f"line {line}, {exc}")
            if len(errors) >= MAX_CSV_ERRORS:
                break
    except csv.Error as exc:
        errors.append(f"line {rows.line_num}: {exc}")
    if errors:
        raise PlaceFileError("; ".join(errors))
    if not places:
        raise PlaceFileError("the file has a header but no places")
    return places


def _check_header(columns: list[str]) -> None:
    unknown = [c for c in columns if c and c not in CSV_COLUMNS]
    if unknown:
        raise PlaceFileError(
            f"line 1: unknown column {unknown[0]!r} (known: name, lat, lon, radius_m, "
            "risk, route, hourly, h0..h23)"
        )
    doubles = [c for c in columns if c and columns.count(c) > 1]
    if doubles:
        raise PlaceFileError(f"line 1: the column {doubles[0]!r} appears twice")
    if "name" not in columns:
        raise PlaceFileError("line 1: the header has no 'name' column")
    if ("lat" in columns) != ("lon" in columns):
        raise PlaceFileError("line 1: give both 'lat' and 'lon' columns, or neither")
    if "lat" not in columns and "route" not in columns:
        raise PlaceFileError("line 1: the header needs 'lat' and 'lon' columns or a 'route' column")
    hours = [h for h in HOURS if h in columns]
    if hours and len(hours) != 24:
        missing = next(h for h in HOURS if h not in columns)
        raise PlaceFileError(f"line 1: hourly columns need all of h0..h23; {missing!r} is missing")
    if hours and "hourly" in columns:
        raise PlaceFileError("line 1: give hourly weights as 'hourly' or as h0..h23, not both")


class _CellError(ValueError):
    """One cell that cannot be read: "column: what is wrong"."""


def _float(column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _CellError(f"{column}: not a number ({text[:20]!r})") from None
    if not math.isfinite(value):
        raise _CellError(f"{column}: not a number ({text[:20]!r})")
    return value


def _place_of_row(cells: dict[str, str]) -> PlaceIn:
    body: dict[str, Any] = {"name": cells.get("name", "")}
    if not body["name"]:
        raise _CellError("name: empty; every place needs a name")
    for column in ("lat", "lon", "radius_m", "risk"):
        if cells.get(column):
            body[column] = _float(column, cells[column])
    if cells.get("route"):
        body["route"] = _route(cells["route"])
    hourly = _hourly(cells)
    if hourly is not None:
        body["hourly"] = hourly
    if "lat" in body and "lon" in body and "route" not in body:
        body.setdefault("radius_m", 150.0)
    try:
        return PlaceIn.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first["loc"]]
        column = loc[0] if loc else ""
        message = str(first["msg"]).removeprefix("Value error, ")
        if column == "hourly" and len(loc) > 1 and "hourly" not in cells:
            column = f"h{loc[1]}"
        raise _CellError(f"{column or 'place'}: {message}") from None


def _route(text: str) -> list[tuple[float, float]]:
    points = []
    for i, part in enumerate(p for p in text.split(";") if p.strip()):
        pair = part.split()
        if len(pair) != 2:
            raise _CellError(f"route: point {i + 1} is not 'lat lon' ({part.strip()[:30]!r})")
        points.append((_float("route", pair[0]), _float("route", pair[1])))
    return points


def _hourly(cells: dict[str, str]) -> list[float] | None:
    if cells.get("hourly"):
        parts = [p for p in _SEPARATORS.split(cells["hourly"]) if p]
        if len(parts) != 24:
            raise _CellError(f"hourly: {len(parts)} numbers; expected 24, one per hour 0..23")
        return [_float("hourly", p) for p in parts]
    given = [h for h in HOURS if cells.get(h)]
    if not given:
        return None
    if len(given) != 24:
        empty = next(h for h in HOURS if not cells.get(h))
        raise _CellError(f"{empty}: empty; give all 24 hourly weights or none")
    return [_float(h, cells[h]) for h in HOURS]


def _namer(people: Mapping[str, str] | None) -> Callable[[str], str]:
    known = people or {}
    return lambda key: known.get(key, key)


def file_stem(name: str) -> str:
    """An operation's name as a download's file name: "Jog On - Hereford" -> "jog-on-hereford"."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "operation"

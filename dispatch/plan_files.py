"""A plan and its places as files: iCalendar, GeoJSON and CSV (pure conversions)."""

from __future__ import annotations

import csv
import io
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


def plan_ics(plan: PlanView, stamp: datetime) -> bytes:
    """Every deployment of the plan as an event (times in UTC)."""
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
            f"State: {d.state.value}. Officers: {', '.join(d.officer_ids) or '-'}. "
            f"Crews: {', '.join(d.crew_ids) or '-'}.",
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


def plan_csv(plan: PlanView) -> str:
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
                " ".join(d.officer_ids),
                " ".join(d.crew_ids),
                d.note or "",
            ]
        )
    return out.getvalue()

"""Builders for operations tests: a supervisor's REST client and a small operation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.support import CENTRE, RunningServer, north_of


class Api:
    """REST calls as one signed-in user."""

    def __init__(self, server: RunningServer, token: str) -> None:
        self.http = httpx.AsyncClient(
            base_url=server.base, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )

    async def call(self, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        response = await self.http.request(method, path, **kw)
        assert response.status_code == expect, (response.status_code, response.text)
        ctype = response.headers.get("content-type", "")
        return response.json() if "json" in ctype else response.text

    async def close(self) -> None:
        await self.http.aclose()


async def api_for(server: RunningServer, username: str) -> Api:
    session = await server.sign_in(username)
    return Api(server, session["token"])


def places(n: int) -> list[dict[str, Any]]:
    """n places around the town centre, risks 1..n, the last one a route."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        lat, lon = north_of(CENTRE, 300.0 * i)
        if i == n - 1 and n > 1:
            out.append(
                {
                    "name": f"Route {i}",
                    "route": [[lat, lon], [lat + 0.002, lon + 0.002], [lat + 0.004, lon]],
                    "risk": float(i + 1),
                }
            )
        else:
            out.append(
                {
                    "name": f"Place {i}",
                    "lat": lat,
                    "lon": lon,
                    "radius_m": 200.0,
                    "risk": float(i + 1),
                }
            )
    return out


def operation_body(
    name: str,
    start: datetime,
    *,
    days: float,
    officers: list[str],
    crews: list[str],
    count: int,
    n_places: int = 5,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "area": "Hereford town centre",
        "timezone": "Europe/London",
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(days=days)).isoformat(),
        "deployments": count,
        "min_duration_min": 45,
        "max_duration_min": 90,
        "officer_ids": officers,
        "crew_ids": crews,
        "places": places(n_places),
    }
    body.update(extra)
    return body


async def publish_one_soon(
    api: Api, name: str, officer_id: str, crew_id: str, *, in_seconds: float
) -> datetime:
    """Publish a one-deployment operation whose deployment starts `in_seconds` from now
    (real time). Returns the start."""
    now = datetime.now(UTC)
    body = operation_body(
        name,
        now - timedelta(hours=1),
        days=0.25,
        officers=[officer_id],
        crews=[crew_id],
        count=1,
        n_places=1,
    )
    op = await api.call("POST", "/api/operations", 201, json=body)
    dep = (await api.call("POST", f"/api/operations/{op['id']}/generate"))["deployments"][0]
    start = now + timedelta(seconds=in_seconds)
    await api.call(
        "PATCH",
        f"/api/operations/{op['id']}/deployments/{dep['id']}",
        json={
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(minutes=45)).isoformat(),
        },
    )
    await api.call("POST", f"/api/operations/{op['id']}/publish")
    return start

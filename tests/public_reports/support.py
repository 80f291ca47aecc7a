"""Helpers for the public API's tests: a body, a solved challenge, a submission."""

from __future__ import annotations

from typing import Any

import httpx

from dispatch.public_reports import pow

# Low difficulty: tests solve hundreds of challenges.
PUBLIC_SETTINGS: dict[str, Any] = {"public_reports.pow_bits": 4}


def body(**changes: Any) -> dict[str, Any]:
    report: dict[str, Any] = {
        "kind": "following",
        "lat": 52.05612345,
        "lon": -2.71598765,
        "occurred_at": "now",
        "description": "He followed me along the river path.",
        "language": "en",
    }
    report.update(changes)
    return report


async def solved(http: httpx.AsyncClient) -> dict[str, str]:
    response = await http.get("/api/public/challenge")
    assert response.status_code == 200, response.text
    got = response.json()
    return {"challenge": got["challenge"], "nonce": pow.solve(got["challenge"], got["bits"])}


async def submit(http: httpx.AsyncClient, **changes: Any) -> httpx.Response:
    return await http.post("/api/public/reports", json={**body(**changes), **await solved(http)})

"""What the phone pages are served with: the pages, the manifest, icons, the service
worker, Leaflet from its wheel, the account endpoint, and refusals of bad input."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from dispatch.config import ConfigError, load_settings
from dispatch.people import PeopleError, add_user
from dispatch.storage.db import Database
from schemas.common import Role
from tests.support import PASSWORD, RunningServer, settings_for, start_server


@pytest.fixture
async def pages(sqlite_url: str) -> AsyncIterator[RunningServer]:
    running = await start_server(settings_for(sqlite_url, **{"pages.officer_app_name": "Jog log"}))
    try:
        yield running
    finally:
        await running.stop()


async def test_the_officer_shell_is_served_and_names_nobody(pages: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=pages.base) as http:
        page = await http.get("/officer")
        manifest = (await http.get("/officer.webmanifest")).json()
        worker = await http.get("/officer-sw.js")
        script = await http.get("/pages/static/officer.js")
        icon = await http.get("/pages/icon-192.png")

    assert page.status_code == 200 and "<title>Jog log</title>" in page.text
    assert '"hold_to_alert_s": 0.8' in page.text
    assert manifest["name"] == "Jog log" and manifest["start_url"] == "/officer"
    assert {i["sizes"] for i in manifest["icons"]} == {"192x192", "512x512"}
    assert worker.headers["content-type"].startswith("text/javascript")
    assert "{{VERSION}}" not in worker.text and "/officer" in worker.text
    for text in (page.text, script.text, worker.text, str(manifest)):
        assert "police" not in text.lower()
    assert icon.content.startswith(b"\x89PNG") and struct.unpack(">II", icon.content[16:24]) == (
        192,
        192,
    )


async def test_the_crew_page_and_leaflet_from_its_wheel(pages: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=pages.base) as http:
        page = await http.get("/crew")
        leaflet = await http.get("/static/leaflet/leaflet.js")
        css = await http.get("/static/leaflet/leaflet.css")

    assert page.status_code == 200 and '"tile_url": ""' in page.text
    assert leaflet.status_code == 200 and "Leaflet" in leaflet.text[:500]
    assert css.status_code == 200


async def test_bad_requests_get_a_code_and_a_sentence(pages: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=pages.base) as http:
        icon = await http.get("/pages/icon-100.png")
        not_a_size = await http.get("/pages/icon-big.png")
        me = await http.get("/api/pages/me")
        missing = await http.get("/pages/static/nothing.js")

    assert icon.status_code == 404 and icon.json()["code"] == "not_found"
    assert not_a_size.status_code == 422 and not_a_size.json()["code"] == "invalid"
    assert me.status_code == 401 and me.json()["code"] == "auth_missing"
    assert missing.status_code == 404


async def test_the_page_knows_whether_a_cancel_needs_her_pin(pages: RunningServer) -> None:
    db = Database(pages.settings.database.url)
    try:
        await add_user(
            db,
            username="pinned",
            password=PASSWORD,
            role=Role.OFFICER,
            now=datetime.now(UTC),
            cancel_pin="1111",
            duress_pin="2222",
        )
    finally:
        await db.close()
    plain = await pages.add_user(Role.OFFICER)
    answers = {}
    for name in ("pinned", plain):
        token = (await pages.sign_in(name))["token"]
        async with httpx.AsyncClient(base_url=pages.base) as http:
            answer = await http.get("/api/pages/me", headers={"Authorization": f"Bearer {token}"})
        answers[name] = answer.json()["has_pins"]
    assert answers == {"pinned": True, plain: False}


@pytest.mark.parametrize(
    ("role", "cancel", "duress", "problem"),
    [
        (Role.OFFICER, "1234", None, "both PINs"),
        (Role.OFFICER, "1234", "1234", "must differ"),
        (Role.OFFICER, "12345", "1111", "4 digits"),
        (Role.SUPERVISOR, "1234", "5678", "only officers"),
    ],
)
async def test_bad_pins_are_refused_when_adding_a_user(
    sqlite_url: str, role: Role, cancel: str, duress: str | None, problem: str
) -> None:
    db = Database(sqlite_url)
    try:
        with pytest.raises(PeopleError, match=problem):
            await add_user(
                db,
                username="someone",
                password=PASSWORD,
                role=role,
                now=datetime.now(UTC),
                cancel_pin=cancel,
                duress_pin=duress,
            )
    finally:
        await db.close()


def test_a_tile_url_without_a_place_for_the_zoom_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"pages\.tile_url"):
        load_settings(env={"DISPATCH_PAGES_TILE_URL": "https://tiles.example/a.png"})

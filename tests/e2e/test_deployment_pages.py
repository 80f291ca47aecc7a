"""A published plan reaches the officer's page: the brief shows when she starts, and at
the start her page goes live and shares her position (before that it shares nothing)."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from schemas.common import CrewMode, Role
from tests.e2e.conftest import ServerFactory
from tests.e2e.test_phones import add_officer, phone, sign_in
from tests.operations.support import api_for, publish_one_soon
from tests.support import CENTRE


async def test_the_officer_page_shows_the_brief_then_goes_live(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve(**{"scheduler.brief_lead_min": 0.05})  # briefed 3 s before the start
    username = await add_officer(server)
    officer_id = (await server.sign_in(username))["user_id"]
    callsign = await server.add_crew(CrewMode.FOOT)
    crew_id = (await server.sign_in(await server.add_user(Role.CREW, crew=callsign)))["crew_id"]
    supervisor = await server.supervisor()
    api = await api_for(server, supervisor.session["username"])

    p = await phone(browser, server, CENTRE)
    await sign_in(p, "/officer", username)
    await expect(p.page.locator("#deployment")).to_have_text("Off")

    await publish_one_soon(api, "Evening walk", officer_id, crew_id, in_seconds=8)

    await expect(p.page.locator("#deployment")).to_have_text(
        re.compile(r"^Starts "), timeout=15_000
    )
    assert not [
        f for f in supervisor.frames if f["type"] == "position" and f["subject_id"] == officer_id
    ], "her page shared her position before the deployment went live"
    await expect(p.page.locator("#deployment")).to_have_text(
        re.compile(r"^Live until \d\d:\d\d$"), timeout=15_000
    )
    await p.shot("officer-live")
    await supervisor.wait_for(
        lambda f: f["type"] == "position" and f["subject_id"] == officer_id, timeout=15
    )
    await api.close()
    await p.context.close()

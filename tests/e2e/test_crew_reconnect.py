"""A crew phone that comes back (a reload, a dropped connection) sends the fix it has at
once, so dispatch never ranks it by an older one while it stands still."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.e2e.conftest import ServerFactory
from tests.e2e.test_phones import crew_page
from tests.support import CENTRE


async def test_a_reloaded_crew_page_sends_its_fix_at_once(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve()
    p = await crew_page(browser, server, CENTRE)
    supervisor = await server.supervisor()
    start = len(supervisor.frames)

    await p.page.reload()  # standing still: the position watch gives no new fix for a while
    await expect(p.page.locator("#crew-state")).to_have_text("On duty")

    frame = await supervisor.wait_for(
        lambda f: f["type"] == "position" and f["role"] == "crew", start=start
    )
    assert abs(frame["lat"] - CENTRE[0]) < 1e-6
    await p.context.close()

"""The phone pages over https at a name that is not localhost, as on a LAN.

Chromium resolves `dispatch.test` to the loopback server and trusts exactly the
certificate `dispatch tls init` made for it (by its public key), as a phone that
installed the authority would. There the pages are a secure context: geolocation, the
service worker and the alert work, the session cookie is Secure and HSTS is sent. Over
plain http at the same name they are not, which is why phones need https.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from dispatch.tls import TlsFiles, init
from schemas.common import CrewMode, Role
from tests.e2e.conftest import PHONE
from tests.e2e.test_phones import Phone, add_officer, hold, sign_in
from tests.support import CENTRE, RunningServer, north_of, settings_for, start_server

HOST = "dispatch.test"


@pytest.fixture
def tls_files(tmp_path: Path) -> TlsFiles:
    return init(tmp_path / "tls", HOST, [])


@pytest.fixture
async def lan_browser(chromium_path: str, tls_files: TlsFiles) -> AsyncIterator[Browser]:
    """Chromium that finds dispatch.test on this machine and trusts its certificate."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                f"--host-resolver-rules=MAP {HOST} 127.0.0.1",
                f"--ignore-certificate-errors-spki-list={tls_files.server_spki_sha256}",
            ],
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def lan_server(sqlite_url: str, tls_files: TlsFiles) -> AsyncIterator[RunningServer]:
    settings = settings_for(
        sqlite_url,
        **{
            "server.tls_cert": str(tls_files.server_cert),
            "server.tls_key": str(tls_files.server_key),
            "realtime.position_flush_s": 0.2,
            "dispatch.offer_timeout_s": 30,
        },
    )
    server = await start_server(settings)
    try:
        yield server
    finally:
        await server.stop()


async def lan_phone(browser: Browser, base: str, at: tuple[float, float]) -> Phone:
    context = await browser.new_context(
        base_url=base,
        viewport=PHONE,
        device_scale_factor=1,
        is_mobile=True,
        has_touch=True,
        geolocation={"latitude": at[0], "longitude": at[1], "accuracy": 6},
        permissions=["geolocation"],
        locale="en-GB",
        timezone_id="Europe/London",
    )
    return Phone(context, await context.new_page())


async def secure_context(phone: Phone) -> Any:
    return await phone.page.evaluate("window.isSecureContext && location.protocol")


async def controlled_by_its_worker(page: Page) -> None:
    """The page is controlled by her service worker. The worker claims the page once it
    has cached the pages' files; on a loaded machine that can outlast a wait, so once it
    is active a reload (a page loaded under an active worker is controlled) settles it."""
    ready = page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    assert await asyncio.wait_for(ready, 120)
    if not await page.evaluate("navigator.serviceWorker.controller !== null"):
        await page.reload()
    await page.wait_for_function("navigator.serviceWorker.controller !== null")


async def test_over_https_at_a_lan_name_geolocation_the_service_worker_and_the_alert_work(
    lan_browser: Browser, lan_server: RunningServer
) -> None:
    base = f"https://{HOST}:{lan_server.port}"
    crew = await lan_phone(lan_browser, base, north_of(CENTRE, 400))
    callsign = await lan_server.add_crew(CrewMode.CAR)
    await sign_in(crew, "/crew", await lan_server.add_user(Role.CREW, crew=callsign))
    assert await secure_context(crew) == "https:"
    await crew.page.click("#duty-toggle")
    await expect(crew.page.locator("#crew-state")).to_have_text("On duty")
    await expect(crew.page.locator("#fix-accuracy")).to_have_text("\u00b16 m")  # geolocation

    officer = await lan_phone(lan_browser, base, CENTRE)
    response = await officer.page.goto("/officer")
    assert response is not None
    assert response.headers["strict-transport-security"].startswith("max-age=")
    await sign_in(officer, "/officer", await add_officer(lan_server))
    assert await secure_context(officer) == "https:"
    await controlled_by_its_worker(officer.page)
    (session,) = [c for c in await officer.context.cookies() if c["name"] == "dispatch_session"]
    assert session["secure"] and session["httpOnly"] and session["domain"] == HOST

    await hold(officer.page)

    offer = crew.page.locator("#offer")
    await expect(offer).to_be_visible()
    await expect(crew.page.locator("#offer-distance")).to_have_text("400 m")  # her position
    await crew.page.click("#offer-accept")
    await expect(officer.page.locator("#status")).to_have_attribute("data-status", "crew_assigned")
    await expect(crew.page.locator("path.officer-marker")).to_be_visible()
    await expect(crew.page.locator("#officer-age")).to_contain_text("ago")

    # With no signal, the service worker still opens her page.
    await officer.context.set_offline(True)
    await officer.page.reload()
    await expect(officer.page.locator("#hold")).to_be_visible()
    await officer.context.set_offline(False)
    await expect(officer.page.locator("#dot")).to_have_attribute("data-link", "online")
    for p in (crew, officer):
        await p.context.close()


async def test_over_plain_http_at_the_same_name_the_page_is_not_a_secure_context(
    lan_browser: Browser, sqlite_url: str
) -> None:
    server = await start_server(settings_for(sqlite_url))
    try:
        officer = await lan_phone(lan_browser, f"http://{HOST}:{server.port}", CENTRE)
        await officer.page.goto("/officer")
        assert await officer.page.evaluate("window.isSecureContext") is False
        assert await officer.page.evaluate("'serviceWorker' in navigator") is False
        assert re.match(r"^http:", officer.page.url)
        await officer.context.close()
    finally:
        await server.stop()

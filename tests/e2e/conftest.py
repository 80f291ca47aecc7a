"""Browser tests: Debian's Chromium driven by Playwright, at phone size, against a real
server on loopback. Never `playwright install`: the system Chromium is used."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, async_playwright, expect

from tests.support import IN_CI, RunningServer, settings_for, start_server

CHROMIUM = os.environ.get("DISPATCH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}

expect.set_options(timeout=15_000)

ServerFactory = Callable[..., Awaitable[RunningServer]]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        message = f"Chromium is not installed at {CHROMIUM} (make test installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
            ],
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def serve(sqlite_url: str) -> AsyncIterator[ServerFactory]:
    """Start the server with these settings overrides (dotted keys, as settings_for)."""
    running: list[RunningServer] = []

    async def start(**overrides: Any) -> RunningServer:
        settings = {"realtime.position_flush_s": 0.2, "dispatch.offer_timeout_s": 30}
        settings.update(overrides)
        server = await start_server(settings_for(sqlite_url, **settings))
        running.append(server)
        return server

    yield start
    for server in running:
        await server.stop()


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"

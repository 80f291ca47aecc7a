"""The officer's and the crew's phone pages in a real Chromium against a real server.

Each test drives the pages the way their users do (sign in, hold, tap) with emulated
positions, and checks what the other side sees: the other page, the database, or a
supervisor's websocket. Screenshots of every screen go to docs/screenshots/.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from dispatch.people import add_user
from dispatch.storage.db import Database
from dispatch.storage.models import Alert
from schemas.common import CrewMode, Role
from tests.e2e.conftest import PHONE, ServerFactory, screenshot_path
from tests.support import CENTRE, PASSWORD, RunningServer, north_of

CANCEL_PIN, DURESS_PIN = "2468", "1357"


@dataclass
class Phone:
    context: BrowserContext
    page: Page

    async def move_to(self, at: tuple[float, float], accuracy: float = 6) -> None:
        await self.context.set_geolocation(
            {"latitude": at[0], "longitude": at[1], "accuracy": accuracy}
        )

    async def shot(self, name: str) -> None:
        await self.page.screenshot(path=screenshot_path(name))


async def phone(browser: Browser, server: RunningServer, at: tuple[float, float]) -> Phone:
    context = await browser.new_context(
        base_url=server.base,
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


async def sign_in(p: Phone, path: str, username: str, shot: str | None = None) -> None:
    await p.page.goto(path)
    await expect(p.page.locator("#signin")).to_be_visible()
    await p.page.fill("#username", username)
    await p.page.fill("#password", PASSWORD)
    if shot:
        await p.shot(shot)
    await p.page.click("#signin-form button[type=submit]")
    await expect(p.page.locator("#dot")).to_have_attribute("data-link", "online")


async def officer_page(
    browser: Browser, server: RunningServer, at: tuple[float, float] = CENTRE, **kw: Any
) -> Phone:
    p = await phone(browser, server, at)
    username = await add_officer(server, **kw)
    await sign_in(p, "/officer", username, shot=kw.pop("shot", None))
    await expect(p.page.locator("#hold")).to_be_visible()
    return p


async def add_officer(server: RunningServer, *, pins: bool = False, shot: str | None = None) -> str:
    username = f"officer-{uuid.uuid4().hex[:8]}"
    db = Database(server.settings.database.url)
    try:
        await add_user(
            db,
            username=username,
            password=PASSWORD,
            role=Role.OFFICER,
            now=datetime.now(UTC),
            cancel_pin=CANCEL_PIN if pins else None,
            duress_pin=DURESS_PIN if pins else None,
        )
    finally:
        await db.close()
    return username


async def crew_page(
    browser: Browser,
    server: RunningServer,
    at: tuple[float, float],
    mode: CrewMode = CrewMode.CAR,
    shots: tuple[str, str] | None = None,
) -> Phone:
    p = await phone(browser, server, at)
    callsign = await server.add_crew(mode)
    username = await server.add_user(Role.CREW, crew=callsign)
    await sign_in(p, "/crew", username, shot=shots[0] if shots else None)
    await expect(p.page.locator("#callsign")).to_have_text(callsign)
    await p.page.click("#duty-toggle")
    await expect(p.page.locator("#crew-state")).to_have_text("On duty")
    await expect(p.page.locator("#fix-accuracy")).to_have_text("\u00b16 m")
    if shots:
        await p.shot(shots[1])
    return p


async def hold(page: Page, *, until: str = "received", sign: str = "data-status") -> None:
    """Press and keep holding the control until the page's sign shows `until`, then let go."""
    box = await page.locator("#hold").bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await page.mouse.down()
    await expect(page.locator("#status")).to_have_attribute(sign, until)
    await page.mouse.up()


async def alerts_in_db(server: RunningServer) -> list[Alert]:
    return await server.rows(Alert)


async def officer_marker_y(page: Page) -> float:
    box = await page.locator("path.officer-marker").bounding_box()
    assert box is not None
    return box["y"] + box["height"] / 2


# 1. The whole alert, from the hold to the outcome ------------------------------------------------


async def test_hold_offer_accept_and_status_reach_the_officer(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve()
    crew = await crew_page(
        browser, server, north_of(CENTRE, 400), shots=("crew-sign-in", "crew-on-duty")
    )
    officer = await officer_page(browser, server, shot="officer-sign-in")
    page = officer.page
    await expect(page.locator("#status")).to_have_attribute("data-status", "idle")
    await expect(page.locator("body")).not_to_contain_text("olice")  # nothing names the police
    await officer.shot("officer-ready")

    await hold(page)

    await expect(page.locator("#status")).to_have_text("Sent")
    await page.click("[data-category=following]")
    await page.fill("#note", "AB12 CDE")
    await page.click("#note-form button")
    await officer.shot("officer-sent")
    offer = crew.page.locator("#offer")
    await expect(offer).to_be_visible()
    await expect(crew.page.locator("#offer-distance")).to_have_text("400 m")
    await expect(crew.page.locator("#offer-category")).to_have_text("Following")
    await expect(crew.page.locator("#offer-note")).to_have_text("AB12 CDE")
    await expect(crew.page.locator("#offer-countdown")).to_have_text(re.compile(r"^\d+ s$"))
    await crew.shot("crew-offer")

    await crew.page.click("#offer-accept")

    await expect(offer).to_be_hidden()
    await expect(page.locator("#status")).to_have_attribute("data-status", "crew_assigned")
    await expect(page.locator("#status")).to_have_text("On the way")
    await expect(crew.page.locator("#assignment")).to_be_visible()
    await expect(crew.page.locator("#officer-age")).to_contain_text("ago")
    await expect(crew.page.locator("path.officer-marker")).to_be_visible()
    await expect(crew.page.locator(".leaflet-control-scale-line")).to_be_visible()
    lat, lon = CENTRE
    await expect(crew.page.locator("#navigate")).to_have_attribute(
        "href", re.compile(f"{lat}.*{lon}")
    )
    await officer.shot("officer-crew-assigned")
    await crew.shot("crew-assignment")

    # Accepting is setting off: en route from the accept, without a step of its own.
    await expect(crew.page.locator("#assignment-step")).to_have_text(
        re.compile(r"^En route since \d\d:\d\d$")
    )
    await expect(page.locator("#status")).to_have_attribute("data-status", "crew_assigned")
    await crew.page.click("[data-status=on_scene]")
    await expect(page.locator("#status")).to_have_attribute("data-status", "crew_on_scene")
    await expect(page.locator("#status")).to_have_text("Arrived")
    await crew.page.click("[data-status=resolved]")
    await crew.page.check("input[value=words_of_advice]")
    await crew.page.fill("#outcome-note", "Spoken to, moved on.")
    await crew.shot("crew-outcome")
    await crew.page.click("#outcome-form button[type=submit]")

    await expect(page.locator("#status")).to_have_attribute("data-status", "resolved")
    await expect(crew.page.locator("#duty")).to_be_visible()
    (alert,) = await alerts_in_db(server)
    assert (alert.state, alert.category, alert.note) == ("resolved", "following", "AB12 CDE")
    assert (alert.outcome, alert.outcome_note) == ("words_of_advice", "Spoken to, moved on.")


# 2. A tap or a brush sends nothing ----------------------------------------------------------------


async def test_a_short_tap_or_a_brush_sends_nothing(browser: Browser, serve: ServerFactory) -> None:
    server = await serve(**{"pages.hold_to_alert_s": 2.0, "pages.hold_to_escalate_s": 1.5})
    officer = await officer_page(browser, server)
    page, control = officer.page, officer.page.locator("#hold")

    await control.tap()  # a tap
    box = await control.bounding_box()
    assert box is not None
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await page.mouse.down()  # a brush: pressed, filling, then let go too soon
    await page.wait_for_function(
        "parseFloat(document.getElementById('hold').style.getPropertyValue('--fill')) > 0.3"
    )
    await officer.shot("officer-holding")
    await page.mouse.up()

    await expect(control).to_have_attribute("data-holding", "false")
    await expect(page.locator("#status")).to_have_attribute("data-status", "idle")
    # Then a real hold. Frames on one socket arrive in order, so had the tap or the
    # brush sent an alert, it would be stored before this one is acknowledged.
    await hold(page)
    (alert,) = await alerts_in_db(server)
    assert not alert.urgent

    # Held again, longer, the open alert becomes urgent.
    supervisor = await server.supervisor()
    await hold(page, sign="data-urgent", until="true")
    await supervisor.wait_for(
        lambda f: f["type"] == "alert" and f["alert"]["id"] == alert.id and f["alert"]["urgent"]
    )
    assert len(await alerts_in_db(server)) == 1
    await supervisor.close()


async def test_held_again_for_urgent_while_the_first_press_is_on_its_way(
    browser: Browser, serve: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Her raise is sent but not yet answered when she holds again for urgent help: the
    answer to a raise that did not say urgent is not taken for the escalation's."""
    server = await serve()
    alerts = server.services.dispatcher.alerts
    arrived, answer = asyncio.Event(), asyncio.Event()
    raise_alert = alerts.raise_alert

    async def answered_later(viewer: Any, msg: Any) -> Any:
        arrived.set()
        await answer.wait()
        return await raise_alert(viewer, msg)

    monkeypatch.setattr(alerts, "raise_alert", answered_later)
    supervisor = await server.supervisor()
    officer = await officer_page(browser, server)
    await hold(officer.page, until="sending")
    await asyncio.wait_for(arrived.wait(), 30)
    await hold(officer.page, sign="data-urgent", until="true")
    answer.set()

    urgent = await supervisor.wait_for(
        lambda f: f["type"] == "alert" and f["alert"]["urgent"], timeout=30
    )
    (alert,) = await alerts_in_db(server)
    assert urgent["alert"]["id"] == alert.id and alert.urgent
    await supervisor.close()


# 3. No signal: kept through a reload, delivered exactly once -----------------------------------


async def test_an_alert_raised_offline_survives_a_reload_and_is_delivered_once(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve(**{"pages.not_delivered_after_s": 2})
    supervisor = await server.supervisor()
    officer = await officer_page(browser, server)
    page = officer.page
    await page.wait_for_function("navigator.serviceWorker.controller !== null")

    await officer.context.set_offline(True)
    await expect(page.locator("#dot")).to_have_attribute("data-link", "offline")
    await hold(page, until="sending")
    await expect(page.locator("#undelivered")).to_be_visible()
    await expect(page.locator("#undelivered")).to_have_text("NOT delivered - use your radio")
    await officer.shot("officer-not-delivered")

    await page.reload()  # still offline: the service worker opens the page
    await expect(page.locator("#status")).to_have_attribute("data-status", "sending")
    await expect(page.locator("#undelivered")).to_be_visible()
    assert await alerts_in_db(server) == []

    await officer.context.set_offline(False)

    await expect(page.locator("#status")).to_have_attribute("data-status", "received")
    await expect(page.locator("#undelivered")).to_be_hidden()
    (alert,) = await alerts_in_db(server)
    await page.reload()  # online again: an acknowledged alert is not sent again
    await expect(page.locator("#status")).to_have_attribute("data-status", "received")
    await supervisor.request("sync", last_seq=supervisor.state.seq)  # everything so far is in
    raised = {f["alert"]["id"] for f in supervisor.frames if f["type"] == "alert"}
    assert raised == {alert.id}
    assert len(await alerts_in_db(server)) == 1
    await supervisor.close()


# 4. The officer moves, and so does her marker on the crew's map -----------------------------------


async def test_the_officers_moves_move_her_marker_on_the_crews_map(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve()
    crew = await crew_page(browser, server, north_of(CENTRE, 300))
    officer = await officer_page(browser, server)
    await hold(officer.page)
    await crew.page.click("#offer-accept")
    await expect(crew.page.locator("path.officer-marker")).to_be_visible()
    await expect(crew.page.locator("path.officer-marker")).to_have_attribute("data-live", "true")
    # The map follows both of them until the crew moves it: a sideways drag holds it still.
    box = await crew.page.locator("#map").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    await crew.page.mouse.move(x, y)
    await crew.page.mouse.down()
    await crew.page.mouse.move(x + 40, y, steps=5)
    await crew.page.mouse.up()
    await expect(crew.page.locator("#follow")).to_have_attribute("aria-pressed", "false")
    before = await officer_marker_y(crew.page)

    await officer.move_to(north_of(CENTRE, 120))

    # North is up: her marker climbs the screen.
    await crew.page.wait_for_function(
        """(before) => {
            const box = document.querySelector('path.officer-marker').getBoundingClientRect();
            return box.top + box.height / 2 < before - 20;
        }""",
        arg=before,
    )
    await expect(crew.page.locator("#officer-age")).to_contain_text("ago")
    await expect(crew.page.locator("#officer-line")).to_have_text(
        re.compile(r"^Officer 180 m S, \d+ s ago$")
    )


# 5. The countdown runs out: the offer moves to the next crew ------------------------------------


async def test_a_lapsed_offer_leaves_the_page_and_reaches_the_next_crew(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve(**{"dispatch.offer_timeout_s": 4})
    near = await crew_page(browser, server, north_of(CENTRE, 200))
    far = await crew_page(browser, server, north_of(CENTRE, 900))
    officer = await server.officer()

    await officer.raise_alert(CENTRE, category="vehicle")

    await expect(near.page.locator("#offer")).to_be_visible()
    await expect(near.page.locator("#offer-countdown")).to_have_text(re.compile(r"^\d+ s$"))
    await expect(far.page.locator("#offer")).to_be_hidden()
    await expect(near.page.locator("#offer")).to_be_hidden()  # let it run out
    await expect(far.page.locator("#offer")).to_be_visible()
    await expect(far.page.locator("#offer-distance")).to_have_text("900 m")
    await expect(near.page.locator("#crew-state")).to_have_text("On duty")

    # The crew's page shows plainly when it is offline, and comes back by itself.
    await near.context.set_offline(True)
    await expect(near.page.locator("#offline")).to_be_visible()
    await near.shot("crew-offline")
    await near.context.set_offline(False)
    await expect(near.page.locator("#offline")).to_be_hidden()
    await expect(near.page.locator("#crew-state")).to_have_text("On duty")
    await officer.close()


# The cancel: a confirmation a pocket cannot give, and the duress PIN ------------------------------


async def test_a_wrong_pin_changes_nothing_and_the_duress_pin_looks_like_a_cancel(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve()
    supervisor = await server.supervisor()
    officer = await officer_page(browser, server, pins=True)
    page = officer.page
    await hold(page)

    await page.click("#cancel")
    await expect(page.locator("#confirm-prompt")).to_have_text("Enter PIN to cancel")
    for digit in "0000":
        await page.click(f"[data-digit='{digit}']")
    await expect(page.locator("#confirm-error")).to_contain_text("PIN is not right")
    await officer.shot("officer-cancel-confirm")
    for digit in DURESS_PIN:
        await page.click(f"[data-digit='{digit}']")

    await expect(page.locator("#cancelled")).to_be_visible()
    await expect(page.locator("#cancelled-text")).to_have_text("Cancelled")
    await officer.shot("officer-cancelled")
    seen = await supervisor.wait_for(
        lambda f: (
            f["type"] == "alert" and f["alert"]["urgent"] and "DURESS" in (f["alert"]["note"] or "")
        )
    )
    alert_id = seen["alert"]["id"]
    assert seen["alert"]["state"] not in ("cancelled", "resolved")
    # She keeps sharing her position while the alert is open.
    await officer.move_to(north_of(CENTRE, 80))
    await supervisor.wait_for(
        lambda f: (
            f["type"] == "position"
            and f.get("alert_id") == alert_id
            and abs(f["lat"] - north_of(CENTRE, 80)[0]) < 1e-6
        ),
        timeout=15,
    )
    await page.click("#cancelled-ok")
    await expect(page.locator("#status")).to_have_attribute("data-status", "idle")
    await supervisor.close()

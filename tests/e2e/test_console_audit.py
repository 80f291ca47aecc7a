"""The console's Audit view in Chromium: an auditor signs in and gets the Audit tab alone
(no board, no websocket); she finds what a supervisor did (viewed an alert's timeline,
the people list) by object, by person, by action and by time, pages through the rows,
exports the search as CSV, and finds the export itself in the trail. A supervisor has no
Audit tab."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from playwright.async_api import Browser, Page, expect

from dispatch.audit.models import AuditRow
from dispatch.storage.models import User
from schemas.common import Role
from tests.e2e.conftest import ServerFactory
from tests.e2e.console_steps import console_desk, sign_in_auditor, sign_in_console
from tests.operations.support import api_for
from tests.support import CENTRE, RunningServer

LONDON = ZoneInfo("Europe/London")  # the browser's zone (console_desk)


async def search(page: Page, **fields: str) -> None:
    """Clear the form, fill these fields (ids without the `audit-` prefix), search."""
    await page.click("#audit-clear")
    for name, value in fields.items():
        field = page.locator(f"#audit-{name.replace('_', '-')}")
        if name == "action":
            await field.select_option(value)
        else:
            await field.fill(value)
    await page.click("#audit-go")


async def trail_holds(server: RunningServer, username: str, object_type: str) -> None:
    """Wait until the trail has a row by this user about this type of object."""
    user_id = next(u.id for u in await server.rows(User) if u.username == username)
    for _ in range(100):
        rows = await server.rows(AuditRow)
        if any(r.actor == user_id and r.object_type == object_type for r in rows):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no audit row by {username} about {object_type}")


def local(at: datetime) -> str:
    """A datetime-local input's value for this instant in the browser's zone."""
    return at.astimezone(LONDON).strftime("%Y-%m-%dT%H:%M:%S")


async def test_an_auditor_finds_what_a_supervisor_did_and_exports_it(
    browser: Browser, serve: ServerFactory, tmp_path: Path
) -> None:
    server = await serve()
    boss = await server.add_user(Role.SUPERVISOR)
    auditor = await server.add_user(Role.AUDITOR)

    # Another supervisor looked at the people list often: more rows than one page holds.
    busy = await api_for(server, await server.add_user(Role.SUPERVISOR))
    for _ in range(55):
        await busy.call("GET", "/api/console/people")
    await busy.close()

    officer = await server.officer()
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]

    # The supervisor has no Audit tab; she opens the alert's timeline and the people list.
    desk = await console_desk(browser, server)
    page = desk.page
    await sign_in_console(desk, boss)
    await expect(page.locator("#tabs button")).to_have_count(6)  # Public reports too
    await expect(page.locator("#tabs button[data-tab=audit]")).to_have_count(0)
    await expect(page.locator("#screen-audit")).to_have_count(0)
    await trail_holds(server, boss, "people")  # the board read the people list for names
    await page.click("#tabs button[data-tab=incidents]")
    await page.click(f"#incident-rows tr[data-alert-id='{alert_id}']")
    await expect(page.locator("[data-testid=timeline]")).to_be_visible()
    await trail_holds(server, boss, "alert")
    await page.click("#tabs button[data-tab=people]")
    await expect(page.locator(f"#people-users tr[data-user='{boss}']")).to_be_visible()
    await desk.context.close()
    started = datetime.now(LONDON)

    # The auditor: the Audit tab alone, and no socket opened.
    audit_desk = await console_desk(browser, server)
    page = audit_desk.page
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    await sign_in_auditor(audit_desk, auditor)
    await expect(page.locator("#tabs button")).to_have_count(1)
    await expect(page.locator("#tabs button[data-tab=audit]")).to_have_text("Audit")
    await expect(page.locator("#link")).to_be_hidden()
    await expect(page.locator("#sound")).to_be_hidden()
    await expect(page.locator("#screen-board")).to_have_count(0)
    assert page.url.endswith("#audit")
    rows = page.locator("#audit-body tr")

    # Paging: 50 rows a page, newest first.
    await expect(rows).to_have_count(50)
    await expect(page.locator("#audit-newer")).to_be_disabled()
    newest = int(await rows.first.get_attribute("data-seq") or 0)
    await page.click("#audit-older")
    await expect(page.locator("#audit-rows")).to_have_attribute("data-page", "1")
    await expect(page.locator("#audit-count")).to_contain_text("Rows 51-")
    assert int(await rows.first.get_attribute("data-seq") or 0) == newest - 50
    await page.click("#audit-newer")
    await expect(page.locator("#audit-rows")).to_have_attribute("data-page", "0")
    await expect(rows.first).to_have_attribute("data-seq", str(newest))

    # By object: who raised the alert, who viewed it.
    await search(page, object_type="alert", object_id=alert_id)
    await expect(rows).to_have_count(2)
    viewed = rows.filter(has_text="detail and timeline")
    await expect(viewed).to_have_attribute("data-actor", boss)
    await expect(viewed).to_have_attribute("data-action", "consultation")
    await expect(rows.filter(has_text="alert raised")).to_have_attribute(
        "data-action", "collection"
    )

    # By person, from a row's link: everything the supervisor did, and by action.
    await viewed.locator("td.audit-person a").click()
    await expect(page.locator("#audit-person")).to_have_value(boss)
    await expect(page.locator("#audit-rows")).to_have_attribute("data-search", f"person={boss}")
    await expect(rows).to_have_count(4)
    shown = await rows.evaluate_all(
        "rs => rs.map(r => `${r.dataset.action} ${r.dataset.objectType}`)"
    )
    assert shown == [
        "consultation people",  # the People tab
        "consultation alert",  # the timeline
        "consultation people",  # the board's names
        "sign_in session",
    ]
    await search(page, person=boss, action="consultation")
    await expect(rows).to_have_count(3)

    # By time: nothing after now, all four around the supervisor's work.
    await search(page, person=boss, since=local(datetime.now(LONDON) + timedelta(minutes=5)))
    await expect(page.locator("#audit-body")).to_contain_text("No row matches.")
    await search(
        page,
        person=boss,
        since=local(started - timedelta(minutes=5)),
        until=local(started + timedelta(minutes=5)),
    )
    await expect(rows).to_have_count(4)
    await search(page, since=local(started), until=local(started - timedelta(minutes=1)))
    await expect(page.locator("#audit-problem")).to_have_text("'To' must be after 'From'.")

    # Export the supervisor's rows as CSV.
    await search(page, person=boss)
    await expect(rows).to_have_count(4)
    async with page.expect_download() as info:
        await page.click("#audit-csv")
    download = await info.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.name.startswith("audit-") and saved.suffix == ".csv"
    table = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert [(r["username"], r["action"], r["object_type"]) for r in table] == [
        (boss, "consultation", "people"),
        (boss, "consultation", "alert"),
        (boss, "consultation", "people"),
        (boss, "sign_in", "session"),
    ]
    await expect(page.locator(".toast")).to_contain_text("Exported 4 rows")

    # The export is in the trail: a disclosure by the auditor, naming her search.
    await search(page, action="disclosure", object_type="audit_trail")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-actor", auditor)
    await expect(rows.first).to_contain_text(f"person={boss}")

    # The newest rows, for the screenshot: the export on top.
    await search(page)
    await expect(rows.first).to_have_attribute("data-object-type", "audit_trail")
    await audit_desk.shot("console-audit")
    assert sockets == []
    await audit_desk.context.close()
    await officer.close()

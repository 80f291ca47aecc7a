"""Editing a draft's settings on the console's Planning screen in a real browser: a refusal
shows in the form, a new window and team are saved, the header shows them and says to
generate again, and the server holds them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Browser, expect

from schemas.common import CrewMode, Role
from tests.e2e.conftest import ServerFactory
from tests.e2e.console_steps import console_desk, sign_in_console
from tests.e2e.planning_steps import ZONE, local_input, open_planning
from tests.operations.support import api_for, operation_body


def day_month(when: datetime) -> str:
    local = when.astimezone(ZoneInfo(ZONE))
    return f"{local.day} {local:%b}"


async def test_a_supervisor_edits_a_drafts_window_and_team(
    browser: Browser, serve: ServerFactory
) -> None:
    server = await serve()
    officers = [await server.add_user(Role.OFFICER) for _ in range(3)]
    crews = [await server.add_crew(CrewMode.CAR), await server.add_crew(CrewMode.BIKE)]
    for callsign in crews:
        await server.add_user(Role.CREW, crew=callsign)
    supervisor = await server.add_user(Role.SUPERVISOR)
    api = await api_for(server, supervisor)
    people = await api.call("GET", "/api/console/people")
    user_id = {u["username"]: u["id"] for u in people["users"]}
    crew_id = {c["callsign"]: c["id"] for c in people["crews"]}
    label = {u["username"]: u["display_name"] or u["username"] for u in people["users"]}

    midnight = datetime.now(ZoneInfo(ZONE)).replace(hour=0, minute=0, second=0, microsecond=0)
    start = (midnight + timedelta(days=3)).astimezone(UTC)
    body = operation_body(
        "Edit me",
        start,
        days=7,
        officers=[user_id[officers[0]]],
        crews=[crew_id[crews[0]]],
        count=6,
        n_places=3,
    )
    op = await api.call("POST", "/api/operations", 201, json=body)
    planned = await api.call("POST", f"/api/operations/{op['id']}/generate")
    assert len(planned["deployments"]) == 6

    desk = await console_desk(browser, server)
    page = desk.page
    await sign_in_console(desk, supervisor)
    await open_planning(desk)
    await page.click(f"[data-testid=op-row][data-op-id='{op['id']}']")
    await expect(page.locator("#op-title")).to_have_text("Edit me")
    await expect(page.locator("#plan-generate")).to_have_text("Regenerate")

    # The form opens with the draft's settings.
    await page.click("#op-edit")
    await expect(page.locator("#op-form[data-mode=edit]")).to_be_visible()
    await expect(page.locator("#op-name")).to_have_value("Edit me")
    await expect(page.locator("#op-start")).to_have_value(local_input(start))
    await expect(page.locator(f"input[name=officer][data-key='{officers[0]}']")).to_be_checked()
    await expect(page.locator(f"input[name=officer][data-key='{officers[1]}']")).not_to_be_checked()

    # The server's refusal shows in the form, and nothing changes.
    new_start = start + timedelta(days=7)
    new_end = new_start + timedelta(days=5)
    await page.fill("#op-start", local_input(new_start))
    await page.fill("#op-end", local_input(new_start - timedelta(days=1)))
    await page.click("#op-save")
    await expect(page.locator("#op-form-problem")).to_contain_text(
        "window_end must be after window_start"
    )
    assert await api.call("GET", f"/api/operations/{op['id']}/plan") == planned

    # A new window and team are saved; the header shows them and says to generate again.
    await page.fill("#op-end", local_input(new_end))
    await page.uncheck(f"input[name=officer][data-key='{officers[0]}']")
    await page.check(f"input[name=officer][data-key='{officers[1]}']")
    await page.check(f"input[name=officer][data-key='{officers[2]}']")
    await page.check(f"input[name=crew][data-key='{crews[1]}']")
    await page.click("#op-save")
    await expect(page.locator("#op-title")).to_have_text("Edit me")
    await expect(page.locator("#op-window")).to_contain_text(day_month(new_start))
    await expect(page.locator("#op-window")).to_contain_text(day_month(new_end))
    team = page.locator("#op-team")
    for shown in (label[officers[1]], label[officers[2]], *crews):
        await expect(team).to_contain_text(shown)
    await expect(team).not_to_contain_text(label[officers[0]])
    await expect(page.locator("#op-edit-note")).to_contain_text("Generate the plan again")
    await expect(page.locator("#plan-generate")).to_have_text("Generate plan")
    await expect(page.locator("#plan-none")).to_be_visible()

    saved = await api.call("GET", f"/api/operations/{op['id']}")
    assert datetime.fromisoformat(saved["window_start"]) == new_start
    assert datetime.fromisoformat(saved["window_end"]) == new_end
    assert sorted(saved["officer_ids"]) == sorted(user_id[o] for o in officers[1:])
    assert sorted(saved["crew_ids"]) == sorted(crew_id[c] for c in crews)
    assert saved["figures"] is None and saved["deployments"] == 6
    assert (await api.call("GET", f"/api/operations/{op['id']}/plan"))["deployments"] == []
    await api.close()
    await desk.context.close()

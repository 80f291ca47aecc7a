"""The console's Planning screen in a real browser: a supervisor builds an operation with
five places (four clicked on the map, one from a CSV file) and a team of two officers and
two crews, generates a plan, sees its figures and timeline, pins a deployment, sees a move
refused with the rule it breaks, and publishes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.async_api import Browser, expect

from dispatch.storage.models import Deployment, Operation, Place, User
from schemas.common import CrewMode, Role
from tests.e2e.conftest import ServerFactory, screenshot_path
from tests.e2e.console_steps import Desk, console_desk, sign_in_console
from tests.e2e.planning_steps import (
    PlaceSpec,
    create_operation_with_places,
    generate_plan,
    import_places,
    local_input,
    pin_deployment,
    publish_plan,
)
from tests.operations.support import api_for
from tests.support import CENTRE

LAT, LON = CENTRE
PLACES = [
    PlaceSpec("Castle Green", LAT - 0.0030, LON + 0.0040, risk=3),
    PlaceSpec("Bishop's Meadow", LAT - 0.0045, LON - 0.0010, risk=2),
    PlaceSpec("High Town", LAT + 0.0010, LON + 0.0005, risk=1.5),
    PlaceSpec("Widemarsh Street", LAT + 0.0040, LON - 0.0020, risk=1),
]


async def clear_toasts(desk: Desk) -> None:
    """Passing notes would hide part of the screenshots."""
    await desk.page.evaluate("document.getElementById('toasts').replaceChildren()")


async def test_a_supervisor_plans_and_publishes_an_operation(
    browser: Browser, serve: ServerFactory, tmp_path: Path
) -> None:
    server = await serve()
    officers = [await server.add_user(Role.OFFICER) for _ in range(2)]
    crews = [await server.add_crew(CrewMode.CAR), await server.add_crew(CrewMode.BIKE)]
    for callsign in crews:
        await server.add_user(Role.CREW, crew=callsign)
    supervisor = await server.add_user(Role.SUPERVISOR)
    desk = await console_desk(browser, server)
    page = desk.page
    await sign_in_console(desk, supervisor)

    start = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    op_id = await create_operation_with_places(
        desk, "Jog On Hereford", PLACES, officers, crews, start=start, days=7, deployments=8
    )
    river = tmp_path / "river.csv"
    river.write_text(
        "name,route,risk,hourly\n"
        f'"Riverside path","{LAT - 0.006} {LON - 0.004}; {LAT - 0.0055} {LON}; '
        f'{LAT - 0.006} {LON + 0.004}",2.5,{" ".join(["1"] * 7 + ["2"] * 10 + ["3"] * 7)}\n'
    )
    await import_places(desk, river)
    rows = page.locator("#places-table [data-testid=place-row]")
    await expect(rows).to_have_count(5)
    await expect(rows.locator(".place-name")).to_have_text(
        ["Bishop's Meadow", "Castle Green", "High Town", "Riverside path", "Widemarsh Street"]
    )
    await expect(page.locator("#plan-map .place-marker")).to_have_count(5)
    await expect(page.locator("#plan-none")).to_have_text("No plan yet: generate one.")
    await clear_toasts(desk)
    await desk.shot("console-planning-editor")

    # The draft is stored as the supervisor set it: times typed in Europe/London, team by id.
    [op] = [o for o in await server.rows(Operation) if o.id == op_id]
    assert op.name == "Jog On Hereford" and op.state == "draft" and op.deployments == 8
    assert op.window_start == start and op.window_end == start + timedelta(days=7)
    ids = {u.username: u.id for u in await server.rows(User)}
    assert sorted(op.officer_ids.strip("[]").replace('"', "").split(", ")) == sorted(
        ids[u] for u in officers
    )
    assert len([p for p in await server.rows(Place) if p.operation_id == op_id]) == 5

    shown = await generate_plan(desk)
    api = await api_for(server, supervisor)
    plan = await api.call("GET", f"/api/operations/{op_id}/plan")
    assert shown == len(plan["deployments"]) > 0
    figures = plan["operation"]["figures"]
    m2 = page.locator("#plan-figures tr[data-figure=m2_entropy_ratio]")
    await expect(m2).to_contain_text(f"{figures['m2_entropy_ratio']:.2f}")
    await expect(m2).to_contain_text("pass" if figures["m2_entropy_ratio"] >= 0.95 else "miss")
    counts = page.locator("#places-table .place-count")
    total = sum([int(t) for t in await counts.all_inner_texts()])
    assert total == len(plan["deployments"])

    pinned_id = await pin_deployment(desk, 0)
    pinned = next(d for d in await server.rows(Deployment) if d.id == pinned_id)
    assert pinned.pinned

    # Moving another deployment onto the pinned one's place and time is refused, and the
    # supervisor reads the rule it breaks; nothing moves.
    first = next(d for d in plan["deployments"] if d["id"] == pinned_id)
    other = next(d for d in plan["deployments"] if d["id"] != pinned_id)
    await page.locator(f"#plan-timeline [data-deployment-id='{other['id']}']").first.click()
    await page.click("#dep-move")
    await page.fill("#move-start", local_input(datetime.fromisoformat(first["starts_at"])))
    await page.select_option("#move-place", first["place_id"])
    await page.click("#move-dialog-ok")
    problem = page.locator("#move-dialog-problem")
    await expect(problem).not_to_be_empty()
    refused = await api.http.patch(
        f"/api/operations/{op_id}/deployments/{other['id']}",
        json={"starts_at": first["starts_at"], "place_id": first["place_id"]},
    )
    assert refused.status_code == 409 and refused.json()["code"] == "rule_broken"
    # The sentence names places, people and crews by name where the server gives ids.
    people = await api.call("GET", "/api/console/people")
    names = {p["id"]: p["name"] for p in plan["operation"]["places"]}
    names |= {u["id"]: u["display_name"] or u["username"] for u in people["users"]}
    names |= {c["id"]: c["callsign"] for c in people["crews"]}
    sentence = re.sub(r"\b[0-9a-f]{32}\b", lambda m: names[m.group(0)], refused.json()["message"])
    await expect(problem).to_have_text(sentence)
    await page.click("#move-dialog-back")
    after = await api.call("GET", f"/api/operations/{op_id}/plan")
    assert [d for d in after["deployments"] if d["id"] == other["id"]] == [other]

    await page.locator(f"#plan-timeline [data-deployment-id='{pinned_id}']").first.click()
    await publish_plan(desk)
    await expect(page.locator("#plan-generate")).to_have_count(0)
    await expect(page.locator("#op-cancel")).to_be_visible()
    await expect(page.locator("[data-testid=op-row]", has_text="Jog On Hereford")).to_contain_text(
        "published"
    )
    await clear_toasts(desk)
    await page.screenshot(path=str(screenshot_path("console-planning-plan")), full_page=True)
    [op] = [o for o in await server.rows(Operation) if o.id == op_id]
    assert op.state == "published"
    states = {d.state for d in await server.rows(Deployment) if d.operation_id == op_id}
    assert states == {"published"}
    await api.close()
    await desk.context.close()

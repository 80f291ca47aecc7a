"""Sign-in throttling through the real server: by account and by source address, with a
capped backoff on a clock the test moves; a supervisor unlocks; a signed-in phone keeps
working whatever new sign-ins are refused."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx

from schemas.common import Role
from tests.support import CENTRE, PASSWORD, ManualClock, RunningServer, settings_for, start_server


@contextlib.asynccontextmanager
async def clocked(db_url: str) -> AsyncIterator[tuple[RunningServer, ManualClock]]:
    clock = ManualClock()
    running = await start_server(settings_for(db_url), clock)
    try:
        yield running, clock
    finally:
        await running.stop()


async def attempt(server: RunningServer, username: str, password: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base) as http:
        return await http.post("/api/session", json={"username": username, "password": password})


async def test_twenty_guesses_over_five_accounts_from_one_address_are_slowed(
    db_url: str,
) -> None:
    async with clocked(db_url) as (server, _clock):
        accounts = [await server.add_user(Role.OFFICER) for _ in range(5)]
        answers = [await attempt(server, accounts[i % 5], "guess") for i in range(20)]
        # Each account saw four failures only, fewer than its five free ones.
        codes = [a.json()["code"] for a in answers]
        refused = [a for a in answers if a.status_code == 429]
        right_password = await attempt(server, accounts[0], PASSWORD)

    assert codes[:10] == ["auth_invalid"] * 10
    assert len(refused) == 10 and all(a.json()["code"] == "rate_limited" for a in refused)
    assert all(0 < a.json()["retry_after_s"] <= 300 for a in refused)
    assert all(a.headers["retry-after"] == str(a.json()["retry_after_s"]) for a in refused)
    assert right_password.status_code == 429  # nothing is checked until the wait is over


async def test_an_account_waits_at_most_the_cap_and_a_refused_try_changes_nothing(
    db_url: str,
) -> None:
    async with clocked(db_url) as (server, clock):
        username = await server.add_user(Role.OFFICER)
        waits = []
        for _ in range(9):  # from ever-new addresses would be the same: the account waits
            answer = await attempt(server, username, "guess")
            if answer.status_code == 423:
                waits.append(answer.json()["retry_after_s"])
                clock.advance(timedelta(seconds=answer.json()["retry_after_s"]))
                answer = await attempt(server, username, "guess")
            assert answer.status_code in (401, 429), answer.text
            if answer.status_code == 429:
                clock.advance(timedelta(seconds=answer.json()["retry_after_s"]))
        refused_again = await attempt(server, username, PASSWORD)
        same_wait = await attempt(server, username, PASSWORD)
        clock.advance(timedelta(seconds=server.settings.auth.backoff_max_s))
        signed_in = await attempt(server, username, PASSWORD)

    assert waits == sorted(waits) and max(waits) <= server.settings.auth.backoff_max_s
    assert refused_again.status_code == same_wait.status_code == 423
    assert same_wait.json()["retry_after_s"] == refused_again.json()["retry_after_s"]
    assert signed_in.status_code == 200


async def test_a_supervisor_unlocks_an_account_at_once(db_url: str) -> None:
    async with clocked(db_url) as (server, _clock):
        username = await server.add_user(Role.OFFICER)
        for _ in range(5):
            await attempt(server, username, "guess")
        assert (await attempt(server, username, PASSWORD)).status_code == 423
        boss = await server.sign_in(await server.add_user(Role.SUPERVISOR))
        headers = {"Authorization": f"Bearer {boss['token']}"}
        async with httpx.AsyncClient(base_url=server.base, headers=headers) as http:
            people = (await http.get("/api/console/people")).json()
            user = next(u for u in people["users"] if u["username"] == username)
            assert user["locked"] is True
            unlocked = await http.post(f"/api/console/users/{user['id']}/unlock")
            missing = await http.post("/api/console/users/nobody/unlock")
        after = await attempt(server, username, PASSWORD)

    assert unlocked.status_code == 200 and unlocked.json()["locked"] is False
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert after.status_code == 200


async def test_a_signed_in_officer_keeps_her_button_while_her_account_is_hammered(
    server: RunningServer,
) -> None:
    username = await server.add_user(Role.OFFICER)
    officer = await server.connect(username)
    for _ in range(12):
        await attempt(server, username, "guess")
    assert (await attempt(server, username, PASSWORD)).status_code in (423, 429)

    answer = await officer.raise_alert(CENTRE)

    assert answer["type"] == "ack", answer

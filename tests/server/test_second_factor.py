"""Supervisors' second factor through the real server: enrolment at first sign-in (QR,
recovery codes once), a code for every later sign-in, each code and recovery code usable
once, nothing signed in before the code; console sessions idle out, phones do not."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pyotp

from dispatch.storage.models import User
from schemas.common import Role
from tests.support import PASSWORD, ManualClock, RunningServer, settings_for, start_server


@contextlib.asynccontextmanager
async def clocked(db_url: str) -> AsyncIterator[tuple[RunningServer, ManualClock]]:
    clock = ManualClock()
    settings = settings_for(
        db_url,
        **{
            "auth.supervisor_second_factor": True,
            "auth.secret_key": "test-key",
            "auth.console_idle_s": 1800,
            "auth.console_max_s": 43200,
        },
    )
    running = await start_server(settings, clock)
    try:
        yield running, clock
    finally:
        await running.stop()


async def post(server: RunningServer, path: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base) as http:
        return await http.post(path, json=body)


async def whoami(server: RunningServer, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base) as http:
        return await http.get("/api/session", headers={"Authorization": f"Bearer {token}"})


async def test_enrol_then_sign_in_with_a_code_or_a_recovery_code_once(db_url: str) -> None:
    async with clocked(db_url) as (server, clock):
        username = await server.add_user(Role.SUPERVISOR)
        first = await post(server, "/api/session", {"username": username, "password": PASSWORD})
        step = first.json()
        assert first.status_code == 202 and step["code"] == "second_factor_required"
        assert step["enrol"] is True and step["qr_svg"].startswith("<svg")
        assert "token" not in step and "set-cookie" not in first.headers
        assert (await whoami(server, step["challenge"])).status_code == 401

        totp = pyotp.TOTP(step["secret"])
        wrong = await post(
            server,
            "/api/session/code",
            {
                "challenge": step["challenge"],
                "code": "000000" if totp.at(clock.now) != "000000" else "111111",
            },
        )
        enrolled = await post(
            server,
            "/api/session/code",
            {"challenge": step["challenge"], "code": totp.at(clock.now)},
        )
        recovery = enrolled.json()["recovery_codes"]
        replay = await post(
            server,
            "/api/session/code",
            {"challenge": step["challenge"], "code": totp.at(clock.now)},
        )

        clock.advance(timedelta(seconds=60))
        again = (
            await post(server, "/api/session", {"username": username, "password": PASSWORD})
        ).json()
        assert again["enrol"] is False and "secret" not in again
        same_code_again = await post(
            server,
            "/api/session/code",
            {"challenge": again["challenge"], "code": totp.at(clock.now - timedelta(seconds=60))},
        )
        by_code = await post(
            server,
            "/api/session/code",
            {"challenge": again["challenge"], "code": totp.at(clock.now)},
        )

        third = (
            await post(server, "/api/session", {"username": username, "password": PASSWORD})
        ).json()
        by_recovery = await post(
            server, "/api/session/code", {"challenge": third["challenge"], "code": recovery[0]}
        )
        fourth = (
            await post(server, "/api/session", {"username": username, "password": PASSWORD})
        ).json()
        used_twice = await post(
            server, "/api/session/code", {"challenge": fourth["challenge"], "code": recovery[0]}
        )
        stored = next(u for u in await server.rows(User) if u.username == username)

    assert wrong.status_code == 401 and wrong.json()["code"] == "auth_invalid"
    assert enrolled.status_code == 200 and len(recovery) == 10
    assert enrolled.json()["role"] == "supervisor"
    assert replay.status_code == 401  # the step was used up
    assert same_code_again.status_code == 401  # an old step's code is refused
    assert by_code.status_code == 200 and "recovery_codes" not in by_code.json()
    assert by_recovery.status_code == 200
    assert used_twice.status_code == 401
    assert step["secret"] not in (stored.totp_secret or "") and stored.totp_secret
    assert all(code not in (stored.recovery_hashes or "") for code in recovery)


async def test_a_console_session_idles_out_and_a_phone_session_does_not(db_url: str) -> None:
    async with clocked(db_url) as (server, clock):
        officer = await server.sign_in(await server.add_user(Role.OFFICER))
        # A supervisor without the second factor asked (a bearer made here directly).
        username = await server.add_user(Role.SUPERVISOR)
        step = (
            await post(server, "/api/session", {"username": username, "password": PASSWORD})
        ).json()
        code = pyotp.TOTP(step["secret"]).at(clock.now)
        boss = (
            await post(server, "/api/session/code", {"challenge": step["challenge"], "code": code})
        ).json()
        idle = server.settings.auth.console_idle_s
        clock.advance(timedelta(seconds=idle - 60))
        in_use = await whoami(server, boss["token"])  # use moves the idle time on
        clock.advance(timedelta(seconds=idle - 60))
        still = await whoami(server, boss["token"])
        clock.advance(timedelta(seconds=idle + 1))
        idled_out = await whoami(server, boss["token"])
        phone = await whoami(server, officer["token"])

    assert in_use.status_code == still.status_code == 200
    assert idled_out.status_code == 401 and idled_out.json()["code"] == "auth_expired"
    assert phone.status_code == 200


async def test_a_supervisor_resets_another_supervisors_second_factor(db_url: str) -> None:
    async with clocked(db_url) as (server, clock):

        async def enrolled(username: str) -> dict[str, Any]:
            step = (
                await post(server, "/api/session", {"username": username, "password": PASSWORD})
            ).json()
            code = pyotp.TOTP(step["secret"]).at(clock.now)
            return (
                await post(
                    server, "/api/session/code", {"challenge": step["challenge"], "code": code}
                )
            ).json()

        lost_phone = await server.add_user(Role.SUPERVISOR)
        theirs = await enrolled(lost_phone)
        mine = await enrolled(await server.add_user(Role.SUPERVISOR))
        headers = {"Authorization": f"Bearer {mine['token']}"}
        async with httpx.AsyncClient(base_url=server.base, headers=headers) as http:
            own = await http.post(f"/api/console/users/{mine['user_id']}/second-factor/reset")
            reset = await http.post(f"/api/console/users/{theirs['user_id']}/second-factor/reset")
        ended = await whoami(server, theirs["token"])
        again = (
            await post(server, "/api/session", {"username": lost_phone, "password": PASSWORD})
        ).json()

    assert own.status_code == 403 and own.json()["code"] == "forbidden"
    assert reset.status_code == 200
    assert ended.status_code == 401
    assert again["enrol"] is True

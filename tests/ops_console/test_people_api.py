"""People over REST against a real server: accounts, crews and members; refusals change
nothing; disabling, resetting and moving end the person's sessions and sockets."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from schemas.common import CrewMode, Role
from tests.operations.support import Api, api_for
from tests.support import PASSWORD, Client, RunningServer


@pytest.fixture
def server_settings() -> dict[str, Any]:
    return {"auth.max_failed_logins": 2}


async def supervisor_api(server: RunningServer) -> tuple[Api, str]:
    username = await server.add_user(Role.SUPERVISOR)
    return await api_for(server, username), username


async def sign_in_status(server: RunningServer, username: str, password: str) -> tuple[int, Any]:
    async with httpx.AsyncClient(base_url=server.base) as http:
        answer = await http.post("/api/session", json={"username": username, "password": password})
    return answer.status_code, answer.json()


async def closed(client: Client) -> tuple[int | None, str | None]:
    await asyncio.wait_for(client.reader, 5)
    return client.ws.close_code, client.ws.close_reason


def user_named(people: dict[str, Any], username: str) -> dict[str, Any]:
    found: dict[str, Any] = next(u for u in people["users"] if u["username"] == username)
    return found


async def test_a_supervisor_adds_a_crew_and_people_and_sees_them(server: RunningServer) -> None:
    api, boss = await supervisor_api(server)
    board = await server.supervisor()

    crew = await api.call(
        "POST", "/api/console/crews", 201, json={"callsign": "Oscar 1", "mode": "bike"}
    )
    assert {k: crew[k] for k in ("callsign", "mode", "state", "members")} == {
        "callsign": "Oscar 1",
        "mode": "bike",
        "state": "off_duty",
        "members": [],
    }
    live = await board.wait_for(lambda f: f["type"] == "crew" and f["crew"]["id"] == crew["id"])
    assert live["crew"]["callsign"] == "Oscar 1"

    member = await api.call(
        "POST",
        "/api/console/users",
        201,
        json={
            "username": "jo.bike",
            "display_name": "Jo Bike",
            "role": "crew",
            "crew_id": crew["id"],
        },
    )
    password = member["password"]
    assert isinstance(password, str) and len(password) >= 12
    session = await server.sign_in("jo.bike", password)
    assert (session["role"], session["crew_id"]) == ("crew", crew["id"])

    officer = await api.call(
        "POST",
        "/api/console/users",
        201,
        json={
            "username": "ann",
            "role": "officer",
            "password": "a chosen long password",
            "cancel_pin": "2468",
            "duress_pin": "1357",
        },
    )
    assert officer["password"] is None  # a chosen password is never echoed
    assert (await server.sign_in("ann", "a chosen long password"))["role"] == "officer"

    people = await api.call("GET", "/api/console/people")
    assert set(people) == {"users", "crews"}
    assert user_named(people, "jo.bike") == {
        "id": member["user"]["id"],
        "username": "jo.bike",
        "display_name": "Jo Bike",
        "role": "crew",
        "crew_id": crew["id"],
        "disabled": False,
        "has_pins": False,
        "locked": False,
    }
    assert user_named(people, "ann")["has_pins"] is True
    assert user_named(people, "ann")["display_name"] == "ann"
    assert user_named(people, boss)["role"] == "supervisor"
    assert [c for c in people["crews"] if c["id"] == crew["id"]] == [
        {
            "id": crew["id"],
            "callsign": "Oscar 1",
            "mode": "bike",
            "state": "off_duty",
            "members": [member["user"]["id"]],
        }
    ]

    # The new crew is dispatchable: on duty, with a position, it is offered an alert.
    phone = await Client.open(server.ws_url, session)
    await phone.sync()
    assert (await phone.request("duty", on=True))["type"] == "ack"
    await phone.position(52.0565, -2.7160)
    caller = await server.officer()
    await caller.raise_alert((52.0570, -2.7160))
    assert (await phone.offer())["crew_id"] == crew["id"]

    renamed = await api.call(
        "PATCH", f"/api/console/crews/{crew['id']}", json={"callsign": "Oscar 2", "mode": "car"}
    )
    assert (renamed["callsign"], renamed["mode"], renamed["members"]) == (
        "Oscar 2",
        "car",
        [member["user"]["id"]],
    )
    live = await board.wait_for(
        lambda f: f["type"] == "crew" and f["crew"]["callsign"] == "Oscar 2"
    )
    assert live["crew"]["mode"] == "car"
    await api.close()


async def test_refusals_are_clear_and_change_nothing(server: RunningServer) -> None:
    api, _ = await supervisor_api(server)
    callsign = await server.add_crew(CrewMode.CAR)
    other = await server.add_crew(CrewMode.FOOT)
    officer = await server.add_user(Role.OFFICER)
    before = await api.call("GET", "/api/console/people")
    crew_id = next(c["id"] for c in before["crews"] if c["callsign"] == callsign)
    other_id = next(c["id"] for c in before["crews"] if c["callsign"] == other)
    officer_id = user_named(before, officer)["id"]

    def user(**body: Any) -> dict[str, Any]:
        return {"username": "newcomer", "role": "officer", "password": PASSWORD, **body}

    refusals: list[tuple[str, str, dict[str, Any], int, str, str]] = [
        ("POST", "/api/console/users", user(username=officer.upper()), 409, "conflict", "taken"),
        ("POST", "/api/console/users", user(password="short pass"), 422, "invalid", "12"),
        ("POST", "/api/console/users", user(cancel_pin="1234"), 422, "invalid", "both PINs"),
        (
            "POST",
            "/api/console/users",
            user(cancel_pin="1234", duress_pin="1234"),
            422,
            "invalid",
            "must differ",
        ),
        (
            "POST",
            "/api/console/users",
            user(cancel_pin="12a4", duress_pin="5678"),
            422,
            "invalid",
            "4 digits",
        ),
        (
            "POST",
            "/api/console/users",
            user(role="supervisor", cancel_pin="1234", duress_pin="5678"),
            422,
            "invalid",
            "only officers",
        ),
        ("POST", "/api/console/users", user(role="crew"), 422, "invalid", "belongs to a crew"),
        (
            "POST",
            "/api/console/users",
            user(role="crew", crew_id="nosuchcrew"),
            422,
            "invalid",
            "No such crew",
        ),
        ("POST", "/api/console/users", user(crew_id=crew_id), 422, "invalid", "Only crew"),
        ("POST", "/api/console/users", user(role="chief"), 422, "invalid", "role"),
        ("POST", "/api/console/users", user(username="a b"), 422, "invalid", "username"),
        (
            "PATCH",
            f"/api/console/users/{officer_id}",
            {"crew_id": crew_id},
            422,
            "invalid",
            "Only crew",
        ),
        ("PATCH", f"/api/console/users/{officer_id}", {}, 422, "invalid", "Nothing to change"),
        ("PATCH", "/api/console/users/nobody", {"disabled": True}, 404, "not_found", "No such"),
        ("POST", "/api/console/users/nobody/password", {}, 404, "not_found", "No such user"),
        (
            "POST",
            "/api/console/crews",
            {"callsign": callsign.lower(), "mode": "car"},
            409,
            "conflict",
            "taken",
        ),
        ("POST", "/api/console/crews", {"callsign": "X", "mode": "horse"}, 422, "invalid", "mode"),
        ("POST", "/api/console/crews", {"callsign": "", "mode": "car"}, 422, "invalid", "callsign"),
        (
            "PATCH",
            f"/api/console/crews/{other_id}",
            {"callsign": callsign, "mode": "bike"},
            409,
            "conflict",
            "taken",
        ),
        ("PATCH", f"/api/console/crews/{other_id}", {}, 422, "invalid", "Nothing to change"),
        ("PATCH", "/api/console/crews/nosuchcrew", {"mode": "car"}, 404, "not_found", "No such"),
    ]
    for method, path, body, status, code, words in refusals:
        answer = await api.call(method, path, status, json=body)
        assert answer["code"] == code, (path, body, answer)
        assert words in answer["message"], (path, body, answer)

    assert await api.call("GET", "/api/console/people") == before
    await api.close()


async def test_a_disabled_user_is_signed_out_at_once_and_cannot_sign_in(
    server: RunningServer,
) -> None:
    api, boss = await supervisor_api(server)
    username = await server.add_user(Role.OFFICER)
    phone = await server.connect(username)
    user_id = phone.session["user_id"]

    changed = await api.call("PATCH", f"/api/console/users/{user_id}", json={"disabled": True})
    assert changed["disabled"] is True

    assert await closed(phone) == (4001, "signed out: sign in again")
    assert await sign_in_status(server, username, PASSWORD) == (
        401,
        {"code": "account_disabled", "message": "This account is disabled."},
    )
    async with httpx.AsyncClient(base_url=server.base) as http:
        old = await http.get(
            "/api/session", headers={"Authorization": f"Bearer {phone.session['token']}"}
        )
    assert old.status_code == 401

    boss_id = user_named(await api.call("GET", "/api/console/people"), boss)["id"]
    herself = await api.call("PATCH", f"/api/console/users/{boss_id}", 403, json={"disabled": True})
    assert herself["code"] == "forbidden" and "your own" in herself["message"]

    await api.call("PATCH", f"/api/console/users/{user_id}", json={"disabled": False})
    assert (await server.sign_in(username))["user_id"] == user_id
    await api.close()


async def test_a_reset_password_replaces_the_old_one_and_clears_the_lockout(
    server: RunningServer,
) -> None:
    api, boss = await supervisor_api(server)
    username = await server.add_user(Role.SUPERVISOR)
    phone = await server.connect(username)
    user_id = phone.session["user_id"]
    for _ in range(2):  # auth.max_failed_logins = 2
        assert (await sign_in_status(server, username, "not the password"))[0] == 401
    assert user_named(await api.call("GET", "/api/console/people"), username)["locked"] is True

    reset = await api.call("POST", f"/api/console/users/{user_id}/password")
    assert reset["user"]["locked"] is False and len(reset["password"]) >= 12

    assert (await closed(phone))[0] == 4001
    status, body = await sign_in_status(server, username, PASSWORD)
    assert (status, body["code"]) == (401, "auth_invalid")
    assert (await server.sign_in(username, reset["password"]))["user_id"] == user_id

    boss_id = user_named(await api.call("GET", "/api/console/people"), boss)["id"]
    own = await api.call("POST", f"/api/console/users/{boss_id}/password", 403)
    assert own["code"] == "forbidden"
    await api.close()


async def test_moving_a_crew_member_signs_her_phone_into_the_new_crew(
    server: RunningServer,
) -> None:
    api, _ = await supervisor_api(server)
    first = await server.add_crew(CrewMode.CAR)
    username = await server.add_user(Role.CREW, crew=first)
    phone = await server.connect(username)
    second = await api.call(
        "POST", "/api/console/crews", 201, json={"callsign": "Bravo", "mode": "foot"}
    )
    user_id = phone.session["user_id"]

    moved = await api.call("PATCH", f"/api/console/users/{user_id}", json={"crew_id": second["id"]})
    assert moved["crew_id"] == second["id"]

    assert (await closed(phone))[0] == 4001
    assert (await server.sign_in(username))["crew_id"] == second["id"]
    people = await api.call("GET", "/api/console/people")
    members = {c["callsign"]: c["members"] for c in people["crews"]}
    assert (members[first], members["Bravo"]) == ([], [user_id])
    await api.close()


async def test_officers_and_crews_are_refused(server: RunningServer) -> None:
    officer = await server.officer()
    crew = await server.crew(CrewMode.FOOT, (52.0, -2.7), on_duty=False)
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/api/console/people", None),
        ("POST", "/api/console/users", {"username": "sneaky", "role": "supervisor"}),
        ("PATCH", f"/api/console/users/{officer.session['user_id']}", {"disabled": True}),
        ("POST", f"/api/console/users/{officer.session['user_id']}/password", None),
        ("POST", "/api/console/crews", {"callsign": "Rogue", "mode": "car"}),
        ("PATCH", f"/api/console/crews/{crew.session['crew_id']}", {"callsign": "Rogue"}),
    ]
    async with httpx.AsyncClient(base_url=server.base) as http:
        for client in (officer, crew):
            auth = {"Authorization": f"Bearer {client.session['token']}"}
            for method, path, body in calls:
                answer = await http.request(method, path, json=body, headers=auth)
                assert (answer.status_code, answer.json()["code"]) == (403, "forbidden"), path
        anonymous = await http.get("/api/console/people")
        assert anonymous.status_code == 401
    # Nothing was done: the officer still signs in, no one named sneaky exists.
    assert (await server.sign_in(officer.session["username"]))["role"] == "officer"
    assert await sign_in_status(server, "sneaky", PASSWORD) == (
        401,
        {"code": "auth_invalid", "message": "Wrong username or password."},
    )

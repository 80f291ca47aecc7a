"""Authentication and who sees what: every websocket is authenticated before the server
accepts it, the token never travels in a URL, and refusals carry a clear code and reason."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from dispatch.auth import session_cache
from dispatch.auth.sessions import Viewer, token_hash
from dispatch.storage.db import Database
from dispatch.storage.models import Crew, SessionToken, User
from schemas.common import CrewMode, Role
from schemas.errors import CloseCode
from schemas.views import CrewState
from tests.support import (
    CENTRE,
    PASSWORD,
    Client,
    ManualClock,
    RunningServer,
    eventually,
    north_of,
    settings_for,
    start_server,
)

Frame = dict[str, Any]


@contextlib.asynccontextmanager
async def clocked_server(db_url: str) -> AsyncIterator[tuple[RunningServer, ManualClock]]:
    """A server whose sign-ins last a minute of a clock the test moves."""
    clock = ManualClock()
    settings = settings_for(db_url, **{"auth.session_ttl_s": 60, "dispatch.sweep_interval_s": 0.1})
    running = await start_server(settings, clock)
    try:
        yield running, clock
    finally:
        await running.stop()


async def refusal(url: str, headers: dict[str, str] | None = None) -> tuple[int, Frame]:
    """Open a websocket that the server must refuse; returns the HTTP status and JSON body."""
    with pytest.raises(InvalidStatus) as caught:
        async with connect(url, additional_headers=headers or {}, open_timeout=30):
            pass
    response = caught.value.response
    body = json.loads(response.body)
    assert isinstance(body["message"], str) and len(body["message"].strip()) > 10, body
    return response.status_code, body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def post_sign_in(server: RunningServer, username: str, password: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base) as http:
        return await http.post("/api/session", json={"username": username, "password": password})


async def table_rows(server: RunningServer, statement: Any) -> list[Frame]:
    db = Database(server.settings.database.url)
    try:
        async with db.engine.connect() as conn:
            return [dict(row._mapping) for row in await conn.execute(statement)]
    finally:
        await db.close()


def officer_at(lat: float) -> Callable[[Frame], bool]:
    return lambda f: f["type"] == "position" and f["role"] == "officer" and f["lat"] == lat


def alert_in(alert_id: str, state: str) -> Callable[[Frame], bool]:
    return lambda f: (
        f["type"] == "alert" and (f["alert"]["id"], f["alert"]["state"]) == (alert_id, state)
    )


# -- refused before the upgrade ----------------------------------------------------------


async def test_a_websocket_without_a_token_is_refused(server: RunningServer) -> None:
    status, body = await refusal(server.ws_url)
    assert (status, body["code"]) == (401, "auth_missing")


async def test_a_websocket_with_a_wrong_token_is_refused(server: RunningServer) -> None:
    status, body = await refusal(server.ws_url, bearer("not-a-real-token"))
    assert (status, body["code"]) == (401, "auth_invalid")


async def test_a_token_in_the_url_is_not_accepted(server: RunningServer) -> None:
    session = await server.sign_in(await server.add_user(Role.OFFICER))
    status, body = await refusal(f"{server.ws_url}?token={session['token']}")
    assert (status, body["code"]) == (401, "auth_missing")


async def test_an_expired_token_is_refused(db_url: str) -> None:
    async with clocked_server(db_url) as (server, clock):
        session = await server.sign_in(await server.add_user(Role.OFFICER))
        clock.set(datetime.fromisoformat(session["expires_at"]) + timedelta(seconds=1))

        status, body = await refusal(server.ws_url, bearer(session["token"]))

    assert (status, body["code"]) == (401, "auth_expired")


async def test_an_open_socket_is_closed_with_4001_when_its_session_expires(db_url: str) -> None:
    async with clocked_server(db_url) as (server, clock):
        officer = await server.officer()
        clock.advance(timedelta(seconds=61))

        await asyncio.wait_for(officer.reader, 30)  # a bound: the sweep runs every 0.1 s

    assert officer.ws.close_code == 4001
    assert officer.ws.close_reason


async def test_a_console_socket_lives_on_while_its_session_slides_elsewhere(db_url: str) -> None:
    """Another process slid the console session (it was in use there): this process's
    socket outlives the expiry it was opened with, then closes at the new one."""
    async with clocked_server(db_url) as (server, clock):
        console = await server.supervisor()
        opened_with = datetime.fromisoformat(console.session["expires_at"])
        slid_to = opened_with + timedelta(minutes=10)
        db = Database(server.settings.database.url)
        try:
            async with db.session() as s:
                row = await s.get(
                    SessionToken, hashlib.sha256(console.session["token"].encode()).hexdigest()
                )
                assert row is not None
                row.expires_at = slid_to
                s.add(row)
                await s.commit()
        finally:
            await db.close()

        clock.set(opened_with + timedelta(seconds=1))
        conn = next(iter(server.services.registry.supervisors))
        give_up = asyncio.get_running_loop().time() + 30  # a bound for a loaded machine
        while conn.viewer.expires_at != slid_to:  # the sweep asked the database
            assert not console.reader.done(), console.ws.close_reason
            assert asyncio.get_running_loop().time() < give_up, "the sweep never looked"
            await asyncio.sleep(0.05)
        assert (await console.request("sync", last_seq=None))["type"] == "ack"

        clock.set(slid_to + timedelta(seconds=1))
        await asyncio.wait_for(console.reader, 30)

    assert console.ws.close_code == 4001


async def test_signing_out_closes_the_sockets_of_that_session_only(
    server: RunningServer,
) -> None:
    username = await server.add_user(Role.OFFICER)
    phone = await server.connect(username)
    other_device = await server.connect(username)  # a second sign-in of the same officer
    async with httpx.AsyncClient(base_url=server.base) as http:
        signed_out = await http.delete("/api/session", headers=bearer(phone.session["token"]))
    assert signed_out.status_code == 204

    await asyncio.wait_for(phone.reader, 30)
    assert phone.ws.close_code == 4001 and "signed out" in (phone.ws.close_reason or "")
    still = await other_device.request("position", position={"lat": 52.0, "lon": -2.7})
    assert still["type"] == "ack"


async def connect_across_a_sign_out(
    server: RunningServer, token: str, monkeypatch: pytest.MonkeyPatch, owner: Any, name: str
) -> ClientConnection:
    """Open a websocket with `token` while `owner.name` (a step of its authentication)
    is held once it has answered: the session is signed out over HTTP meanwhile, and the
    step goes on once the server has ended it. Returns the socket if it was opened."""
    step: Callable[..., Awaitable[Viewer]] = getattr(owner, name)
    answered, go_on = asyncio.Event(), asyncio.Event()

    async def answer_then_hold(*args: Any, **kwargs: Any) -> Viewer:
        viewer = await step(*args, **kwargs)  # the session's row was there
        answered.set()
        await go_on.wait()
        return viewer

    monkeypatch.setattr(owner, name, answer_then_hold)
    opening = asyncio.ensure_future(
        connect(server.ws_url, additional_headers=bearer(token), open_timeout=60)
    )
    await asyncio.wait_for(answered.wait(), 30)
    async with httpx.AsyncClient(base_url=server.base, headers=bearer(token)) as http:
        assert (await http.delete("/api/session")).status_code == 204
    await eventually(lambda: server.services.sessions.ended(token_hash(token)))
    go_on.set()
    return await opening


async def test_a_sign_out_while_a_first_connect_reads_the_session_refuses_it(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = (await server.sign_in(await server.add_user(Role.OFFICER)))["token"]
    with pytest.raises(InvalidStatus) as refused:
        await connect_across_a_sign_out(server, token, monkeypatch, session_cache, "authenticate")
    async with httpx.AsyncClient(base_url=server.base, headers=bearer(token)) as http:
        after = await http.get("/api/session")  # the ended session was not cached either

    assert refused.value.response.status_code == 401
    assert json.loads(refused.value.response.body)["code"] == "auth_invalid"
    assert (after.status_code, after.json()["code"]) == (401, "auth_invalid")


async def test_a_sign_out_while_a_socket_is_being_accepted_closes_it(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As if the sign-out landed while the upgrade was answered."""
    token = (await server.sign_in(await server.add_user(Role.OFFICER)))["token"]
    cache = server.services.sessions
    ws = await connect_across_a_sign_out(server, token, monkeypatch, cache, "viewer")
    await asyncio.wait_for(ws.wait_closed(), 30)
    assert ws.close_code == 4001 and "signed out" in (ws.close_reason or "")


async def test_a_message_that_arrives_as_its_session_ends_is_not_carried_out(
    server: RunningServer,
) -> None:
    crew = await server.crew(CrewMode.FOOT, CENTRE)  # on duty
    # Written to the socket; the server reads it at its next turn of the loop (the test
    # and the server share it), after the session has ended there.
    await crew.send("duty", on=False)
    for conn in server.services.registry.by_session(token_hash(crew.session["token"])):
        conn.close(CloseCode.SESSION_ENDED, "signed out: sign in again")
    await asyncio.wait_for(crew.reader, 30)
    assert crew.ws.close_code == 4001

    watcher = await server.supervisor()  # a round trip after it: anything done is stored
    seen = [c["state"] for c in watcher.state.crews.values() if c["callsign"] == crew.callsign]
    (row,) = [c for c in await server.rows(Crew) if c.callsign == crew.callsign]
    # Still on duty, in memory and stored: the frame was not carried out.
    assert seen == [CrewState.AVAILABLE] and row.state == CrewState.AVAILABLE


# -- signing in and out -------------------------------------------------------------------


async def test_a_wrong_password_or_unknown_user_is_refused_alike(server: RunningServer) -> None:
    username = await server.add_user(Role.OFFICER)
    wrong = await post_sign_in(server, username, "not the password")
    unknown = await post_sign_in(server, "nobody-here", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["code"] == "auth_invalid" and wrong.json()["message"]


async def test_five_wrong_passwords_make_the_account_wait_a_little(db_url: str) -> None:
    async with clocked_server(db_url) as (server, clock):
        username = await server.add_user(Role.OFFICER)
        for _ in range(5):
            assert (await post_sign_in(server, username, "guess")).status_code == 401

        locked = await post_sign_in(server, username, PASSWORD)
        clock.advance(timedelta(seconds=locked.json()["retry_after_s"]))
        after_the_wait = await post_sign_in(server, username, PASSWORD)

    assert locked.status_code == 423
    assert locked.json()["code"] == "auth_locked" and locked.json()["message"]
    assert locked.json()["retry_after_s"] <= server.settings.auth.backoff_max_s
    assert after_the_wait.status_code == 200


async def test_the_session_cookie_is_http_only_and_opens_a_websocket(
    server: RunningServer,
) -> None:
    signed_in = await post_sign_in(server, await server.add_user(Role.OFFICER), PASSWORD)
    assert signed_in.status_code == 200
    (cookie,) = [
        c for c in signed_in.headers.get_list("set-cookie") if c.startswith("dispatch_session=")
    ]
    attributes = {a.strip().lower() for a in cookie.split(";")}
    assert "httponly" in attributes
    assert "samesite=strict" in attributes

    ws = await connect(
        server.ws_url,
        open_timeout=30,
        additional_headers={"Cookie": f"dispatch_session={signed_in.cookies['dispatch_session']}"},
    )
    client = Client(ws, signed_in.json())
    await client.sync()  # accepted and answering
    await client.close()


async def test_signing_out_ends_the_token(server: RunningServer) -> None:
    session = await server.sign_in(await server.add_user(Role.OFFICER))
    async with httpx.AsyncClient(base_url=server.base, headers=bearer(session["token"])) as http:
        assert (await http.get("/api/session")).status_code == 200
        assert (await http.delete("/api/session")).status_code == 204
        after = await http.get("/api/session")
    assert (after.status_code, after.json()["code"]) == (401, "auth_invalid")

    status, body = await refusal(server.ws_url, bearer(session["token"]))
    assert (status, body["code"]) == (401, "auth_invalid")


async def test_tokens_are_stored_only_as_sha256_hashes(server: RunningServer) -> None:
    tokens = [
        (await server.sign_in(await server.add_user(role)))["token"]
        for role in (Role.OFFICER, Role.SUPERVISOR)
    ]
    table = SessionToken.__tablename__
    rows = await table_rows(server, text(f'SELECT * FROM "{table}"'))  # every column

    assert {row["token_hash"] for row in rows} == {
        hashlib.sha256(t.encode()).hexdigest() for t in tokens
    }
    for row in rows:
        for value in row.values():
            assert not any(t in str(value) for t in tokens), row


async def test_passwords_are_stored_as_argon2id_hashes(server: RunningServer) -> None:
    await server.add_user(Role.OFFICER)
    await server.add_crew(CrewMode.BIKE)
    rows = await table_rows(server, select(User.__table__))  # type: ignore[attr-defined]
    assert rows
    for row in rows:
        assert row["password_hash"].startswith("$argon2id$"), row
        assert PASSWORD not in row["password_hash"]


# -- who sees what ------------------------------------------------------------------------


async def test_an_officer_cannot_see_another_officers_alert(server: RunningServer) -> None:
    supervisor = await server.supervisor()
    alice, bea = await server.officer(), await server.officer()
    alert_id = (await alice.raise_alert(CENTRE))["result"]["alert_id"]
    await alice.wait_for(lambda f: f["type"] == "alert" and f["alert"]["id"] == alert_id)
    await supervisor.wait_for(lambda f: f["type"] == "alert" and f["alert"]["id"] == alert_id)

    # Any copy for Bea would have been queued in the same fan-out as the supervisor's;
    # her acked request below is queued after it, so by its ack she has all she will get.
    await bea.position(*CENTRE)
    assert [f for f in bea.frames if f["type"] == "alert"] == []
    assert bea.state.alerts == {}

    for kind in ("alert.cancel", "alert.detail", "alert.escalate"):
        refused = await bea.request(kind, alert_id=alert_id)
        assert (refused["type"], refused["code"]) == ("error", "not_found"), refused
    assert (await alice.request("alert.cancel", alert_id=alert_id))["type"] == "ack"
    for client in (supervisor, alice, bea):
        await client.close()


async def test_a_crew_sees_the_officers_position_only_while_assigned_to_her_alert(
    server: RunningServer,
) -> None:
    supervisor = await server.supervisor()
    crew_spot = north_of(CENTRE, 200)
    crew = await server.crew(CrewMode.FOOT, crew_spot)
    officer = await server.officer()
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    offer = await crew.offer()

    async def crew_sees_officer_move_to(lat: float, *, open_alert: bool = True) -> bool:
        await officer.position(lat, CENTRE[1])
        if open_alert:  # with none open (and no deployment live) nobody gets it
            await supervisor.wait_for(officer_at(lat))
        # Positions fan out to the supervisor and to crews in one step, so a copy for the
        # crew is queued before the ack it gets below: after that ack, it has arrived or never.
        await crew.position(*crew_spot)
        return any(officer_at(lat)(f) for f in crew.frames)

    assert not await crew_sees_officer_move_to(52.0570)  # offered, not yet accepted

    assert (await crew.request("offer.accept", offer_id=offer["id"]))["type"] == "ack"
    await supervisor.wait_for(alert_in(alert_id, "assigned"))
    assert await crew_sees_officer_move_to(52.0571)
    relayed = await crew.wait_for(officer_at(52.0571))
    assert relayed["alert_id"] == alert_id

    resolved = await crew.request(
        "assignment.status", alert_id=alert_id, status="resolved", outcome="words_of_advice"
    )
    assert resolved["type"] == "ack", resolved
    await supervisor.wait_for(alert_in(alert_id, "resolved"))
    assert not await crew_sees_officer_move_to(52.0572, open_alert=False)
    assert not any(officer_at(52.0572)(f) for f in supervisor.frames)
    for client in (supervisor, crew, officer):
        await client.close()


async def test_supervisors_see_where_an_alert_was_raised_tagged_with_it(
    server: RunningServer,
) -> None:
    supervisor = await server.supervisor()
    officer = await server.officer()
    alert_id = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
    seen = await supervisor.wait_for(lambda f: f["type"] == "position")
    assert (seen["role"], seen["alert_id"]) == ("officer", alert_id)
    assert seen["lat"] == CENTRE[0]
    late = await server.supervisor()  # a snapshot tags her position the same way
    snapped = [p for p in late.frames[0]["positions"] if p["role"] == "officer"]
    assert [p["alert_id"] for p in snapped] == [alert_id]


async def test_who_am_i(server: RunningServer) -> None:
    crew = await server.crew(CrewMode.FOOT, CENTRE)
    async with httpx.AsyncClient(base_url=server.base) as http:
        me = (await http.get("/api/session", headers=bearer(crew.session["token"]))).json()
    assert me["role"] == "crew" and me["crew_id"] == crew.session["crew_id"]
    assert me["expires_at"] == crew.session["expires_at"] and me["expires_at"].endswith("Z")
    assert "token" not in me

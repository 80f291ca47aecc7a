"""Origin: a page of another site cannot use a signed-in browser's cookie. The websocket
upgrade and every POST, PUT, PATCH and DELETE that names a foreign Origin is refused
with 403 `origin_refused` before it is accepted, and changes nothing; the server's own
pages, configured origins and clients that send no Origin (bearer tokens) are served."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from dispatch.auth.sessions import COOKIE_NAME
from dispatch.config import AuthSettings
from schemas.common import Role
from tests.support import RunningServer, settings_for, start_server

EVIL = "https://evil.example"
# Supervisors sign in here with a password alone (a second factor is not what is tested).
NO_SECOND_FACTOR = (
    {"auth.supervisor_second_factor": False}
    if "supervisor_second_factor" in AuthSettings.model_fields
    else {}
)


@pytest.fixture
def server_settings() -> dict[str, Any]:
    return dict(NO_SECOND_FACTOR)


def own(server: RunningServer) -> str:
    return f"http://127.0.0.1:{server.port}"


def cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE_NAME}={token}"}


def refused(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["code"] == "origin_refused"
    assert "another site" in body["message"]
    assert "set-cookie" not in response.headers


async def ws_refusal(server: RunningServer, headers: dict[str, str], origin: str) -> Any:
    with pytest.raises(InvalidStatus) as caught:
        async with connect(
            server.ws_url, additional_headers=headers, origin=Origin(origin), open_timeout=30
        ):
            pass
    return caught.value.response


async def crews(server: RunningServer, token: str) -> set[str]:
    async with httpx.AsyncClient(base_url=server.base, headers=cookie(token)) as http:
        response = await http.get("/api/console/people")
    assert response.status_code == 200, response.text
    return {c["callsign"] for c in response.json()["crews"]}


async def test_a_foreign_page_cannot_open_the_websocket_with_a_cookie(
    server: RunningServer,
) -> None:
    token = (await server.sign_in(await server.add_user(Role.OFFICER)))["token"]

    for origin in (EVIL, "null", f"https://127.0.0.1:{server.port}", "http://127.0.0.1:1"):
        response = await ws_refusal(server, cookie(token), origin)
        assert response.status_code == 403
        body = json.loads(response.body)
        assert body["code"] == "origin_refused", body
        assert "another site" in body["message"]

    async with connect(
        server.ws_url, additional_headers=cookie(token), origin=Origin(own(server))
    ) as ws:
        await ws.send(json.dumps({"type": "sync", "id": "1", "last_seq": None}))
        assert json.loads(await ws.recv())["type"] == "snapshot"


async def test_a_foreign_json_post_with_a_cookie_is_refused_and_changes_nothing(
    server: RunningServer,
) -> None:
    token = (await server.sign_in(await server.add_user(Role.SUPERVISOR)))["token"]
    body = {"callsign": "EVIL-1", "mode": "car"}
    async with httpx.AsyncClient(base_url=server.base, headers=cookie(token)) as http:
        refused(await http.post("/api/console/crews", json=body, headers={"Origin": EVIL}))
        refused(
            await http.patch(
                "/api/console/crews/x", json={"mode": "bike"}, headers={"Origin": EVIL}
            )
        )
        # Her session is still there: a foreign page cannot sign her out either.
        refused(await http.delete("/api/session", headers={"Origin": EVIL}))
        assert (await http.get("/api/session")).status_code == 200
    assert "EVIL-1" not in await crews(server, token)

    async with httpx.AsyncClient(base_url=server.base, headers=cookie(token)) as http:
        ok = await http.post("/api/console/crews", json=body, headers={"Origin": own(server)})
    assert ok.status_code == 201, ok.text
    assert "EVIL-1" in await crews(server, token)


async def test_a_foreign_page_cannot_sign_in(server: RunningServer) -> None:
    username = await server.add_user(Role.OFFICER)
    sign_in = {"username": username, "password": "correct horse battery"}
    async with httpx.AsyncClient(base_url=server.base) as http:
        refused(await http.post("/api/session", json=sign_in, headers={"Origin": EVIL}))
        ok = await http.post("/api/session", json=sign_in, headers={"Origin": own(server)})
    assert ok.status_code == 200, ok.text
    assert COOKIE_NAME in ok.cookies


async def test_clients_without_origin_and_reads_are_served(server: RunningServer) -> None:
    token = (await server.sign_in(await server.add_user(Role.SUPERVISOR)))["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.base, headers=bearer) as http:
        created = await http.post("/api/console/crews", json={"callsign": "CLI-1", "mode": "foot"})
        assert created.status_code == 201, created.text
        # A GET changes nothing: a foreign Origin on it is not refused here.
        read = await http.get("/api/console/people", headers={"Origin": EVIL})
        assert read.status_code == 200
    client = await server.connect(await server.add_user(Role.OFFICER))  # bearer, no Origin
    await client.close()


async def test_configured_origins_are_allowed(sqlite_url: str) -> None:
    origins = {"server.allowed_origins": "https://console.example, http://10.0.0.5:8080"}
    settings = settings_for(sqlite_url, **origins, **NO_SECOND_FACTOR)
    server = await start_server(settings)
    try:
        token = (await server.sign_in(await server.add_user(Role.SUPERVISOR)))["token"]
        async with httpx.AsyncClient(base_url=server.base, headers=cookie(token)) as http:
            for i, origin in enumerate(("https://console.example", "http://10.0.0.5:8080")):
                response = await http.post(
                    "/api/console/crews",
                    json={"callsign": f"OK-{i}", "mode": "car"},
                    headers={"Origin": origin},
                )
                assert response.status_code == 201, response.text
            refused(
                await http.post(
                    "/api/console/crews",
                    json={"callsign": "NO-1", "mode": "car"},
                    headers={"Origin": "https://console.example:8443"},
                )
            )
        async with connect(
            server.ws_url,
            additional_headers=cookie(token),
            origin=Origin("https://console.example"),
        ):
            pass
        assert await crews(server, token) >= {"OK-0", "OK-1"}
        assert "NO-1" not in await crews(server, token)
    finally:
        await server.stop()

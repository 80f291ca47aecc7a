"""The role matrix's world: one real server, one signed-in user per role (and nobody),
the rows its cells act on, and the calls themselves (real httpx and websocket clients).

A cell is one identity doing one thing: a REST route, the websocket upgrade, or one
websocket message type. The table of who may do what is in test_role_matrix.py."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIWebSocketRoute, iter_route_contexts
from starlette.routing import Mount
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from schemas.common import CrewMode, Role
from tests.operations.support import operation_body
from tests.support import CENTRE, PASSWORD, Client, RunningServer

OFFICER, CREW, SUPERVISOR, AUDITOR, NOBODY = "officer", "crew", "supervisor", "auditor", "nobody"
IDENTITIES = (OFFICER, CREW, SUPERVISOR, AUDITOR, NOBODY)
POSITION = {"lat": CENTRE[0], "lon": CENTRE[1], "accuracy": 8.0}
WAIT_S = 60  # generous: a busy machine is slow, and an answer always comes


def new_id() -> str:
    """An id no row has: an allowed identity gets `not_found` for it, never `forbidden`."""
    return uuid.uuid4().hex


def route_keys(app: FastAPI) -> set[str]:
    """Every way in that the app serves, as "METHOD /path": the REST routes, "WS /ws",
    and a mount as "GET /prefix/{path}". Routes included from routers are walked too."""
    keys: set[str] = set()
    for route in iter_route_contexts(app.routes):
        original, path = route.original_route, route.path_format
        if isinstance(original, APIWebSocketRoute):
            keys.add(f"WS {path}")
        elif isinstance(original, Mount):
            keys.add(f"GET {path}")
        elif route.methods:
            keys.update(f"{method} {path}" for method in route.methods)
        else:  # a kind of route the matrix does not know how to call: it needs a row
            keys.add(f"{type(original).__name__} {path}")
    return keys


@dataclass(frozen=True)
class Shared:
    """Rows that refused cells name (they must change nothing) and reads act on."""

    operation_id: str  # a draft with a generated plan
    place_id: str
    deployment_id: str
    alert_id: str  # raised by the helper officer
    user_id: str  # an officer's account
    supervisor_id: str  # another supervisor's account
    crew_id: str


@dataclass
class Matrix:
    server: RunningServer
    admin: httpx.AsyncClient  # a supervisor of its own, who makes the rows cells need
    helper: Client  # an officer's socket that raises the alerts supervisors act on
    usernames: dict[str, str]  # identity -> username (nobody has none)
    tokens: dict[str, str]
    ids: dict[str, str]  # "officer" -> her user id, "crew" -> the crew's id
    signin_target: str  # a username whose password any caller may present
    shared: Shared | None = None
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def name(self, prefix: str) -> str:
        return f"{prefix}-{next(self._names)}"

    def headers(self, who: str, token: str | None = None) -> dict[str, str]:
        token = token or self.tokens.get(who)
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def request(
        self, who: str, method: str, path: str, *, token: str | None = None, **kw: Any
    ) -> httpx.Response:
        async with httpx.AsyncClient(
            base_url=self.server.base, headers=self.headers(who, token), timeout=WAIT_S
        ) as http:
            return await http.request(method, path, **kw)

    async def admin_call(self, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        response = await self.admin.request(method, path, **kw)
        assert response.status_code == expect, (method, path, response.status_code, response.text)
        return response.json()

    async def fresh_token(self, who: str) -> str | None:
        """A new sign-in of the identity's account (to be signed out by the cell)."""
        if who == NOBODY:
            return None
        token: str = (await self.server.sign_in(self.usernames[who]))["token"]
        return token

    # -- rows ------------------------------------------------------------------------------

    async def new_operation(self, *, generate: bool = False) -> dict[str, Any]:
        """A draft operation of two places for the officer and the crew, a month ahead;
        with `generate`, its plan of two deployments (answers the plan)."""
        start = (datetime.now(UTC) + timedelta(days=30)).replace(minute=0, second=0)
        body = operation_body(
            self.name("Matrix"),
            start,
            days=3,
            officers=[self.ids[OFFICER]],
            crews=[self.ids[CREW]],
            count=2,
            n_places=2,
        )
        op: dict[str, Any] = await self.admin_call("POST", "/api/operations", 201, json=body)
        if not generate:
            return op
        plan: dict[str, Any] = await self.admin_call("POST", f"/api/operations/{op['id']}/generate")
        return plan

    async def new_user(self, role: Role) -> str:
        body = {"username": self.name(f"matrix-{role.value}"), "role": role, "password": PASSWORD}
        created = await self.admin_call("POST", "/api/console/users", 201, json=body)
        user_id: str = created["user"]["id"]
        return user_id

    async def new_crew(self) -> str:
        body = {"callsign": self.name("MX"), "mode": CrewMode.FOOT}
        crew_id: str = (await self.admin_call("POST", "/api/console/crews", 201, json=body))["id"]
        return crew_id

    async def open_alert(self) -> str:
        """A new open alert (no crew is free, so it waits for the supervisors)."""
        ack = await self.helper.raise_alert(CENTRE, timeout=WAIT_S)
        assert ack["type"] == "ack", ack
        alert_id: str = ack["result"]["alert_id"]
        return alert_id

    async def share_rows(self) -> None:
        plan = await self.new_operation(generate=True)
        operation = plan["operation"]
        self.shared = Shared(
            operation_id=operation["id"],
            place_id=operation["places"][0]["id"],
            deployment_id=plan["deployments"][0]["id"],
            alert_id=await self.open_alert(),
            user_id=await self.new_user(Role.OFFICER),
            supervisor_id=await self.new_user(Role.SUPERVISOR),
            crew_id=await self.new_crew(),
        )

    @property
    def app(self) -> FastAPI:
        """The app the running server serves (not one made again for the test)."""
        app = self.server.server.config.app
        assert isinstance(app, FastAPI)
        return app

    @property
    def rows(self) -> Shared:
        assert self.shared is not None
        return self.shared

    # -- sockets ---------------------------------------------------------------------------

    async def socket(self, who: str) -> Client | tuple[int, str]:
        """The identity's websocket, synced; or the refused upgrade's status and code."""
        try:
            ws = await connect(
                self.server.ws_url,
                additional_headers=self.headers(who),
                max_size=2**22,
                open_timeout=WAIT_S,
            )
        except InvalidStatus as refused:
            body = json.loads(refused.response.body or b"{}")
            return refused.response.status_code, str(body.get("code"))
        client = Client(ws, {"token": self.tokens.get(who), "identity": who})
        ack = await client.request("sync", timeout=WAIT_S, last_seq=None)
        assert ack["type"] == "ack", ack
        return client


async def own_alert(client: Client) -> str:
    """An alert the officer behind `client` raises herself."""
    ack = await client.raise_alert(CENTRE, timeout=WAIT_S)
    assert ack["type"] == "ack", ack
    alert_id: str = ack["result"]["alert_id"]
    return alert_id


async def build_matrix(server: RunningServer) -> Matrix:
    """One account per role, signed in once; a crew for the crew member; the rows."""
    callsign = await server.add_crew(CrewMode.FOOT)
    usernames = {
        OFFICER: await server.add_user(Role.OFFICER),
        CREW: await server.add_user(Role.CREW, crew=callsign),
        SUPERVISOR: await server.add_user(Role.SUPERVISOR),
        AUDITOR: await server.add_user(Role.AUDITOR),
    }
    sessions = {who: await server.sign_in(name) for who, name in usernames.items()}
    admin_token = (await server.sign_in(await server.add_user(Role.SUPERVISOR)))["token"]
    matrix = Matrix(
        server=server,
        admin=httpx.AsyncClient(
            base_url=server.base,
            headers={"Authorization": f"Bearer {admin_token}"},
            timeout=WAIT_S,
        ),
        helper=await server.connect(await server.add_user(Role.OFFICER)),
        usernames=usernames,
        tokens={who: s["token"] for who, s in sessions.items()},
        ids={OFFICER: sessions[OFFICER]["user_id"], CREW: sessions[CREW]["crew_id"]},
        signin_target=await server.add_user(Role.OFFICER),
    )
    await matrix.share_rows()
    return matrix


async def close_matrix(matrix: Matrix) -> None:
    await matrix.helper.close()
    await matrix.admin.aclose()

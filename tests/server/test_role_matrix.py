"""Who may do what, cell by cell: every REST route, the websocket upgrade and every
websocket message type, for an officer, a crew member, a supervisor, an auditor and
nobody (no token), called for real against one running server.

ROUTES and MESSAGES below are the declared table. A route the app serves, or a message
type the server handles, without a row fails `test_every_route_has_a_row` or
`test_every_message_type_has_a_row`: a new way in must say who may use it.

A refused cell must get 401 `auth_missing` (nobody), 403 `forbidden` (a signed-in role),
or over the websocket the `forbidden` error, or a refused upgrade (auditor, nobody). An
allowed cell is called with a well-formed body on real rows and must get its declared
answer, never a refusal (the one 401 allowed is the second sign-in step's
`auth_expired` for an unknown challenge: see `second_step`). A cell that is known to let
a role in where it must not is listed in VIOLATIONS: it runs as a strict xfail, so the
fix shows."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from dispatch.socket_api.protocol import HANDLERS
from schemas.client import CLIENT_MESSAGES
from schemas.common import Role
from tests.operations.support import operation_body
from tests.public_reports.console_support import Made, insert_reports
from tests.server.matrix_support import (
    AUDITOR,
    CREW,
    IDENTITIES,
    NOBODY,
    OFFICER,
    POSITION,
    SUPERVISOR,
    WAIT_S,
    Matrix,
    build_matrix,
    close_matrix,
    new_id,
    own_alert,
    route_keys,
)
from tests.support import CENTRE, PASSWORD, Client, fresh_database, settings_for, start_server

pytestmark = pytest.mark.asyncio(loop_scope="module")

EVERYONE = frozenset(IDENTITIES)
SIGNED_IN = frozenset({OFFICER, CREW, SUPERVISOR, AUDITOR})
LIVE = frozenset({OFFICER, CREW, SUPERVISOR})  # the roles that have a websocket
SUPERVISORS = frozenset({SUPERVISOR})
AUDITORS = frozenset({AUDITOR})
REFUSED_UPGRADE = {AUDITOR: (403, "forbidden"), NOBODY: (401, "auth_missing")}


# -- REST: the declared table -----------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One concrete request for a cell."""

    path: dict[str, str] = field(default_factory=dict)  # the route's path parameters
    json: Any = None
    content: str | None = None
    params: dict[str, str] | None = None
    token: str | None = None  # instead of the identity's own (None: the identity's)
    signed_out: bool = False  # send no token at all (the cell signs a fresh one out)


Prepare = Callable[[Matrix, str, bool], Awaitable[Call]]  # (matrix, who, allowed)


async def plain(m: Matrix, who: str, allowed: bool) -> Call:
    return Call()


@dataclass(frozen=True)
class Route:
    key: str  # "METHOD /path" as the app names it (see matrix_support.route_keys)
    allowed: frozenset[str]
    prepare: Prepare = plain
    ok: int = 200  # what an allowed identity gets
    ok_code: str | None = None  # and the error code, for an allowed answer that is one

    def __post_init__(self) -> None:
        refusal = self.ok in (401, 403) and self.ok_code in (None, "auth_missing", "forbidden")
        assert not refusal, f"{self.key}: an allowed answer cannot be a refusal"


def shared_operation(m: Matrix) -> dict[str, str]:
    return {"key": m.rows.operation_id}


def fixed(**path: str) -> Prepare:
    async def prepare(m: Matrix, who: str, allowed: bool) -> Call:
        return Call(path=dict(path))

    return prepare


async def on_operation(m: Matrix, who: str, allowed: bool) -> Call:
    return Call(path=shared_operation(m))


async def alert_story(m: Matrix, who: str, allowed: bool) -> Call:
    return Call(path={"alert_id": m.rows.alert_id})


def around_now() -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "since": (now - timedelta(days=1)).isoformat(),
        "until": (now + timedelta(days=1)).isoformat(),
    }


async def report_range(m: Matrix, who: str, allowed: bool) -> Call:
    return Call(params=around_now())


async def near_centre(m: Matrix, who: str, allowed: bool) -> Call:
    return Call(params={"lat": str(POSITION["lat"]), "lon": str(POSITION["lon"])})


def fixed_query(**params: str) -> Prepare:
    async def prepare(m: Matrix, who: str, allowed: bool) -> Call:
        return Call(params=dict(params))

    return prepare


async def sign_in(m: Matrix, who: str, allowed: bool) -> Call:
    # Anyone may sign in; the caller's own token (if any) is sent and plays no part.
    return Call(json={"username": m.signin_target, "password": PASSWORD})


async def second_step(m: Matrix, who: str, allowed: bool) -> Call:
    # Supervisors sign in with a password alone here (tests/support.py settings_for), so
    # no real challenge exists: an unknown one is answered 401 auth_expired, to anyone.
    # The cell shows the step is open and asks nothing of the caller's token.
    return Call(json={"challenge": new_id(), "code": "123456"})


async def sign_out(m: Matrix, who: str, allowed: bool) -> Call:
    # A fresh sign-in of the identity's account, so the shared token lives on.
    token = await m.fresh_token(who)
    return Call(token=token, signed_out=token is None)


async def new_operation_body(m: Matrix, who: str, allowed: bool) -> Call:
    start = (datetime.now(UTC) + timedelta(days=30)).replace(minute=0, second=0)
    body = operation_body(
        m.name("Matrix new"),
        start,
        days=3,
        officers=[m.ids[OFFICER]],
        crews=[m.ids[CREW]],
        count=2,
        n_places=2,
    )
    return Call(json=body)


def on_fresh_operation(
    *, generate: bool = False, deployment: bool = False, place: bool = False, **body: Any
) -> Prepare:
    """A call on a new operation of its own for an allowed identity (the call changes
    it); on the shared one for a refused identity (which must change nothing)."""

    async def prepare(m: Matrix, who: str, allowed: bool) -> Call:
        if not allowed:
            path = shared_operation(m)
            if deployment:
                path["deployment_id"] = m.rows.deployment_id
            if place:
                path["place_id"] = m.rows.place_id
            return Call(path=path, **body)
        made = await m.new_operation(generate=generate or deployment)
        op = made["operation"] if "operation" in made else made
        path = {"key": op["id"]}
        if deployment:
            path["deployment_id"] = made["deployments"][0]["id"]
        if place:
            path["place_id"] = op["places"][0]["id"]
        return Call(path=path, **body)

    return prepare


def on_fresh_user(role: Role, **body: Any) -> Prepare:
    async def prepare(m: Matrix, who: str, allowed: bool) -> Call:
        if allowed:
            user_id = await m.new_user(role)
        else:
            user_id = m.rows.supervisor_id if role == Role.SUPERVISOR else m.rows.user_id
        return Call(path={"user_id": user_id}, **body)

    return prepare


async def on_fresh_crew(m: Matrix, who: str, allowed: bool) -> Call:
    crew_id = await m.new_crew() if allowed else m.rows.crew_id
    return Call(path={"crew_id": crew_id}, json={"mode": "bike"})


async def new_user_body(m: Matrix, who: str, allowed: bool) -> Call:
    body = {"username": m.name("matrix-new"), "role": "officer", "password": PASSWORD}
    return Call(json=body)


async def new_crew_body(m: Matrix, who: str, allowed: bool) -> Call:
    return Call(json={"callsign": m.name("MXN"), "mode": "car"})


async def public_report(m: Matrix) -> str:
    """A new report from the public, written straight into the server's database."""
    made = Made(CENTRE, datetime.now(UTC) - timedelta(hours=2), contact="Matrix contact")
    (report_id,) = await insert_reports(m.server.settings.database.url, [made])
    return report_id


async def a_report(m: Matrix, who: str, allowed: bool) -> Call:
    return Call(path={"report_id": await public_report(m)})


async def mark_report(m: Matrix, who: str, allowed: bool) -> Call:
    return Call(path={"report_id": await public_report(m)}, json={"status": "spam"})


async def reports_risk(m: Matrix, who: str, allowed: bool) -> Call:
    return Call(params={"operation": m.rows.operation_id})


async def place_weights(m: Matrix, who: str, allowed: bool) -> Call:
    """New weights for a place of a fresh operation (allowed), or the shared one's."""
    if allowed:
        op = await m.new_operation()
        key, place_id = op["id"], op["places"][0]["id"]
    else:
        key, place_id = m.rows.operation_id, m.rows.place_id
    return Call(path={"key": key}, json={"places": [{"id": place_id, "risk": 3.5}]})


EXTRA_PLACE = {"name": "Matrix extra", "lat": 52.0571, "lon": -2.7150, "radius_m": 120.0}
PLACES_GEOJSON = (
    '{"type": "FeatureCollection", "features": [{"type": "Feature", '
    '"geometry": {"type": "Point", "coordinates": [-2.7150, 52.0571]}, '
    '"properties": {"name": "Matrix GeoJSON", "risk": 2}}]}'
)
PLACES_CSV = "name,lat,lon,radius_m,risk\nMatrix CSV,52.0571,-2.7150,150,1\n"
STATIC_FILES = {
    "/pages/static/{path}": "officer.js",
    "/console/static/{path}": "console.js",
    "/static/leaflet/{path}": "leaflet.js",
}


def static(prefix: str) -> Route:
    return Route(f"GET {prefix}", EVERYONE, fixed(path=STATIC_FILES[prefix]))


OPS = "/api/operations"
CONSOLE = "/api/console"

ROUTES: list[Route] = [
    # Open: what a phone needs before it signs in, and the balancer's probes.
    Route("GET /", EVERYONE),
    Route("GET /healthz", EVERYONE),
    Route("GET /readyz", EVERYONE),
    Route("GET /metrics", EVERYONE),  # open to metrics.allow, which has the loopback
    Route("GET /officer", EVERYONE),
    Route("GET /crew", EVERYONE),
    Route("GET /console", EVERYONE),
    Route("GET /officer.webmanifest", EVERYONE),
    Route("GET /pages/icon-{size}.png", EVERYONE, fixed(size="192")),
    Route("GET /officer-sw.js", EVERYONE),
    # The public's report page and its API: no account (a body-less report is refused
    # for its body, whoever sends it: the same answer with or without a session).
    Route("GET /report", EVERYONE),
    Route("GET /api/public/challenge", EVERYONE),
    Route("POST /api/public/reports", EVERYONE, ok=400, ok_code="bad_json"),
    static("/pages/static/{path}"),
    static("/console/static/{path}"),
    static("/static/leaflet/{path}"),
    Route("POST /api/session", EVERYONE, sign_in),
    Route("POST /api/session/code", EVERYONE, second_step, ok=401, ok_code="auth_expired"),
    Route("DELETE /api/session", EVERYONE, sign_out, ok=204),
    # Any signed-in role: who am I.
    Route("GET /api/session", SIGNED_IN),
    Route("GET /api/pages/me", SIGNED_IN),
    # Map tiles of the force's archive (none in the tests: not_found, to a signed-in role).
    Route("GET /tiles/{z}/{x}/{y}", SIGNED_IN, fixed(z="0", x="0", y="0"), 404, "not_found"),
    # The live view: officers, crews and supervisors (the messages are below).
    Route("WS /ws", LIVE),
    # Supervisors: the board, operations and plans, the incident log, reports, people.
    Route(f"GET {CONSOLE}/board", SUPERVISORS),
    Route(f"POST {OPS}", SUPERVISORS, new_operation_body, ok=201),
    Route(f"GET {OPS}", SUPERVISORS),
    Route(f"GET {OPS}/defaults", SUPERVISORS),
    Route(f"GET {OPS}/{{key}}", SUPERVISORS, on_operation),
    Route(f"PATCH {OPS}/{{key}}", SUPERVISORS, on_fresh_operation(json={"area": "Matrix"})),
    Route(
        f"PUT {OPS}/{{key}}/checkins",
        SUPERVISORS,
        on_fresh_operation(json={"checkin_interval_min": 20}),
    ),
    Route(
        f"POST {OPS}/{{key}}/places",
        SUPERVISORS,
        on_fresh_operation(json={"places": [EXTRA_PLACE]}),
    ),
    Route(
        f"POST {OPS}/{{key}}/places.geojson",
        SUPERVISORS,
        on_fresh_operation(content=PLACES_GEOJSON),
    ),
    Route(f"GET {OPS}/{{key}}/places.geojson", SUPERVISORS, on_operation),
    Route(f"POST {OPS}/{{key}}/places.csv", SUPERVISORS, on_fresh_operation(content=PLACES_CSV)),
    Route(f"GET {OPS}/{{key}}/places.csv", SUPERVISORS, on_operation),
    Route(f"DELETE {OPS}/{{key}}/places/{{place_id}}", SUPERVISORS, on_fresh_operation(place=True)),
    Route(f"POST {OPS}/{{key}}/generate", SUPERVISORS, on_fresh_operation()),
    Route(f"GET {OPS}/{{key}}/plan", SUPERVISORS, on_operation),
    Route(f"GET {OPS}/{{key}}/plan.ics", SUPERVISORS, on_operation),
    Route(f"GET {OPS}/{{key}}/plan.csv", SUPERVISORS, on_operation),
    Route(
        f"PATCH {OPS}/{{key}}/deployments/{{deployment_id}}",
        SUPERVISORS,
        on_fresh_operation(deployment=True, json={"pinned": True}),
    ),
    Route(
        f"DELETE {OPS}/{{key}}/deployments/{{deployment_id}}",
        SUPERVISORS,
        on_fresh_operation(deployment=True),
    ),
    Route(f"POST {OPS}/{{key}}/publish", SUPERVISORS, on_fresh_operation(generate=True)),
    Route(f"POST {OPS}/{{key}}/cancel", SUPERVISORS, on_fresh_operation()),
    Route(f"GET {CONSOLE}/alerts", SUPERVISORS),
    Route(f"GET {CONSOLE}/alerts/{{alert_id}}", SUPERVISORS, alert_story),
    Route(f"GET {CONSOLE}/alerts/{{alert_id}}.cap", SUPERVISORS, alert_story),
    Route(f"GET {CONSOLE}/places/near", SUPERVISORS, near_centre),
    Route(f"GET {CONSOLE}/places/search", SUPERVISORS, fixed_query(q="Place")),
    Route(f"GET {CONSOLE}/report", SUPERVISORS, report_range),
    Route(f"GET {CONSOLE}/report.csv", SUPERVISORS, report_range),
    Route(f"GET {CONSOLE}/operations/{{key}}/report", SUPERVISORS, on_operation),
    Route(f"GET {CONSOLE}/operations/{{key}}/report.csv", SUPERVISORS, on_operation),
    Route(f"GET {CONSOLE}/false-alarms", SUPERVISORS),
    Route(f"GET {CONSOLE}/people", SUPERVISORS),
    Route(f"POST {CONSOLE}/users", SUPERVISORS, new_user_body, ok=201),
    Route(
        f"PATCH {CONSOLE}/users/{{user_id}}",
        SUPERVISORS,
        on_fresh_user(Role.OFFICER, json={"display_name": "Renamed by the matrix"}),
    ),
    Route(f"POST {CONSOLE}/users/{{user_id}}/password", SUPERVISORS, on_fresh_user(Role.OFFICER)),
    Route(f"POST {CONSOLE}/users/{{user_id}}/unlock", SUPERVISORS, on_fresh_user(Role.OFFICER)),
    Route(
        f"POST {CONSOLE}/users/{{user_id}}/second-factor/reset",
        SUPERVISORS,
        on_fresh_user(Role.SUPERVISOR),
    ),
    Route(f"POST {CONSOLE}/crews", SUPERVISORS, new_crew_body, ok=201),
    Route(f"PATCH {CONSOLE}/crews/{{crew_id}}", SUPERVISORS, on_fresh_crew),
    # Supervisors: the public's reports (issue 16), and risk derived from them.
    Route(f"GET {CONSOLE}/public-reports", SUPERVISORS),
    Route(f"GET {CONSOLE}/public-reports/heat", SUPERVISORS),
    Route(f"GET {CONSOLE}/public-reports/risk", SUPERVISORS, reports_risk),
    Route(f"GET {CONSOLE}/public-reports.csv", SUPERVISORS),
    Route(f"GET {CONSOLE}/public-reports.geojson", SUPERVISORS),
    Route(f"GET {CONSOLE}/public-reports/{{report_id}}", SUPERVISORS, a_report),
    Route(f"POST {CONSOLE}/public-reports/{{report_id}}/status", SUPERVISORS, mark_report),
    Route(f"PATCH {OPS}/{{key}}/places", SUPERVISORS, place_weights),
    # Auditors: the audit trail, and nothing else.
    Route(f"GET {CONSOLE}/audit", AUDITORS),
    Route(f"GET {CONSOLE}/audit.csv", AUDITORS),
]


# -- websocket messages: the declared table ---------------------------------------------

Body = Callable[[Matrix, Client, bool], Awaitable[dict[str, Any]]]  # (matrix, socket, allowed)


@dataclass(frozen=True)
class Message:
    type: str
    allowed: frozenset[str]
    body: Body
    ok: str = "ack"  # what an allowed identity gets: "ack", or an error code


def constant(**body: Any) -> Body:
    async def make(m: Matrix, c: Client, allowed: bool) -> dict[str, Any]:
        return dict(body)

    return make


async def raise_body(m: Matrix, c: Client, allowed: bool) -> dict[str, Any]:
    return {"alert_id": new_id(), "position": POSITION}


def her_alert(**body: Any) -> Body:
    """The officer's own alert (raised first) for an allowed cell; any id otherwise."""

    async def make(m: Matrix, c: Client, allowed: bool) -> dict[str, Any]:
        return {"alert_id": await own_alert(c) if allowed else new_id(), **body}

    return make


def an_open_alert(**body: Any) -> Body:
    """An open alert of another officer's (raised first) for an allowed cell."""

    async def make(m: Matrix, c: Client, allowed: bool) -> dict[str, Any]:
        return {"alert_id": await m.open_alert() if allowed else new_id(), **body}

    return make


async def cancel_body(m: Matrix, c: Client, allowed: bool) -> dict[str, Any]:
    """An officer cancels her own alert; a supervisor another's, with the reason."""
    if not allowed:
        alert_id = new_id()
    elif c.session["identity"] == OFFICER:
        alert_id = await own_alert(c)
    else:
        alert_id = await m.open_alert()
    return {"alert_id": alert_id, "reason": "Matrix: a false alarm"}


async def assign_body(m: Matrix, c: Client, allowed: bool) -> dict[str, Any]:
    alert_id, crew_id = (await m.open_alert(), await m.new_crew()) if allowed else (new_id(),) * 2
    return {"alert_id": alert_id, "crew_id": crew_id, "reason": "Matrix: reached by radio"}


async def crew_help_body() -> dict[str, Any]:
    return {"alert_id": new_id(), "position": POSITION}


async def escort_body() -> dict[str, Any]:
    return {"alert_id": new_id(), "duration_s": 600, "label": "Matrix"}


def unknown_offer(**body: Any) -> Body:
    """An offer id no row has: an allowed identity is told not_found, not forbidden."""

    async def make(m: Matrix, c: Client, allowed: bool) -> dict[str, Any]:
        return {"offer_id": new_id(), **body}

    return make


OFFICERS, CREWS = frozenset({OFFICER}), frozenset({CREW})

MESSAGES: list[Message] = [
    Message("sync", LIVE, constant(last_seq=None)),
    Message("position", OFFICERS | CREWS, constant(position=POSITION)),
    Message("alert.raise", OFFICERS, raise_body),
    Message("alert.detail", OFFICERS, her_alert(category="verbal", note="Matrix")),
    Message("alert.escalate", OFFICERS, her_alert()),
    Message("alert.cancel", OFFICERS | SUPERVISORS, cancel_body),
    Message("duty", CREWS, constant(on=False)),
    Message("offer.accept", CREWS, unknown_offer(), ok="not_found"),
    Message("offer.decline", CREWS, unknown_offer(reason="Matrix"), ok="not_found"),
    Message(
        "assignment.status",
        CREWS,
        an_open_alert(status="en_route"),  # not hers: not_found
        ok="not_found",
    ),
    Message("alert.take", SUPERVISORS, an_open_alert()),
    Message("alert.assign", SUPERVISORS, assign_body),
    Message(
        "offer.withdraw",
        SUPERVISORS,
        unknown_offer(reason="Matrix: withdrawn"),
        ok="not_found",
    ),
    Message(
        "alert.close",
        SUPERVISORS,
        an_open_alert(outcome="other", reason="Matrix: closed by radio"),
    ),
    Message("alert.note", SUPERVISORS, an_open_alert(text="Matrix: a note")),
    # Welfare: no live deployment to check in on; her escort timer (started, stopped).
    Message("checkin", OFFICERS, constant(), ok="illegal_transition"),
    Message("welfare.state", OFFICERS, constant()),
    Message("escort.start", OFFICERS, lambda m, c, allowed: escort_body()),
    Message("escort.stop", OFFICERS, constant(alert_id="matrix-escort-none")),
    # Incidents: a message on an alert nobody has (not_found for the allowed, a crew not
    # on it alike), her vibration code, a crew's call for help, marking a drill.
    Message(
        "message.send",
        SUPERVISORS | CREWS,
        lambda m, c, allowed: constant(alert_id=new_id(), text="Matrix")(m, c, allowed),
        ok="not_found",
    ),
    Message("officer.signal", SUPERVISORS, an_open_alert(code="help_close")),
    Message("crew.help", CREWS, lambda m, c, allowed: crew_help_body()),
    Message("alert.exercise", SUPERVISORS, an_open_alert(exercise=True, reason="Matrix: drill")),
]

# Cells known to let a role in where it must not: (route key or message type, identity)
# -> what happens. Each runs as a strict xfail until the product is fixed.
VIOLATIONS: dict[tuple[str, str], str] = {}


# -- the server -------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def matrix(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Matrix]:
    """One server on SQLite for every cell, with one signed-in account per role."""
    async with fresh_database("sqlite", tmp_path_factory.mktemp("matrix")) as url:
        server = await start_server(settings_for(url))
        try:
            built = await build_matrix(server)
            try:
                yield built
            finally:
                await close_matrix(built)
        finally:
            await server.stop()


def cells(rows: list[Any], key: Callable[[Any], str]) -> list[Any]:
    params = []
    for row in rows:
        for who in IDENTITIES:
            known = VIOLATIONS.get((key(row), who))
            marks = [pytest.mark.xfail(strict=True, reason=known)] if known else []
            params.append(pytest.param(row, who, id=f"{who}: {key(row)}", marks=marks))
    return params


# -- every way in has a row -------------------------------------------------------------


async def test_every_route_has_a_row(matrix: Matrix) -> None:
    served = route_keys(matrix.app)
    declared = {r.key for r in ROUTES}
    missing, stale = sorted(served - declared), sorted(declared - served)
    assert not missing, (
        "The app serves routes that have no row in the role matrix: add one to ROUTES in "
        f"tests/server/test_role_matrix.py saying who may call each: {missing}"
    )
    assert not stale, f"ROUTES has rows for routes the app does not serve: {stale}"
    assert len(declared) == len(ROUTES), "a route has two rows"


async def test_every_message_type_has_a_row() -> None:
    declared = [m.type for m in MESSAGES]
    assert len(set(declared)) == len(declared), "a message type has two rows"
    for name, known in (("HANDLERS", set(HANDLERS)), ("CLIENT_MESSAGES", set(CLIENT_MESSAGES))):
        missing, stale = sorted(known - set(declared)), sorted(set(declared) - known)
        assert not missing, (
            f"{name} has message types without a row in the role matrix: add one to MESSAGES "
            f"in tests/server/test_role_matrix.py saying who may send each: {missing}"
        )
        assert not stale, f"MESSAGES has rows for types {name} does not know: {stale}"


# -- the cells --------------------------------------------------------------------------


def refusal(who: str, status: int, body: Any) -> str | None:
    """What is wrong with this answer to a refused identity (None: a proper refusal)."""
    want = (401, "auth_missing") if who == NOBODY else (403, "forbidden")
    code = body.get("code") if isinstance(body, dict) else None
    return None if (status, code) == want else f"wanted {want}, got {status}: {body}"


@pytest.mark.parametrize(("row", "who"), cells(ROUTES, lambda r: r.key))
async def test_route(matrix: Matrix, row: Route, who: str) -> None:
    allowed = who in row.allowed
    if row.key.startswith("WS "):
        await upgrade_cell(matrix, row, who)
        return
    method, template = row.key.split(" ", 1)
    call = await row.prepare(matrix, who, allowed)
    path = template.format(**call.path)
    kw: dict[str, Any] = {}
    if call.json is not None:
        kw["json"] = call.json
    if call.content is not None:
        kw["content"] = call.content
    if call.params is not None:
        kw["params"] = call.params
    caller = NOBODY if call.signed_out else who
    response = await matrix.request(caller, method, path, token=call.token, **kw)
    body = answer_body(response.headers.get("content-type", ""), response.content)
    where = f"{who} {method} {path}"
    if not allowed:
        wrong = refusal(who, response.status_code, body)
        assert wrong is None, f"{where} must be refused: {wrong}"
        return
    assert response.status_code == row.ok, (
        f"{where}: wanted {row.ok}, got {response.status_code}: {body}"
    )
    if row.ok_code is not None:
        assert isinstance(body, dict) and body.get("code") == row.ok_code, (where, body)


def answer_body(content_type: str, raw: bytes) -> Any:
    if "json" in content_type and raw:
        return json.loads(raw)
    return raw[:200]


async def upgrade_cell(matrix: Matrix, row: Route, who: str) -> None:
    socket = await matrix.socket(who)
    if isinstance(socket, Client):
        await socket.close()
        assert who in row.allowed, f"{who}: the websocket upgrade must be refused"
        return
    assert who not in row.allowed, f"{who}: the websocket upgrade was refused: {socket}"
    assert socket == REFUSED_UPGRADE.get(who), f"{who}: refused with {socket}"


@pytest.mark.parametrize(("row", "who"), cells(MESSAGES, lambda r: r.type))
async def test_message(matrix: Matrix, row: Message, who: str) -> None:
    allowed = who in row.allowed
    socket = await matrix.socket(who)
    if not isinstance(socket, Client):
        # No socket at all: the cell is refused at the upgrade.
        assert not allowed, f"{who} may send {row.type}, but the upgrade was refused: {socket}"
        assert socket == REFUSED_UPGRADE.get(who), f"{who}: refused with {socket}"
        return
    try:
        body = await row.body(matrix, socket, allowed)
        answer = await socket.request(row.type, timeout=WAIT_S, **body)
    finally:
        await socket.close()
    where = f"{who} sends {row.type}"
    if not allowed:
        assert (answer["type"], answer.get("code")) == ("error", "forbidden"), (
            f"{where}: must be refused with forbidden, got {answer}"
        )
        return
    got = "ack" if answer["type"] == "ack" else answer.get("code")
    assert got == row.ok, f"{where}: wanted {row.ok}, got {answer}"

"""What every request meets first: the Origin check, and under https HSTS and Secure
cookies.

A browser names the page that sent a request in its Origin header. A websocket upgrade,
or a POST, PUT, PATCH or DELETE, that names a page of another site is refused before it
reaches a route (HTTP 403, `origin_refused`), whatever cookie it carries: a page on
another site cannot act with an officer's session. Requests without Origin (the CLI,
scripts and tests with a bearer token) pass. Allowed: the server's own origin (the
scheme the request came by, directly or through a trusted proxy, and its Host), and
`server.allowed_origins`.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from dispatch.config import ServerSettings
from schemas.errors import ErrorCode

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_PORTS = {"http": 80, "https": 443}
REFUSED_MESSAGE = (
    "This request came from a page of another site (its Origin is not allowed here): "
    "open the page from this server."
)
Origin = tuple[str, str, int]


def parse_origin(text: str) -> Origin | None:
    """(scheme, host, port) of `scheme://host[:port]`, None for anything else ("null")."""
    try:
        parts = urlsplit(text.strip())
        scheme, host = parts.scheme.lower(), parts.hostname
        port = parts.port
    except ValueError:
        return None
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host.lower(), port or DEFAULT_PORTS[scheme]


def own_origin(scope: Scope) -> Origin | None:
    """The origin of a page this server served: the request's scheme and its Host."""
    scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"
    host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
    return parse_origin(f"{scheme}://{host}") if host else None


def header(scope: Scope, name: bytes) -> str | None:
    values = [v.decode("latin-1") for k, v in scope["headers"] if k == name]
    return values[0] if len(values) == 1 else ("" if values else None)


class RequestGuard:
    """ASGI middleware: refuses foreign origins, marks https responses (HSTS, Secure)."""

    def __init__(self, app: ASGIApp, *, server: ServerSettings) -> None:
        self.app = app
        self.allowed = {o for o in map(parse_origin, server.allowed_origins) if o}
        self.hsts = f"max-age={server.hsts_max_age_s}".encode()
        self.hsts_on = server.hsts_max_age_s > 0

    def origin_allowed(self, scope: Scope) -> bool:
        origin = header(scope, b"origin")
        if origin is None:
            return True  # not sent by a browser's page: a bearer token or nothing
        parsed = parse_origin(origin)
        return parsed is not None and (parsed in self.allowed or parsed == own_origin(scope))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and not self.origin_allowed(scope):
            await refuse_websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["scheme"] == "https":
            send = self.marking(send)
        if scope["method"] in STATE_CHANGING and not self.origin_allowed(scope):
            await refusal()(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def marking(self, send: Send) -> Send:
        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(secure_cookies(message.get("headers", [])))
                if self.hsts_on:
                    headers.append((b"strict-transport-security", self.hsts))
                message = {**message, "headers": headers}
            await send(message)

        return marked


def secure_cookies(headers: Iterable[tuple[bytes, bytes]]) -> Iterable[tuple[bytes, bytes]]:
    """Every cookie set over https is Secure: the browser never sends it over plain http."""
    for name, value in headers:
        if name.lower() == b"set-cookie":
            attributes = [a.strip().lower() for a in value.split(b";")[1:]]
            if b"secure" not in attributes:
                value += b"; Secure"
        yield name, value


def refusal() -> JSONResponse:
    return JSONResponse(
        {"code": ErrorCode.ORIGIN_REFUSED, "message": REFUSED_MESSAGE}, status_code=403
    )


async def refuse_websocket(scope: Scope, receive: Receive, send: Send) -> None:
    """Refused before the upgrade: HTTP 403 with the code and the reason, like the
    endpoint's refusals of a bad token."""
    websocket = WebSocket(scope, receive, send)
    if "websocket.http.response" in scope.get("extensions", {}):
        await websocket.send_denial_response(refusal())
    else:
        await websocket.close(1008, ErrorCode.ORIGIN_REFUSED)

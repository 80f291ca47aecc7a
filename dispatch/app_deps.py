"""FastAPI dependencies shared by the server's routes and the console's."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dispatch.auth.sessions import COOKIE_NAME, Viewer, source_rule, touch
from dispatch.auth.throttle import SourceThrottle
from dispatch.services import Services


def _services(request: Request) -> Services:
    result: Services = request.app.state.services
    return result


ServicesDep = Annotated[Services, Depends(_services)]


def request_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    return token or request.cookies.get(COOKIE_NAME)


def request_source(request: Request) -> str:
    """The address a sign-in came from (the proxy's forwarded one, where trusted)."""
    return request.client.host if request.client else ""


def sign_in_throttle(request: Request, s: ServicesDep) -> SourceThrottle:
    """This app's failed sign-ins by source address (made on first use)."""
    throttle: SourceThrottle | None = getattr(request.app.state, "sign_in_throttle", None)
    if throttle is None:
        throttle = SourceThrottle(source_rule(s.settings.auth))
        request.app.state.sign_in_throttle = throttle
    return throttle


SignInThrottle = Annotated[SourceThrottle, Depends(sign_in_throttle)]


async def current_viewer(request: Request, s: ServicesDep) -> Viewer:
    now = s.dispatcher.clock()
    viewer = await s.sessions.viewer(request_token(request), now=now)
    await touch(s.db, s.settings.auth, viewer, now)  # a console in use does not idle out
    return viewer


CurrentViewer = Annotated[Viewer, Depends(current_viewer)]

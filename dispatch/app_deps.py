"""FastAPI dependencies shared by the server's routes and the console's."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dispatch.auth.sessions import COOKIE_NAME, Viewer
from dispatch.services import Services


def _services(request: Request) -> Services:
    result: Services = request.app.state.services
    return result


ServicesDep = Annotated[Services, Depends(_services)]


def request_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    return token or request.cookies.get(COOKIE_NAME)


async def current_viewer(request: Request, s: ServicesDep) -> Viewer:
    return await s.sessions.viewer(request_token(request), now=s.dispatcher.clock())


CurrentViewer = Annotated[Viewer, Depends(current_viewer)]

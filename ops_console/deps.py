"""The console's own dependency: a signed-in supervisor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException

from dispatch.app_deps import CurrentViewer
from dispatch.auth.sessions import Viewer
from schemas.common import Role
from schemas.errors import ErrorCode


def _supervisor(viewer: CurrentViewer) -> Viewer:
    if viewer.role != Role.SUPERVISOR:
        raise HTTPException(
            status_code=403,
            detail={"code": ErrorCode.FORBIDDEN, "message": "This is for supervisors only."},
        )
    return viewer


Supervisor = Annotated[Viewer, Depends(_supervisor)]

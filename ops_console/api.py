"""Console API: what the supervisors' board shows, over REST."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from dispatch.app_deps import CurrentViewer, ServicesDep
from ops_console.cap_export import router as cap_router
from schemas.common import Role
from schemas.errors import ErrorCode
from schemas.server import Snapshot

router = APIRouter(prefix="/api/console", tags=["console"])
router.include_router(cap_router)  # GET /api/console/alerts/{id}.cap


@router.get("/board", response_model=Snapshot)
async def board(viewer: CurrentViewer, services: ServicesDep) -> Snapshot:
    """Open alerts, open offers, every crew and the latest positions, as of `seq`.

    The same projection a supervisor's websocket gets as its snapshot; the live
    changes after `seq` come over the websocket.
    """
    if viewer.role != Role.SUPERVISOR:
        raise HTTPException(
            status_code=403,
            detail={"code": ErrorCode.FORBIDDEN, "message": "The board is for supervisors only."},
        )
    return await services.dispatcher.snapshots.snapshot(viewer)

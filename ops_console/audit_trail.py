"""The console's views and exports, written to the audit trail (each its own row, once
what was asked for has been read: a refused request shows nothing and writes nothing)."""

from __future__ import annotations

from dispatch.audit import Action
from dispatch.audit.access import record_alone
from dispatch.auth.sessions import Viewer
from dispatch.services import Services


async def viewed(
    s: Services, viewer: Viewer, object_type: str, object_id: str, detail: str | None = None
) -> None:
    await record_alone(
        s.db,
        viewer,
        at=s.dispatcher.clock(),
        action=Action.CONSULTATION,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
    )


async def exported(
    s: Services, viewer: Viewer, object_type: str, object_id: str, detail: str
) -> None:
    """A file leaves the system: a disclosure (`detail` names the file)."""
    await record_alone(
        s.db,
        viewer,
        at=s.dispatcher.clock(),
        action=Action.DISCLOSURE,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
    )

"""One alert as an OASIS CAP 1.2 message (supervisors only): what the webhook would post
for it as it stands now. Its router is included in the console's (`ops_console.api`,
under /api/console), which the app includes before the incident log's, whose
`/alerts/{alert_id}` would otherwise take `ID.cap` for an alert id."""

from __future__ import annotations

from fastapi import APIRouter, Response

from dispatch.app_deps import ServicesDep
from dispatch.cap.message import MEDIA_TYPE, cap_message
from dispatch.storage.models import Alert
from dispatch.usecases.context import UseCaseError
from dispatch.usecases.views import alert_view
from dispatch.usecases.work import attached_crews_async
from ops_console.audit_trail import exported
from ops_console.deps import Supervisor
from schemas.errors import ErrorCode

router = APIRouter()


@router.get(
    "/alerts/{alert_id}.cap",
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {}}, "description": "A CAP 1.2 message."}},
)
async def alert_cap(alert_id: str, viewer: Supervisor, s: ServicesDep) -> Response:
    """The alert as a CAP 1.2 message (scope Restricted; sender, addresses and the rest
    from `[cap]`). Written to the audit trail as a disclosure."""
    async with s.db.session() as session:
        alert = await session.get(Alert, alert_id)
        if alert is None:
            raise UseCaseError(ErrorCode.NOT_FOUND, f"There is no alert {alert_id!r}.")
        view = alert_view(alert, await attached_crews_async(session, alert.id))
    message = cap_message(view, s.settings.cap)
    await exported(s, viewer, "alert", alert_id, f"CAP 1.2 message {message.identifier}")
    return Response(
        message.xml,
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{message.identifier}.cap"'},
    )

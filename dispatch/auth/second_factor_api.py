"""The supervisors' code step: POST /api/session/code after POST /api/session answered
202 `second_factor_required` (with, at first sign-in, the secret and its QR code)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dispatch.app_deps import ServicesDep, SignInThrottle, request_source
from dispatch.audit import Action
from dispatch.audit.access import record_alone
from dispatch.auth.sessions import COOKIE_NAME, SecondStep, Viewer, second_step
from dispatch.config import AuthSettings
from dispatch.services import Services
from schemas.common import Role

SECOND_FACTOR_REQUIRED = "second_factor_required"
router = APIRouter(tags=["session"])


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    challenge: str = Field(min_length=1, max_length=100)
    code: str = Field(min_length=1, max_length=40)


def cookie_max_age(settings: AuthSettings, viewer: Viewer) -> int:
    return settings.console_max_s if viewer.role == Role.SUPERVISOR else settings.session_ttl_s


async def signed_in(
    s: Services, response: Response, token: str, viewer: Viewer, *, detail: str | None = None
) -> None:
    """A sign-in is done: its audit row (its own transaction: the session was made in
    dispatch.auth), and the session cookie."""
    await record_alone(
        s.db,
        viewer,
        at=s.dispatcher.clock(),
        action=Action.SIGN_IN,
        object_type="session",
        object_id=viewer.user_id,
        detail=detail,
    )
    response.set_cookie(
        COOKIE_NAME,
        token,
        httponly=True,
        samesite="strict",
        max_age=cookie_max_age(s.settings.auth, viewer),
        path="/",
    )


def second_step_answer(step: SecondStep) -> JSONResponse:
    """202: the password was right, and the sign-in is not done. Nothing is signed in."""
    body: dict[str, Any] = {
        "code": SECOND_FACTOR_REQUIRED,
        "challenge": step.challenge,
        "expires_at": step.expires_at.isoformat(),
        "enrol": step.enrolment is not None,
    }
    if step.enrolment is None:
        body["message"] = "Enter the 6-digit code from your authenticator app."
    else:
        body["message"] = (
            "Set up your second factor: scan the QR code with an authenticator app, "
            "then enter the 6-digit code it shows."
        )
        body["secret"] = step.enrolment.secret
        body["uri"] = step.enrolment.uri
        body["qr_svg"] = step.enrolment.qr_svg
    return JSONResponse(body, status_code=202, headers={"Cache-Control": "no-store"})


@router.post("/api/session/code")
async def enter_code(
    body: CodeIn,
    request: Request,
    response: Response,
    s: ServicesDep,
    sources: SignInThrottle,
) -> dict[str, Any]:
    """The code (or a recovery code) for a password step. The first right code after
    enrolment also answers the recovery codes, once."""
    token, viewer, recovery = await second_step(
        s.db,
        s.settings.auth,
        challenge=body.challenge,
        code=body.code,
        now=s.dispatcher.clock(),
        source=request_source(request),
        sources=sources,
    )
    detail = "with a second factor" if recovery is None else "enrolled a second factor"
    await signed_in(s, response, token, viewer, detail=detail)
    response.headers["Cache-Control"] = "no-store"
    answer: dict[str, Any] = {
        "token": token,
        "expires_at": viewer.expires_at.isoformat(),
        "user_id": viewer.user_id,
        "username": viewer.username,
        "role": viewer.role.value,
        "crew_id": viewer.crew_id,
    }
    if recovery is not None:
        answer["recovery_codes"] = recovery
    return answer

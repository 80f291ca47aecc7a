"""REST for people, under /api/console (supervisors only): accounts, crews and members.

A crew member's crew is changed on her account (`PATCH /users/{id}` with `crew_id`): a
crew member always belongs to a crew. Passwords are returned only when the server made
them, and only in that one answer.
"""

from __future__ import annotations

from fastapi import APIRouter

from dispatch.app_deps import ServicesDep
from dispatch.services import Services
from dispatch.storage.models import User
from dispatch.usecases.context import UseCaseError
from dispatch.usecases.people_cases import PeopleCases, end_sessions_of, user_view
from ops_console.deps import Supervisor
from schemas.common import Role
from schemas.errors import ErrorCode
from schemas.people import (
    CrewChange,
    CrewEntry,
    CrewIn,
    PasswordReset,
    PeopleView,
    UserChange,
    UserCreated,
    UserIn,
    UserView,
)

router = APIRouter(prefix="/api/console", tags=["console"])


def _cases(s: Services) -> PeopleCases:
    return PeopleCases(s.dispatcher, s.end_session)


@router.get("/people", response_model=PeopleView)
async def people(viewer: Supervisor, s: ServicesDep) -> PeopleView:
    """Every account and every crew with its members."""
    return await _cases(s).everyone(viewer)


@router.post("/users", response_model=UserCreated, status_code=201)
async def add_user(body: UserIn, viewer: Supervisor, s: ServicesDep) -> UserCreated:
    """A new account; without a password, one is generated and shown in this answer only."""
    return await _cases(s).add_user(body, viewer)


@router.patch("/users/{user_id}", response_model=UserView)
async def change_user(
    user_id: str, body: UserChange, viewer: Supervisor, s: ServicesDep
) -> UserView:
    """Rename, disable or enable, or move a crew member to another crew. Disabling and
    moving end the person's sessions and close her sockets."""
    return await _cases(s).change_user(viewer, user_id, body)


@router.post("/users/{user_id}/password", response_model=PasswordReset)
async def reset_password(user_id: str, viewer: Supervisor, s: ServicesDep) -> PasswordReset:
    """A new generated password (shown in this answer only); clears the sign-in lockout
    and ends the person's sessions."""
    return await _cases(s).reset_password(viewer, user_id)


@router.post("/crews", response_model=CrewEntry, status_code=201)
async def add_crew(body: CrewIn, viewer: Supervisor, s: ServicesDep) -> CrewEntry:
    return await _cases(s).add_crew(body, viewer)


@router.patch("/crews/{crew_id}", response_model=CrewEntry)
async def change_crew(
    crew_id: str, body: CrewChange, viewer: Supervisor, s: ServicesDep
) -> CrewEntry:
    return await _cases(s).change_crew(crew_id, body, viewer)


@router.post("/users/{user_id}/unlock", response_model=UserView)
async def unlock(user_id: str, _: Supervisor, s: ServicesDep) -> UserView:
    """Clear the account's sign-in backoff: its next sign-in is checked at once."""
    async with s.db.session() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise UseCaseError(ErrorCode.NOT_FOUND, "No such user.")
        user.failed_logins, user.locked_until = 0, None
        session.add(user)
        await session.commit()
        return user_view(user, s.dispatcher.clock())


@router.post("/users/{user_id}/second-factor/reset", response_model=UserView)
async def reset_second_factor(user_id: str, viewer: Supervisor, s: ServicesDep) -> UserView:
    """Forget a supervisor's authenticator and recovery codes and end her sessions: she
    enrols again at her next sign-in. Not one's own (ask another supervisor)."""
    if user_id == viewer.user_id:
        raise UseCaseError(
            ErrorCode.FORBIDDEN, "You cannot reset your own second factor: ask another supervisor."
        )
    async with s.db.session() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise UseCaseError(ErrorCode.NOT_FOUND, "No such user.")
        if user.role != Role.SUPERVISOR:
            raise UseCaseError(ErrorCode.INVALID, "Only supervisors have a second factor.")
        user.totp_secret = user.totp_enrolled_at = user.totp_last_step = None
        user.recovery_hashes = user.second_step_hash = user.second_step_until = None
        hashes = await end_sessions_of(session, user.id)
        session.add(user)
        await session.commit()
        view = user_view(user, s.dispatcher.clock())
    for session_hash in hashes:
        await s.end_session(session_hash)
    return view

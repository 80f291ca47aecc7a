"""REST for people, under /api/console (supervisors only): accounts, crews and members.

A crew member's crew is changed on her account (`PATCH /users/{id}` with `crew_id`): a
crew member always belongs to a crew. Passwords are returned only when the server made
them, and only in that one answer.
"""

from __future__ import annotations

from fastapi import APIRouter

from dispatch.app_deps import ServicesDep
from dispatch.services import Services
from dispatch.usecases.people_cases import PeopleCases
from ops_console.deps import Supervisor
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

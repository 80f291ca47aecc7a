"""Adding accounts and crews (used by the CLI, the demo data and the tests)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import select

from dispatch.auth.passwords import hash_password
from dispatch.storage.db import Database
from dispatch.storage.models import Crew, User
from schemas.common import CrewMode, Role
from schemas.views import CrewState


class PeopleError(ValueError):
    """A clear refusal: a name taken, a crew missing."""


async def add_crew(
    db: Database,
    *,
    callsign: str,
    mode: CrewMode,
    now: datetime,
    position: tuple[float, float] | None = None,
) -> Crew:
    async with db.session() as s:
        if (await s.exec(select(Crew).where(Crew.callsign == callsign))).first():
            raise PeopleError(f"a crew with callsign {callsign!r} already exists")
        crew = Crew(
            id=uuid.uuid4().hex,
            callsign=callsign,
            mode=mode,
            state=CrewState.OFF_DUTY,
            updated_at=now,
            last_lat=position[0] if position else None,
            last_lon=position[1] if position else None,
            last_fix_at=now if position else None,
        )
        s.add(crew)
        await s.commit()
        return crew


async def add_user(
    db: Database,
    *,
    username: str,
    password: str,
    role: Role,
    now: datetime,
    display_name: str | None = None,
    crew_callsign: str | None = None,
) -> User:
    if len(password) < 8:
        raise PeopleError("the password must have at least 8 characters")
    async with db.session() as s:
        if (await s.exec(select(User).where(User.username == username))).first():
            raise PeopleError(f"a user named {username!r} already exists")
        crew_id = None
        if role == Role.CREW:
            if not crew_callsign:
                raise PeopleError("a crew member needs --crew CALLSIGN")
            crew = (await s.exec(select(Crew).where(Crew.callsign == crew_callsign))).first()
            if crew is None:
                raise PeopleError(f"no crew with callsign {crew_callsign!r}")
            crew_id = crew.id
        elif crew_callsign:
            raise PeopleError("only crew members belong to a crew")
        user = User(
            id=uuid.uuid4().hex,
            username=username,
            display_name=display_name or username,
            role=role,
            password_hash=hash_password(password),
            crew_id=crew_id,
            created_at=now,
        )
        s.add(user)
        await s.commit()
        return user


async def is_empty(db: Database) -> bool:
    async with db.session() as s:
        return (await s.exec(select(User).limit(1))).first() is None

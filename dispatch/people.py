"""Adding accounts and crews (used by the CLI, the demo data and the tests)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import select

from dispatch.auth.passwords import hash_password
from dispatch.auth.pins import hash_pin, is_pin
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
    cancel_pin: str | None = None,
    duress_pin: str | None = None,
) -> User:
    if len(password) < 8:
        raise PeopleError("the password must have at least 8 characters")
    _check_pins(role, cancel_pin, duress_pin)
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
            cancel_pin_hash=hash_pin(cancel_pin) if cancel_pin else None,
            duress_pin_hash=hash_pin(duress_pin) if duress_pin else None,
        )
        s.add(user)
        await s.commit()
        return user


def _check_pins(role: Role, cancel_pin: str | None, duress_pin: str | None) -> None:
    if cancel_pin is None and duress_pin is None:
        return
    if role != Role.OFFICER:
        raise PeopleError("only officers have PINs")
    if cancel_pin is None or duress_pin is None:
        raise PeopleError("an officer gets both PINs: --cancel-pin and --duress-pin")
    if not (is_pin(cancel_pin) and is_pin(duress_pin)):
        raise PeopleError("a PIN is 4 digits")
    if cancel_pin == duress_pin:
        raise PeopleError("the cancel PIN and the duress PIN must differ")


async def is_empty(db: Database) -> bool:
    async with db.session() as s:
        return (await s.exec(select(User).limit(1))).first() is None

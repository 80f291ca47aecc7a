"""Accounts and crews: the rules for a new account, and adding accounts and crews (used by
the CLI, the demo data and the tests; the console's use cases apply the same rules)."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from dispatch.audit import SYSTEM, Action, record
from dispatch.auth.passwords import hash_password
from dispatch.auth.pins import hash_pin, is_pin
from dispatch.storage.db import Database
from dispatch.storage.models import Crew, User
from schemas.common import CrewMode, Role
from schemas.errors import ErrorCode
from schemas.views import CrewState

MIN_PASSWORD = 12


class PeopleError(ValueError):
    """A clear refusal: a name taken, a crew missing. `code` is the API's error code."""

    def __init__(self, message: str, code: ErrorCode = ErrorCode.INVALID) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def generate_password() -> str:
    """16 characters from the OS's secure generator (96 bits)."""
    return secrets.token_urlsafe(12)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise PeopleError(f"The password must have at least {MIN_PASSWORD} characters.")


def check_pins(role: Role, cancel_pin: str | None, duress_pin: str | None) -> None:
    if cancel_pin is None and duress_pin is None:
        return
    if role != Role.OFFICER:
        raise PeopleError("A PIN belongs to an officer: only officers have PINs.")
    if cancel_pin is None or duress_pin is None:
        raise PeopleError("An officer gets both PINs: a cancel PIN and a duress PIN.")
    if not (is_pin(cancel_pin) and is_pin(duress_pin)):
        raise PeopleError("A PIN is 4 digits.")
    if cancel_pin == duress_pin:
        raise PeopleError("The cancel PIN and the duress PIN must differ.")


def check_new_user(
    role: Role,
    *,
    password: str,
    has_crew: bool,
    cancel_pin: str | None,
    duress_pin: str | None,
) -> None:
    """Every rule a new account must meet that needs no database."""
    check_password(password)
    check_pins(role, cancel_pin, duress_pin)
    if role == Role.CREW and not has_crew:
        raise PeopleError("A crew member belongs to a crew: choose one.")
    if role != Role.CREW and has_crew:
        raise PeopleError("Only crew members belong to a crew.")


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
            raise PeopleError(
                f"A crew with callsign {callsign!r} already exists.", ErrorCode.CONFLICT
            )
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
        await _audit(s, now, "crew", crew.id, "crew added")
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
    check_new_user(
        role,
        password=password,
        has_crew=bool(crew_callsign),
        cancel_pin=cancel_pin,
        duress_pin=duress_pin,
    )
    async with db.session() as s:
        if (await s.exec(select(User).where(User.username == username))).first():
            raise PeopleError(f"A user named {username!r} already exists.", ErrorCode.CONFLICT)
        crew_id = None
        if crew_callsign:
            crew = (await s.exec(select(Crew).where(Crew.callsign == crew_callsign))).first()
            if crew is None:
                raise PeopleError(f"There is no crew with callsign {crew_callsign!r}.")
            crew_id = crew.id
        user = new_user(
            username=username,
            display_name=display_name,
            role=role,
            password_hash=hash_password(password),
            crew_id=crew_id,
            now=now,
            pin_hashes=(hash_pin(cancel_pin), hash_pin(duress_pin))
            if cancel_pin and duress_pin
            else None,
        )
        s.add(user)
        await _audit(s, now, "user", user.id, f"account added ({role})")
        await s.commit()
        return user


async def _audit(
    session: AsyncSession, at: datetime, object_type: str, object_id: str, detail: str
) -> None:
    """A collection by the system (the CLI, the demo data), in the caller's transaction."""
    await record(
        session,
        at=at,
        actor=SYSTEM,
        role=SYSTEM,
        action=Action.COLLECTION,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
    )


def new_user(
    *,
    username: str,
    display_name: str | None,
    role: Role,
    password_hash: str,
    crew_id: str | None,
    now: datetime,
    pin_hashes: tuple[str, str] | None,
) -> User:
    """The row of a new account, from hashes already made (hashing is slow: callers on the
    event loop make them in a thread)."""
    return User(
        id=uuid.uuid4().hex,
        username=username,
        display_name=display_name or username,
        role=role,
        password_hash=password_hash,
        crew_id=crew_id,
        created_at=now,
        cancel_pin_hash=pin_hashes[0] if pin_hashes else None,
        duress_pin_hash=pin_hashes[1] if pin_hashes else None,
    )


async def is_empty(db: Database) -> bool:
    async with db.session() as s:
        return (await s.exec(select(User).limit(1))).first() is None


async def names_by_id(db: Database) -> dict[str, str]:
    """Every user's display name and every crew's callsign, by id (for exports)."""
    async with db.session() as s:
        names = {u.id: u.display_name for u in (await s.exec(select(User))).all()}
        names.update({c.id: c.callsign for c in (await s.exec(select(Crew))).all()})
    return names

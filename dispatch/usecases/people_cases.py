"""The console's people use cases: accounts, crews and their members.

Disabling an account, resetting its password or moving a crew member to another crew
ends every session of that person (their tokens are deleted and their sockets closed on
every process): a disabled person is out at once, an old password opens nothing, and a
moved crew member's phone signs in again as a member of her new crew.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from dispatch.audit import Action, record_by
from dispatch.auth.passwords import hash_password
from dispatch.auth.pins import hash_pin
from dispatch.auth.sessions import Viewer
from dispatch.people import PeopleError, check_new_user, generate_password, new_user
from dispatch.storage.models import Crew, SessionToken, User
from dispatch.usecases.context import UseCaseError
from dispatch.usecases.dispatcher import Dispatcher
from schemas.common import CrewMode, Role
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
from schemas.views import CrewState

EndSession = Callable[[str], Awaitable[None]]
NO_SUCH_USER = "No such user."
NO_SUCH_CREW = "No such crew."


def user_view(user: User, now: datetime) -> UserView:
    return UserView(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        crew_id=user.crew_id,
        disabled=user.disabled,
        has_pins=user.cancel_pin_hash is not None and user.duress_pin_hash is not None,
        locked=user.locked_until is not None and user.locked_until > now,
    )


def crew_entry(crew: Crew, members: list[str]) -> CrewEntry:
    return CrewEntry(
        id=crew.id,
        callsign=crew.callsign,
        mode=CrewMode(crew.mode),
        state=CrewState(crew.state),
        members=members,
    )


async def end_sessions_of(session: AsyncSession, user_id: str) -> list[str]:
    """Delete every session token of the user (in the caller's transaction). Returns their
    hashes, so that their sockets can be closed once the change is committed."""
    rows = await session.exec(
        select(SessionToken.token_hash).where(SessionToken.user_id == user_id)
    )
    hashes = list(rows.all())
    if hashes:
        await session.exec(delete(SessionToken).where(col(SessionToken.user_id) == user_id))
    return hashes


async def _username_taken(session: AsyncSession, username: str) -> bool:
    query = select(User.id).where(func.lower(col(User.username)) == username.lower())
    return (await session.exec(query)).first() is not None


async def _callsign_taken(session: AsyncSession, callsign: str, but: str | None = None) -> bool:
    query = select(Crew.id).where(func.lower(col(Crew.callsign)) == callsign.lower())
    if but is not None:
        query = query.where(col(Crew.id) != but)
    return (await session.exec(query)).first() is not None


def _refused(exc: PeopleError) -> UseCaseError:
    return UseCaseError(exc.code, exc.message)


class PeopleCases:
    def __init__(self, dispatcher: Dispatcher, end_session: EndSession) -> None:
        self.dispatcher, self.end_session = dispatcher, end_session
        self.db = dispatcher.db

    async def _end(self, hashes: list[str]) -> None:
        for hashed in hashes:
            await self.end_session(hashed)

    # -- reading --------------------------------------------------------------

    async def everyone(self, actor: Viewer | None = None) -> PeopleView:
        now = self.dispatcher.clock()
        async with self.db.session() as s:
            users = (await s.exec(select(User).order_by(col(User.username)))).all()
            crews = (await s.exec(select(Crew).order_by(col(Crew.callsign)))).all()
            await record_by(s, actor, now, Action.CONSULTATION, "people", "all")
            await s.commit()
        members: dict[str, list[str]] = {}
        for user in users:
            if user.crew_id is not None:
                members.setdefault(user.crew_id, []).append(user.id)
        return PeopleView(
            users=[user_view(u, now) for u in users],
            crews=[crew_entry(c, members.get(c.id, [])) for c in crews],
        )

    async def _user(self, user_id: str) -> UserView:
        async with self.db.session() as s:
            user = await s.get(User, user_id)
            if user is None:
                raise UseCaseError(ErrorCode.NOT_FOUND, NO_SUCH_USER)
            return user_view(user, self.dispatcher.clock())

    # -- accounts -------------------------------------------------------------

    async def add_user(self, body: UserIn, actor: Viewer | None = None) -> UserCreated:
        password = body.password if body.password is not None else generate_password()
        try:
            check_new_user(
                body.role,
                password=password,
                has_crew=body.crew_id is not None,
                cancel_pin=body.cancel_pin,
                duress_pin=body.duress_pin,
            )
        except PeopleError as exc:
            raise _refused(exc) from None
        await self._check_user_refs(body)  # quick refusals before the slow hashing
        password_hash, pin_hashes = await asyncio.to_thread(_hashes, password, body)
        try:
            async with self.db.session() as s:
                await self._check_user_refs(body, s)
                user = new_user(
                    username=body.username,
                    display_name=body.display_name,
                    role=body.role,
                    password_hash=password_hash,
                    crew_id=body.crew_id,
                    now=self.dispatcher.clock(),
                    pin_hashes=pin_hashes,
                )
                s.add(user)
                await s.flush()
                await record_by(
                    s,
                    actor,
                    user.created_at,
                    Action.COLLECTION,
                    "user",
                    user.id,
                    f"account added ({body.role})",
                )
                await s.commit()
        except IntegrityError:
            raise UseCaseError(ErrorCode.CONFLICT, _name_taken(body.username)) from None
        return UserCreated(
            user=user_view(user, self.dispatcher.clock()),
            password=None if body.password is not None else password,
        )

    async def _check_user_refs(self, body: UserIn, session: AsyncSession | None = None) -> None:
        if session is None:
            async with self.db.session() as s:
                await self._check_user_refs(body, s)
            return
        if await _username_taken(session, body.username):
            raise UseCaseError(ErrorCode.CONFLICT, _name_taken(body.username))
        if body.crew_id is not None and await session.get(Crew, body.crew_id) is None:
            raise UseCaseError(ErrorCode.INVALID, f"{NO_SUCH_CREW} Choose one of the crews.")

    async def change_user(self, actor: Viewer, user_id: str, body: UserChange) -> UserView:
        if body.display_name is None and body.disabled is None and body.crew_id is None:
            raise UseCaseError(ErrorCode.INVALID, "Nothing to change: give a field to change.")
        async with self.db.session() as s:
            user = await s.get(User, user_id, with_for_update=True)
            if user is None:
                raise UseCaseError(ErrorCode.NOT_FOUND, NO_SUCH_USER)
            signs_out = False
            if body.disabled is not None and body.disabled != user.disabled:
                if body.disabled and user.id == actor.user_id:
                    raise UseCaseError(
                        ErrorCode.FORBIDDEN,
                        "You cannot disable your own account: ask another supervisor.",
                    )
                user.disabled = body.disabled
                signs_out = body.disabled
            if body.crew_id is not None and body.crew_id != user.crew_id:
                if user.role != Role.CREW:
                    raise UseCaseError(ErrorCode.INVALID, "Only crew members belong to a crew.")
                if await s.get(Crew, body.crew_id) is None:
                    raise UseCaseError(
                        ErrorCode.INVALID, f"{NO_SUCH_CREW} Choose one of the crews."
                    )
                user.crew_id = body.crew_id
                signs_out = True  # her phone signs in again as a member of the new crew
            if body.display_name is not None:
                user.display_name = body.display_name
            hashes = await end_sessions_of(s, user.id) if signs_out else []
            s.add(user)
            changed = [
                n for n in ("display_name", "disabled", "crew_id") if getattr(body, n) is not None
            ]
            await record_by(
                s,
                actor,
                self.dispatcher.clock(),
                Action.ALTERATION,
                "user",
                user.id,
                "changed: " + ", ".join(changed),
            )
            await s.commit()
            view = user_view(user, self.dispatcher.clock())
        await self._end(hashes)
        return view

    async def reset_password(self, actor: Viewer, user_id: str) -> PasswordReset:
        if user_id == actor.user_id:
            raise UseCaseError(
                ErrorCode.FORBIDDEN,
                "You cannot reset your own password here: ask another supervisor.",
            )
        await self._user(user_id)  # a quick refusal before the slow hashing
        password = generate_password()
        password_hash = await asyncio.to_thread(hash_password, password)
        async with self.db.session() as s:
            user = await s.get(User, user_id, with_for_update=True)
            if user is None:
                raise UseCaseError(ErrorCode.NOT_FOUND, NO_SUCH_USER)
            user.password_hash = password_hash
            user.failed_logins, user.locked_until = 0, None
            hashes = await end_sessions_of(s, user.id)
            s.add(user)
            await record_by(
                s,
                actor,
                self.dispatcher.clock(),
                Action.ALTERATION,
                "user",
                user.id,
                "password reset",
            )
            await s.commit()
            view = user_view(user, self.dispatcher.clock())
        await self._end(hashes)
        return PasswordReset(user=view, password=password)

    # -- crews ----------------------------------------------------------------

    async def add_crew(self, body: CrewIn, actor: Viewer | None = None) -> CrewEntry:
        dispatcher = self.dispatcher
        try:
            async with dispatcher.work() as w:
                if await _callsign_taken(w.session, body.callsign):
                    raise UseCaseError(ErrorCode.CONFLICT, _callsign_in_use(body.callsign))
                crew = Crew(
                    id=uuid.uuid4().hex,
                    callsign=body.callsign,
                    mode=body.mode,
                    state=CrewState.OFF_DUTY,
                    updated_at=w.now,
                )
                w.session.add(crew)
                await w.session.flush()
                await record_by(
                    w.session, actor, w.now, Action.COLLECTION, "crew", crew.id, "crew added"
                )
                w.emit_crew(crew)  # live boards show it at once
        except IntegrityError:
            raise UseCaseError(ErrorCode.CONFLICT, _callsign_in_use(body.callsign)) from None
        return crew_entry(crew, [])

    async def change_crew(
        self, crew_id: str, body: CrewChange, actor: Viewer | None = None
    ) -> CrewEntry:
        if body.callsign is None and body.mode is None:
            raise UseCaseError(ErrorCode.INVALID, "Nothing to change: give a callsign or a mode.")
        dispatcher = self.dispatcher
        try:
            async with dispatcher.work() as w:
                crew = await w.session.get(Crew, crew_id, with_for_update=True)
                if crew is None:
                    raise UseCaseError(ErrorCode.NOT_FOUND, NO_SUCH_CREW)
                if body.callsign is not None and body.callsign != crew.callsign:
                    if await _callsign_taken(w.session, body.callsign, but=crew.id):
                        raise UseCaseError(ErrorCode.CONFLICT, _callsign_in_use(body.callsign))
                    crew.callsign = body.callsign
                if body.mode is not None and body.mode != crew.mode:
                    crew.mode = body.mode  # every process follows it from the crew event
                w.session.add(crew)
                w.emit_crew(crew)
                members = await w.session.exec(
                    select(User.id).where(User.crew_id == crew.id).order_by(col(User.username))
                )
                member_ids = list(members.all())
                changed = [n for n in ("callsign", "mode") if getattr(body, n) is not None]
                await record_by(
                    w.session,
                    actor,
                    w.now,
                    Action.ALTERATION,
                    "crew",
                    crew.id,
                    "changed: " + ", ".join(changed),
                )
        except IntegrityError:
            raise UseCaseError(ErrorCode.CONFLICT, _callsign_in_use(body.callsign or "")) from None
        return crew_entry(crew, member_ids)


def _hashes(password: str, body: UserIn) -> tuple[str, tuple[str, str] | None]:
    pins = (
        (hash_pin(body.cancel_pin), hash_pin(body.duress_pin))
        if body.cancel_pin is not None and body.duress_pin is not None
        else None
    )
    return hash_password(password), pins


def _name_taken(username: str) -> str:
    return f"The name {username!r} is taken: choose another."


def _callsign_in_use(callsign: str) -> str:
    return f"The callsign {callsign!r} is taken: choose another."

"""People API (supervisors only): users, crews and their members."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from schemas.common import CrewMode, Model, Role
from schemas.views import CrewState

Username = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$"
    ),
]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Callsign = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$"
    ),
]
EntityId = Annotated[str, Field(min_length=1, max_length=32)]
# Length rules for passwords and PINs are checked by the server with a clear sentence.
Secret = Annotated[str, Field(max_length=200)]
Pin = Annotated[str, Field(max_length=16)]


class UserView(Model):
    id: str
    username: str
    display_name: str
    role: Role
    crew_id: str | None = Field(None, description="Crew members: the crew they belong to.")
    disabled: bool
    has_pins: bool = Field(description="Officers: whether the cancel and duress PINs are set.")
    locked: bool = Field(description="Sign-in is locked now after repeated failures.")


class CrewEntry(Model):
    id: str
    callsign: str
    mode: CrewMode
    state: CrewState
    members: list[str] = Field(description="User ids of the crew's members.")


class PeopleView(Model):
    users: list[UserView]
    crews: list[CrewEntry]


class UserIn(Model):
    """A new account. Without a password one is generated and returned once."""

    username: Username
    display_name: DisplayName | None = None
    role: Role
    password: Secret | None = None
    crew_id: EntityId | None = Field(None, description="Required for crew members.")
    cancel_pin: Pin | None = Field(None, description="Officers: 4 digits, with duress_pin.")
    duress_pin: Pin | None = Field(None, description="Officers: 4 digits, with cancel_pin.")


class UserChange(Model):
    """Change an account; absent fields stay as they are."""

    display_name: DisplayName | None = None
    disabled: bool | None = Field(None, description="Disabling ends every session of the user.")
    crew_id: EntityId | None = Field(None, description="Move a crew member to another crew.")


class UserCreated(Model):
    user: UserView
    password: str | None = Field(
        None, description="The generated password, shown only this once (absent if one was given)."
    )


class PasswordReset(Model):
    user: UserView
    password: str = Field(description="The new password, shown only this once.")


class CrewIn(Model):
    callsign: Callsign
    mode: CrewMode


class CrewChange(Model):
    """Change a crew; absent fields stay as they are."""

    callsign: Callsign | None = None
    mode: CrewMode | None = None

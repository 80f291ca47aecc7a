"""Types shared by client and server messages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("time must carry a timezone (UTC, e.g. 2026-11-24T20:00:00Z)")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("time is out of range") from None


UtcDateTime = Annotated[datetime, AfterValidator(_aware_utc)]
# Control characters (tabs and line breaks are not): free text is stored without them.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Accuracy = Annotated[float, Field(ge=0, le=100_000, allow_inf_nan=False)]


class Model(BaseModel):
    """Base of every wire model: unknown fields are refused, values are strict-ish."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Role(StrEnum):
    OFFICER = "officer"
    CREW = "crew"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"  # sees the audit trail, and nothing else


class CrewMode(StrEnum):
    FOOT = "foot"
    BIKE = "bike"
    CAR = "car"


class AlertCategory(StrEnum):
    VERBAL = "verbal"
    FOLLOWING = "following"
    INTIMIDATION = "intimidation"
    PHYSICAL = "physical"
    VEHICLE = "vehicle"


class Outcome(StrEnum):
    ARREST = "arrest"
    WORDS_OF_ADVICE = "words_of_advice"
    OFFENDER_NOT_FOUND = "offender_not_found"
    FALSE_ALARM = "false_alarm"
    OTHER = "other"


class Position(Model):
    lat: Latitude
    lon: Longitude
    accuracy: Accuracy | None = None
    at: UtcDateTime | None = Field(
        None, description="When the fix was taken (UTC); the server's receive time if absent."
    )

"""The public's reports of street harassment, and the contacts kept apart from them.

Shared with the console's reports view and the risk derivation: columns are only
ever added (nullable), never changed.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from dispatch.storage.models import utc_column

KINDS: tuple[str, ...] = (
    "catcalling",
    "following",
    "intimidation",
    "physical",
    "vehicle",
    "other",
)

STATUSES: tuple[str, ...] = ("new", "spam", "duplicate")


class PublicReport(SQLModel, table=True):
    __tablename__ = "public_report"

    id: str = Field(primary_key=True, max_length=32)  # uuid4 hex, made by the server
    received_at: datetime = utc_column(index=True)
    occurred_at: datetime = utc_column(index=True)  # when it happened (<= received_at)
    kind: str = Field(max_length=16)  # one of KINDS
    lat: float  # rounded to [public_reports] precision
    lon: float
    description: str = ""
    vehicle_reg: str = Field(default="", max_length=10)  # upper case, no spaces
    language: str = Field(default="en", max_length=8)
    status: str = Field(default="new", max_length=16)  # one of STATUSES
    duplicate_of: str | None = Field(default=None, max_length=32)
    status_by: str | None = Field(default=None, max_length=32)  # the supervisor's User.id
    status_at: datetime | None = utc_column(nullable=True)
    demo: bool = False  # made-up demo reports (make run)


class PublicReportContact(SQLModel, table=True):
    """How to reach the reporter, if she chose to say: shown only to supervisors."""

    __tablename__ = "public_report_contact"

    report_id: str = Field(primary_key=True, foreign_key="public_report.id", max_length=32)
    contact: str = Field(max_length=200)

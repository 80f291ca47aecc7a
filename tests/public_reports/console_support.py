"""Builders for the console's reports view tests: reports written straight into the
server's database (the public page plays no part), and a small operation around them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dispatch.public_reports.models import PublicReport, PublicReportContact
from dispatch.storage.db import Database
from tests.support import CENTRE, north_of


@dataclass(frozen=True)
class Made:
    """A report to insert: where, when, what kind; optionally a status and a contact."""

    at: tuple[float, float]
    occurred_at: datetime
    kind: str = "catcalling"
    status: str = "new"
    contact: str | None = None
    description: str = ""
    vehicle_reg: str = ""
    id: str = ""


async def insert_reports(db_url: str, made: list[Made]) -> list[str]:
    """Writes the reports (received a few minutes after they happened); their ids, in order."""
    db = Database(db_url)
    ids = []
    try:
        async with db.session() as s:
            for m in made:
                report_id = m.id or uuid.uuid4().hex
                ids.append(report_id)
                s.add(
                    PublicReport(
                        id=report_id,
                        received_at=m.occurred_at + timedelta(minutes=7),
                        occurred_at=m.occurred_at,
                        kind=m.kind,
                        lat=m.at[0],
                        lon=m.at[1],
                        description=m.description,
                        vehicle_reg=m.vehicle_reg,
                        status=m.status,
                    )
                )
                if m.contact is not None:
                    await s.flush()
                    s.add(PublicReportContact(report_id=report_id, contact=m.contact))
            await s.commit()
    finally:
        await db.close()
    return ids


CASTLE = CENTRE
MEADOW = north_of(CENTRE, 1100)


def two_places() -> list[dict[str, Any]]:
    """Castle Green at the centre and Bishop's Meadow 1.1 km north, 200 m each."""
    return [
        {"name": "Castle Green", "lat": CASTLE[0], "lon": CASTLE[1], "radius_m": 200.0},
        {"name": "Bishop's Meadow", "lat": MEADOW[0], "lon": MEADOW[1], "radius_m": 200.0},
    ]

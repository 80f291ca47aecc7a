"""Demo data: one supervisor, three officers, six crews around Hereford town centre, and
reports from the public around it."""

from __future__ import annotations

import random
import secrets
from datetime import datetime

from dispatch.people import add_crew, add_user
from dispatch.public_reports.demo import DEMO_SEED, load_demo_reports
from dispatch.storage.db import Database
from schemas.common import CrewMode, Role

TOWN_CENTRE = (52.0565, -2.7160)  # Hereford, High Town

DEMO_CREWS = [
    ("FOOT-1", CrewMode.FOOT, (52.0560, -2.7155)),  # High Town
    ("FOOT-2", CrewMode.FOOT, (52.0530, -2.7170)),  # Victoria Bridge / riverside
    ("BIKE-1", CrewMode.BIKE, (52.0590, -2.7120)),  # Commercial Road
    ("BIKE-2", CrewMode.BIKE, (52.0500, -2.7100)),  # Bishop's Meadow
    ("CAR-1", CrewMode.CAR, (52.0630, -2.7200)),  # Edgar Street
    ("CAR-2", CrewMode.CAR, (52.0470, -2.7250)),  # Hunderton
]


async def load_demo(db: Database, now: datetime) -> list[tuple[str, str, str]]:
    """Create the demo people. Returns (username, password, what) once: passwords are random."""
    logins: list[tuple[str, str, str]] = []

    async def person(username: str, role: Role, what: str, crew: str | None = None) -> None:
        password = secrets.token_urlsafe(9)
        pins: dict[str, str] = {}
        if role == Role.OFFICER:
            cancel = f"{secrets.randbelow(10_000):04d}"
            duress = f"{(int(cancel) + 1 + secrets.randbelow(9_999)) % 10_000:04d}"
            pins = {"cancel_pin": cancel, "duress_pin": duress}
            what = f"{what} (cancel PIN {cancel}, duress PIN {duress})"
        await add_user(
            db,
            username=username,
            password=password,
            role=role,
            now=now,
            crew_callsign=crew,
            **pins,
        )
        logins.append((username, password, what))

    await person("supervisor", Role.SUPERVISOR, "supervisor")
    for n in (1, 2, 3):
        await person(f"officer{n}", Role.OFFICER, "officer")
    for callsign, mode, position in DEMO_CREWS:
        await add_crew(db, callsign=callsign, mode=mode, now=now, position=position)
        await person(callsign.lower(), Role.CREW, f"crew {callsign} ({mode.value})", callsign)
    # Reports from the public around the town (demo=True), for the heat table and plans.
    await load_demo_reports(db, now, random.Random(DEMO_SEED))
    return logins

"""Made-up public reports for the demo (`make run`): a few hundred around the demo town,
clustered as real ones would be, so the console's heat table and a derived plan have
data at once.

Where: mostly around the demo operation's places (dispatch/demo_operation.py), more at
the riskier ones, scattered about each by its size; a few anywhere in town. When: over
the last weeks before `now`, more in the evening and at night, more at weekends (Friday
and Saturday nights most), a little in the early morning (runners). The generator is
passed in: the demo uses a fixed seed so that screenshots are stable; nothing here is
security-sensitive (these rows say demo=True).
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dispatch.demo_operation import DEMO_PLACES
from dispatch.public_reports.models import PublicReport
from dispatch.public_reports.validation import round_position
from dispatch.storage.db import Database
from schemas.operations import PlaceIn

DEMO_SEED = 20261128
METRES_PER_DEGREE = 111_195.0
# By local hour: quiet by day, a bump for morning runners, the evening and night most.
HOURLY = [0.9, 0.7, 0.5, 0.2, 0.1, 0.1, 0.4, 0.6, 0.4, 0.2, 0.2, 0.3]
HOURLY += [0.3, 0.3, 0.3, 0.4, 0.6, 0.9, 1.2, 1.5, 1.7, 1.8, 1.6, 1.2]
# By local weekday (Monday first): the weekend, and its nights, most.
DAILY = [0.7, 0.7, 0.8, 0.9, 1.3, 1.6, 1.1]
KINDS = {
    "catcalling": 0.40,
    "vehicle": 0.18,
    "following": 0.15,
    "intimidation": 0.15,
    "other": 0.07,
    "physical": 0.05,
}
WORDS = {
    "catcalling": ["Shouted comments at me while I ran.", "Group whistling and shouting."],
    "vehicle": ["Car slowed down beside me and the driver shouted.", "Van hooted and followed."],
    "following": ["A man followed me along the path.", "Walked behind me for ten minutes."],
    "intimidation": ["Blocked the path and would not move.", "Stood too close and stared."],
    "other": ["Filmed me on his phone."],
    "physical": ["Grabbed my arm as I passed."],
}
TOWN_SCATTER = 0.1  # the share of reports anywhere within TOWN_RADIUS_M of the centre
TOWN_CENTRE = (52.0565, -2.7160)
TOWN_RADIUS_M = 2500.0


def _offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    return (
        lat + north_m / METRES_PER_DEGREE,
        lon + east_m / (METRES_PER_DEGREE * math.cos(math.radians(lat))),
    )


def _near(place: PlaceIn, rng: random.Random) -> tuple[float, float]:
    if place.route is not None:
        i = rng.randrange(len(place.route) - 1)
        (a_lat, a_lon), (b_lat, b_lon) = place.route[i], place.route[i + 1]
        f = rng.random()
        lat, lon, spread = a_lat + f * (b_lat - a_lat), a_lon + f * (b_lon - a_lon), 40.0
    else:
        assert place.lat is not None and place.lon is not None
        lat, lon, spread = place.lat, place.lon, (place.radius_m or 150.0) * 0.6
    return _offset(lat, lon, rng.gauss(0, spread), rng.gauss(0, spread))


def _anywhere(rng: random.Random) -> tuple[float, float]:
    distance = TOWN_RADIUS_M * math.sqrt(rng.random())
    bearing = rng.uniform(0, 2 * math.pi)
    return _offset(*TOWN_CENTRE, distance * math.cos(bearing), distance * math.sin(bearing))


def demo_reports(
    rng: random.Random,
    now: datetime,
    *,
    count: int = 300,
    days: int = 56,
    decimals: int = 3,
    timezone: str = "Europe/London",
) -> list[PublicReport]:
    """`count` made-up reports over the `days` before `now` (pure: no I/O)."""
    zone = ZoneInfo(timezone)
    last = now.replace(minute=0, second=0, microsecond=0)
    hours = [last - timedelta(hours=h) for h in range(1, days * 24)]
    weights = [HOURLY[h.astimezone(zone).hour] * DAILY[h.astimezone(zone).weekday()] for h in hours]
    places = list(DEMO_PLACES)
    place_weights = [p.risk for p in places]
    kinds, kind_weights = list(KINDS), list(KINDS.values())
    reports = []
    for start in rng.choices(hours, weights, k=count):
        occurred = start + timedelta(seconds=rng.randrange(3600))
        received = min(now, occurred + timedelta(minutes=rng.expovariate(1 / 90)))
        if rng.random() < TOWN_SCATTER:
            lat, lon = _anywhere(rng)
        else:
            lat, lon = _near(rng.choices(places, place_weights)[0], rng)
        kind = rng.choices(kinds, kind_weights)[0]
        words = rng.choice(WORDS[kind]) if rng.random() < 0.4 else ""
        lat, lon = round_position(lat, lon, decimals)
        reports.append(
            PublicReport(
                id=f"{rng.getrandbits(128):032x}",
                received_at=received,
                occurred_at=occurred,
                kind=kind,
                lat=lat,
                lon=lon,
                description=words,
                demo=True,
            )
        )
    return reports


async def load_demo_reports(
    db: Database, now: datetime, rng: random.Random, *, count: int = 300, decimals: int = 3
) -> int:
    reports = demo_reports(rng, now, count=count, decimals=decimals)
    async with db.session() as session:
        session.add_all(reports)
        await session.commit()
    return len(reports)

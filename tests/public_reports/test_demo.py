"""The demo's made-up reports: clustered in place and time as real ones would be."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import select

from dispatch.core.geo import haversine_m
from dispatch.demo import load_demo
from dispatch.public_reports.demo import demo_reports
from dispatch.public_reports.models import KINDS, PublicReport
from dispatch.storage.db import Database
from tests.support import CENTRE

NOW = datetime(2026, 11, 28, 20, 17, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")
CASTLE_GREEN = (52.0528, -2.7130)


def test_a_few_hundred_recent_rounded_demo_reports_in_town() -> None:
    reports = demo_reports(random.Random(1), NOW)
    assert len(reports) == 300 and len({r.id for r in reports}) == 300
    for r in reports:
        assert r.demo and r.status == "new" and r.kind in KINDS
        assert NOW - timedelta(days=56) <= r.occurred_at <= r.received_at <= NOW
        assert (round(r.lat, 3), round(r.lon, 3)) == (r.lat, r.lon)
        assert haversine_m(r.lat, r.lon, *CENTRE) < 4000


def test_the_same_seed_gives_the_same_reports_and_another_seed_others() -> None:
    def key(seed: int) -> list[tuple[str, float, float, datetime]]:
        return [(r.id, r.lat, r.lon, r.occurred_at) for r in demo_reports(random.Random(seed), NOW)]

    assert key(5) == key(5)
    assert key(5) != key(6)


def test_evenings_nights_and_weekends_have_more_and_hotspots_stand_out() -> None:
    reports = demo_reports(random.Random(2), NOW, count=2000)
    local = [r.occurred_at.astimezone(LONDON) for r in reports]
    evening = sum(18 <= t.hour <= 23 for t in local)
    midday = sum(10 <= t.hour <= 15 for t in local)
    assert evening > 3 * midday  # the same number of hours
    by_day = Counter(t.weekday() for t in local)
    assert by_day[5] > 1.5 * by_day[1]  # Saturday over Tuesday
    near_green = sum(haversine_m(r.lat, r.lon, *CASTLE_GREEN) < 250 for r in reports)
    # A circle of 250 m is about 1% of the town's 2.5 km; it holds far more than that.
    assert near_green > 0.08 * len(reports)
    kinds = Counter(r.kind for r in reports)
    assert kinds["catcalling"] > kinds["physical"] > 0


async def test_the_demo_loads_them_with_the_people(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/demo.db")
    try:
        await db.create_tables()
        await load_demo(db, NOW)
        async with db.session() as session:
            rows = (await session.exec(select(PublicReport))).all()
    finally:
        await db.close()
    assert len(rows) == 300 and all(r.demo for r in rows)

"""A demo operation around Hereford with a generated, published four-week plan."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select

from dispatch.config import Settings
from dispatch.realtime.hub import make_hub
from dispatch.storage.db import Database
from dispatch.storage.models import Crew, User
from dispatch.usecases.dispatcher import Dispatcher
from dispatch.usecases.planner_pool import PlannerPool
from dispatch.usecases.plans import PlanCases
from schemas.common import Role
from schemas.operations import OperationIn, PlaceIn, PlanView

EVENING = [0.2] * 7 + [0.6, 0.8, 0.6, 0.5, 0.6, 0.7, 0.6, 0.6, 0.7, 0.9, 1.0, 1.0, 1.0, 1.0]
EVENING += [0.9, 0.6, 0.3]

DEMO_PLACES = [
    PlaceIn(name="Castle Green", lat=52.0528, lon=-2.7130, radius_m=150, risk=3.0, hourly=EVENING),
    PlaceIn(name="Bishop's Meadow", lat=52.0500, lon=-2.7100, radius_m=250, risk=2.5),
    PlaceIn(
        name="Riverside path",
        route=[(52.0531, -2.7195), (52.0527, -2.7160), (52.0522, -2.7120), (52.0512, -2.7080)],
        risk=4.0,
        hourly=EVENING,
    ),
    PlaceIn(name="High Town", lat=52.0565, lon=-2.7160, radius_m=120, risk=2.0),
    PlaceIn(name="Commercial Road", lat=52.0590, lon=-2.7120, radius_m=150, risk=1.5),
    PlaceIn(name="Widemarsh Street", lat=52.0600, lon=-2.7175, radius_m=120, risk=1.0),
    PlaceIn(name="Old Market", lat=52.0548, lon=-2.7185, radius_m=100, risk=1.2),
    PlaceIn(name="Edgar Street", lat=52.0630, lon=-2.7200, radius_m=200, risk=0.8),
]


async def load_demo_operation(db: Database, settings: Settings, now: datetime) -> PlanView:
    async with db.session() as s:
        officers = (
            await s.exec(select(User.id).where(User.role == Role.OFFICER).order_by(col(User.id)))
        ).all()
        crews = (await s.exec(select(Crew.id).order_by(col(Crew.callsign)))).all()
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    planner = PlannerPool()
    dispatcher = Dispatcher.build(
        db=db, hub=make_hub("memory://"), settings=settings, clock=lambda: now
    )
    plans = PlanCases(dispatcher, planner)
    try:
        op = await plans.create(
            OperationIn(
                name="Jog On - Hereford",
                area="Hereford town centre and riverside",
                window_start=start,
                window_end=start + timedelta(days=28),
                deployments=20,
                allowed_hours=list(range(7, 23)),
                officer_ids=list(officers),
                crew_ids=list(crews),
                places=DEMO_PLACES,
            )
        )
        await plans.generate(op.id)
        return await plans.publish(op.id)
    finally:
        planner.close()

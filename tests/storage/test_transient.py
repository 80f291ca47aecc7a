"""`transient.build` makes the row `cls(**values)` makes, without the ORM's per-attribute
work: the same values, defaults and pydantic state, and a row a session can still store.
Synchronous, on a real SQLite file: no event loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect
from sqlmodel import Session, SQLModel

import dispatch.storage.all_models  # noqa: F401  (every table, for create_all)
from dispatch.storage.models import Alert, Offer
from dispatch.storage.transient import build

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)

ALERT: dict[str, Any] = {
    "id": "a1",
    "officer_id": "u1",
    "state": "offered",
    "urgent": True,
    "crews_needed": 2,
    "note": "followed",
    "lat": 51.5,
    "lon": -0.12,
    "accuracy": 8.0,
    "raised_at": NOW,
    "updated_at": NOW,
    "pressed_at": NOW - timedelta(seconds=1),
    "clock_offset_ms": -120,
    "origin": "officer",
}
OFFER: dict[str, Any] = {
    "id": "o1",
    "alert_id": "a1",
    "crew_id": "c1",
    "state": "offered",
    "created_at": NOW,
    "deadline": NOW + timedelta(seconds=30),
    "distance_m": 412.5,
    "eta_s": 61.0,
}


def _pydantic_state(row: Any) -> tuple[Any, ...]:
    return (row.__pydantic_fields_set__, row.__pydantic_extra__, row.__pydantic_private__)


@pytest.mark.parametrize(("cls", "values"), [(Alert, ALERT), (Offer, OFFER)])
def test_the_row_is_the_one_the_constructor_makes(
    cls: type[SQLModel], values: dict[str, Any]
) -> None:
    made, built = cls(**values), build(cls, **values)
    assert type(built) is cls
    assert built.model_dump() == made.model_dump()
    assert _pydantic_state(built) == _pydantic_state(made)
    assert inspect(built).transient  # a new row, as the constructor's is
    assert sorted(built.__dict__) == sorted(made.__dict__)


def test_defaults_are_filled_and_a_built_row_changes_like_any_other() -> None:
    row = build(Alert, **ALERT)
    assert (row.category, row.closed_at, row.exercise) == (None, None, False)
    row.state = "assigned"  # through the instrumentation, as any row
    assert row.state == "assigned" and inspect(row).attrs.state.history.added == ["assigned"]


def test_a_name_that_is_not_a_field_is_refused() -> None:
    with pytest.raises(TypeError, match="stat"):
        build(Offer, **{**OFFER, "stat": "offered"})


def test_a_field_without_a_default_left_out_stays_unset_as_with_the_constructor() -> None:
    values = {k: v for k, v in OFFER.items() if k != "eta_s"}
    made, built = Offer(**values), build(Offer, **values)
    assert "eta_s" not in built.__dict__ and "eta_s" not in made.__dict__
    assert built.model_dump() == made.model_dump()


def test_a_built_row_is_stored_by_a_session_like_any_other(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'rows.db'}")  # foreign keys not enforced
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(build(Alert, **ALERT))
        session.add(build(Offer, **OFFER))
        session.commit()
    with Session(engine, expire_on_commit=False) as session:
        alert, offer = session.get(Alert, "a1"), session.get(Offer, "o1")
    engine.dispose()
    assert alert is not None and offer is not None
    assert _columns(alert) == _columns(Alert(**ALERT))
    assert _columns(offer) == _columns(Offer(**OFFER))


def _columns(row: SQLModel) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in inspect(type(row)).columns}

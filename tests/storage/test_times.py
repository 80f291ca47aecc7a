"""Times in storage are UTC and timezone-aware, on SQLite (which keeps no zone) too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from dispatch.storage.models import UtcDateTime

SQLITE, POSTGRES = sqlite.dialect(), postgresql.dialect()


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        UtcDateTime().process_bind_param(datetime(2026, 11, 24, 20, 0), SQLITE)


def test_any_zone_is_stored_as_utc_and_read_back_aware() -> None:
    paris = timezone(timedelta(hours=1))
    moment = datetime(2026, 11, 24, 21, 0, tzinfo=paris)
    column = UtcDateTime()
    stored = column.process_bind_param(moment, SQLITE)
    assert stored == datetime(2026, 11, 24, 20, 0)  # SQLite: UTC wall time
    back = column.process_result_value(stored, SQLITE)
    assert back == moment and back is not None and back.tzinfo == UTC
    assert column.process_bind_param(moment, POSTGRES) == moment.astimezone(UTC)

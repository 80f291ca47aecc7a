"""A report's body checked and normalised, without an event loop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dispatch.config import PublicReportsSettings
from dispatch.public_reports.validation import (
    Refusal,
    Rules,
    ValidReport,
    check_report,
    round_position,
)

NOW = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)
RULES = Rules.of(PublicReportsSettings())  # Hereford, 15 km, 3 decimals, 90 days, 500 chars


def report(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "catcalling",
        "lat": 52.05612345,
        "lon": -2.71598765,
        "occurred_at": "now",
        "challenge": "c",
        "nonce": "n",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def valid(**changes: Any) -> ValidReport:
    result = check_report(report(**changes), rules=RULES, now=NOW)
    assert isinstance(result, ValidReport), result
    return result


def refused(**changes: Any) -> str:
    result = check_report(report(**changes), rules=RULES, now=NOW)
    assert isinstance(result, Refusal), result
    assert result.message.endswith("."), result
    return result.code


def test_a_good_report_is_normalised() -> None:
    result = valid(description="  He shouted\r\nat me\x00 ", vehicle_reg="ab12 cde", contact="")
    assert (result.lat, result.lon) == (52.056, -2.716)
    assert result.occurred_at == NOW
    assert result.description == "He shouted\nat me"
    assert result.vehicle_reg == "AB12CDE"
    assert result.language == "en"


def test_positions_are_rounded_to_the_configured_places() -> None:
    assert round_position(52.05649, -2.71651, 3) == (52.056, -2.717)
    assert round_position(52.05649, -2.71651, 2) == (52.06, -2.72)
    fine = Rules.of(PublicReportsSettings(position_decimals=4))
    result = check_report(report(), rules=fine, now=NOW)
    assert isinstance(result, ValidReport) and (result.lat, result.lon) == (52.0561, -2.716)


@pytest.mark.parametrize(
    "kind", ["catcalling", "following", "intimidation", "physical", "vehicle", "other"]
)
def test_every_kind_is_accepted(kind: str) -> None:
    assert valid(kind=kind).kind == kind


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"kind": "burglary"}, "bad_kind"),
        ({"kind": ...}, "bad_kind"),
        ({"lat": None}, "bad_position"),
        ({"lat": "52.05"}, "bad_position"),
        ({"lat": True}, "bad_position"),
        ({"lat": 91.0}, "bad_position"),
        ({"lat": float("nan")}, "bad_position"),
        ({"lat": float("inf")}, "bad_position"),
        ({"lon": 10**400}, "bad_position"),
        ({"occurred_at": "0001-01-01T00:00:00+14:00"}, "bad_time"),
        ({"occurred_at": "9999-12-31T23:59:59-14:00"}, "bad_time"),
        ({"lat": 51.5074, "lon": -0.1278}, "outside_area"),  # London
        ({"lat": 52.0565 + 15.1 / 111.2}, "outside_area"),  # just over 15 km north
        ({"occurred_at": "yesterday"}, "bad_time"),
        ({"occurred_at": "2026-11-28T19:00:00"}, "bad_time"),  # no zone
        ({"occurred_at": 12}, "bad_time"),
        ({"occurred_at": "2026-11-28T20:06:00+00:00"}, "time_in_future"),
        ({"occurred_at": "2026-08-29T19:59:00Z"}, "time_too_old"),
        ({"description": "x" * 501}, "description_too_long"),
        ({"description": 5}, "invalid"),
        ({"vehicle_reg": "AB12 CDE!"}, "bad_vehicle_reg"),
        ({"vehicle_reg": "ABCDEFGHIJK"}, "bad_vehicle_reg"),
        ({"contact": "x" * 201}, "contact_too_long"),
        ({"language": "fr"}, "bad_language"),
        ({"officer_id": "u1"}, "invalid"),
    ],
)
def test_bad_input_is_refused_with_a_code_and_a_sentence(
    changes: dict[str, Any], code: str
) -> None:
    assert refused(**changes) == code


def test_not_an_object_is_refused() -> None:
    body: object
    for body in ([], "report", None, 3):
        result = check_report(body, rules=RULES, now=NOW)
        assert result == Refusal("invalid", "The report must be a JSON object.")


def test_times_within_the_limits() -> None:
    assert valid(occurred_at="2026-11-28T19:30:00+01:00").occurred_at == NOW - timedelta(
        hours=1, minutes=30
    )
    assert valid(occurred_at="2026-11-28T20:04:00Z").occurred_at == NOW  # a fast phone clock
    assert valid(occurred_at=None).occurred_at == NOW
    assert valid(occurred_at="2026-08-30T20:00:00Z").occurred_at.tzinfo is not None
    exactly = NOW - timedelta(days=90)
    assert valid(occurred_at=exactly.isoformat()).occurred_at == exactly


def test_the_limit_of_the_description_is_the_configured_one() -> None:
    assert len(valid(description="x" * 500).description) == 500
    short = Rules.of(PublicReportsSettings(description_max=10))
    result = check_report(report(description="x" * 11), rules=short, now=NOW)
    assert isinstance(result, Refusal) and result.code == "description_too_long"
    assert "10 characters" in result.message

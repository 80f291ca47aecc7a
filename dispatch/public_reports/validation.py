"""A public report's body checked and normalised: pure code, no I/O.

Every refusal is a stable code and an English sentence (the page shows its own words for
the code, in her language). Nothing is stored unless every check passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dispatch.config import PublicReportsSettings
from dispatch.core.geo import haversine_m
from dispatch.public_reports.models import KINDS
from schemas.common import CONTROL

CONTACT_MAX = 200
VEHICLE_REG_MAX = 10
FIELDS = frozenset(
    {
        "challenge",
        "nonce",
        "kind",
        "lat",
        "lon",
        "occurred_at",
        "description",
        "vehicle_reg",
        "contact",
        "language",
    }
)
VEHICLE_REG = re.compile(r"[A-Z0-9-]{1,10}")


@dataclass(frozen=True, slots=True)
class Rules:
    languages: tuple[str, ...]
    centre: tuple[float, float]
    radius_m: float
    decimals: int
    max_age: timedelta
    future_skew: timedelta
    description_max: int

    @classmethod
    def of(cls, p: PublicReportsSettings) -> Rules:
        return cls(
            languages=tuple(p.languages),
            centre=(p.centre_lat, p.centre_lon),
            radius_m=p.radius_m,
            decimals=p.position_decimals,
            max_age=timedelta(days=p.max_age_days),
            future_skew=timedelta(seconds=p.future_skew_s),
            description_max=p.description_max,
        )


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class ValidReport:
    kind: str
    lat: float  # rounded
    lon: float
    occurred_at: datetime
    description: str
    vehicle_reg: str
    contact: str
    language: str


class _Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.refusal = Refusal(code, message)


def round_position(lat: float, lon: float, decimals: int) -> tuple[float, float]:
    return round(lat, decimals), round(lon, decimals)


def check_report(body: object, *, rules: Rules, now: datetime) -> ValidReport | Refusal:
    """The report in `body` (parsed JSON), normalised, or the first thing wrong with it."""
    try:
        return _check(body, rules, now)
    except _Refused as refused:
        return refused.refusal


def _check(body: object, rules: Rules, now: datetime) -> ValidReport:
    if not isinstance(body, dict):
        raise _Refused("invalid", "The report must be a JSON object.")
    unknown = sorted(str(k) for k in body if k not in FIELDS)
    if unknown:
        raise _Refused("invalid", f"Unknown field {unknown[0]!r}.")
    kind = body.get("kind")
    if kind not in KINDS:
        raise _Refused("bad_kind", "Choose what happened from the list.")
    lat, lon = _position(body.get("lat"), body.get("lon"))
    if haversine_m(lat, lon, *rules.centre) > rules.radius_m:
        raise _Refused(
            "outside_area",
            "That place is outside the area this force covers: "
            "report it to the police force for that area.",
        )
    lat, lon = round_position(lat, lon, rules.decimals)
    occurred_at = _occurred_at(body.get("occurred_at"), rules, now)
    description = _text(body.get("description", ""), "description")
    if len(description) > rules.description_max:
        raise _Refused(
            "description_too_long",
            f"The description is too long: at most {rules.description_max} characters.",
        )
    vehicle_reg = _vehicle_reg(body.get("vehicle_reg", ""))
    contact = _text(body.get("contact", ""), "contact").replace("\n", " ")
    if len(contact) > CONTACT_MAX:
        raise _Refused("contact_too_long", f"The contact is too long: at most {CONTACT_MAX}.")
    language = body.get("language", rules.languages[0])
    if language not in rules.languages:
        raise _Refused("bad_language", "That language is not offered here.")
    return ValidReport(
        kind=str(kind),
        lat=lat,
        lon=lon,
        occurred_at=occurred_at,
        description=description,
        vehicle_reg=vehicle_reg,
        contact=contact,
        language=str(language),
    )


def _position(lat: Any, lon: Any) -> tuple[float, float]:
    ok = all(
        isinstance(v, int | float) and not isinstance(v, bool) and -1e6 < v < 1e6
        for v in (lat, lon)
    )  # NaN fails the comparison; a huge int is never turned into a float
    if not ok or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise _Refused("bad_position", "Put a pin on the map, or use your location.")
    return float(lat), float(lon)


def _occurred_at(value: Any, rules: Rules, now: datetime) -> datetime:
    if value is None or value == "now":
        return now
    when: datetime | None = None
    if isinstance(value, str) and len(value) <= 40:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            when = None
    if when is None or when.tzinfo is None or when.utcoffset() is None:
        raise _Refused("bad_time", "Give the date and time it happened, or choose now.")
    try:
        when = when.astimezone(now.tzinfo)
    except OverflowError:  # the year 1 at +14:00
        raise _Refused("bad_time", "Give the date and time it happened, or choose now.") from None
    if when > now + rules.future_skew:
        raise _Refused("time_in_future", "That time is in the future: give when it happened.")
    if when < now - rules.max_age:
        days = rules.max_age.total_seconds() / 86400
        raise _Refused(
            "time_too_old",
            f"That is more than {days:g} days ago: this page takes recent reports only. "
            "Please contact the police directly.",
        )
    return min(when, now)


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise _Refused("invalid", f"The {name} must be text.")
    return CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def _vehicle_reg(value: Any) -> str:
    if not isinstance(value, str):
        raise _Refused("invalid", "The vehicle registration must be text.")
    reg = re.sub(r"\s+", "", value).upper()
    if reg and VEHICLE_REG.fullmatch(reg) is None:
        raise _Refused(
            "bad_vehicle_reg",
            f"A vehicle registration is letters and digits, at most {VEHICLE_REG_MAX}.",
        )
    return reg

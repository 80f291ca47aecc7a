"""Times start when she pressed: her phone says when (its clock), its link measured how far
that clock is from the server's (`server_time` in the sync's ack), and the server keeps
the press on its own clock, bounded. Real server, real websocket clients, both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dispatch.storage.models import Alert
from schemas.common import CrewMode
from tests.operations.support import api_for
from tests.support import CENTRE, Client, RunningServer, north_of

WAIT = 20  # seconds: a generous bound on a busy machine, never a measured time
SKEW = timedelta(minutes=5)  # her phone's clock runs this much slow
HELD = timedelta(seconds=16)  # she pressed this long before the phone could send


@pytest.fixture
def server_settings() -> dict[str, Any]:
    return {
        "dispatch.offer_timeout_s": 600,
        "realtime.position_flush_s": 0.2,
        "pages.max_press_age_s": 600,
    }


def phone_clock() -> datetime:
    return datetime.now(UTC) - SKEW


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


async def measure_offset(officer: Client) -> tuple[int, float]:
    """What her page's link does on a sync: the offset (ms) and the round trip (s)."""
    sent = phone_clock()
    ack = await officer.request("sync", last_seq=None)
    got = phone_clock()
    assert ack["type"] == "ack", ack
    middle = sent + (got - sent) / 2
    offset_ms = round((at(ack["result"]["server_time"]) - middle).total_seconds() * 1000)
    return offset_ms, (got - sent).total_seconds()


async def seen(client: Client, alert_id: str, predicate: Any = None) -> dict[str, Any]:
    frame = await client.wait_for(
        lambda f: (
            f["type"] == "alert"
            and f["alert"]["id"] == alert_id
            and (predicate is None or predicate(f["alert"]))
        ),
        WAIT,
    )
    alert: dict[str, Any] = frame["alert"]
    return alert


async def test_an_alert_held_16_s_offline_shows_16_s_from_press_to_received(
    server: RunningServer,
) -> None:
    crew = await server.crew(CrewMode.FOOT, north_of(CENTRE, 150))
    sup = await server.supervisor()
    officer = await server.officer()
    offset_ms, round_trip_s = await measure_offset(officer)
    # The sync's server_time lies within the round trip: the measure is that good.
    assert abs(offset_ms - SKEW.total_seconds() * 1000) <= round_trip_s * 500 + 2

    pressed_on_phone = phone_clock() - HELD  # held offline since, sent on reconnecting
    start = datetime.now(UTC)
    alert_id = uuid.uuid4().hex
    ack = await officer.raise_alert(
        CENTRE,
        alert_id,
        pressed_at=pressed_on_phone.isoformat(),
        clock_offset_ms=offset_ms,
        timeout=WAIT,
    )
    sent_within = (datetime.now(UTC) - start).total_seconds()
    assert ack["type"] == "ack", ack

    view = await seen(sup, alert_id)
    press_to_received = (at(view["raised_at"]) - at(view["pressed_at"])).total_seconds()
    error = round_trip_s / 2 + 0.002  # the offset's own error, at most
    assert HELD.total_seconds() - error <= press_to_received
    assert press_to_received <= HELD.total_seconds() + sent_within + error
    assert view["press_clamped"] is False
    row = next(a for a in await server.rows(Alert) if a.id == alert_id)
    assert row.clock_offset_ms == offset_ms
    assert row.phone_pressed_at is not None
    assert abs((row.phone_pressed_at - pressed_on_phone).total_seconds()) < 0.001
    assert row.pressed_at is not None
    assert abs((row.pressed_at - at(view["pressed_at"])).total_seconds()) < 0.001

    # Offered and accepted: the timeline and the report run from her press.
    offer = await crew.offer(WAIT)
    assert (await crew.request("offer.accept", offer_id=offer["id"]))["type"] == "ack"
    await seen(sup, alert_id, lambda a: a["state"] == "assigned")
    api = await api_for(server, sup.session["username"])
    try:
        story = await api.call("GET", f"/api/console/alerts/{alert_id}")
        steps = [(e["kind"], e["text"]) for e in story["timeline"]]
        assert steps[0] == ("pressed", "Pressed on her phone")
        for kind in ("raised", "offered", "accepted"):
            text = next(t for k, t in steps if k == kind)
            assert text.endswith("s after she pressed)"), steps
        since = (start - timedelta(hours=1)).isoformat()
        until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        report = await api.call(
            "GET", "/api/console/report", params={"since": since, "until": until}
        )
        for figure in ("press_received", "press_offer", "press_accept"):
            assert report[figure]["count"] == 1, report
        received = report["press_received"]["median_s"]
        assert received == pytest.approx(press_to_received, abs=0.001)
        assert report["press_accept"]["median_s"] >= received
        csv = await api.call(
            "GET", "/api/console/report.csv", params={"since": since, "until": until}
        )
        header = csv.splitlines()[0].split(",")
        assert header[-5:] == [
            "pressed_at",
            "press_received_s",
            "press_offer_s",
            "press_accept_s",
            "exercise",
        ]
    finally:
        await api.close()


async def test_a_phone_clock_hours_out_is_bounded_and_flagged(server: RunningServer) -> None:
    sup = await server.supervisor()
    officer = await server.officer()

    # No offset measured, and a clock 5 hours slow: bounded by pages.max_press_age_s.
    slow = await officer.raise_alert(
        CENTRE, pressed_at=(datetime.now(UTC) - timedelta(hours=5)).isoformat()
    )
    view = await seen(sup, slow["result"]["alert_id"])
    assert view["press_clamped"] is True
    assert at(view["raised_at"]) - at(view["pressed_at"]) == timedelta(seconds=600)

    # A clock hours fast: the press is the receipt, flagged.
    fast = await officer.raise_alert(
        north_of(CENTRE, 50), pressed_at=(datetime.now(UTC) + timedelta(hours=3)).isoformat()
    )
    view = await seen(sup, fast["result"]["alert_id"])
    assert (view["pressed_at"], view["press_clamped"]) == (view["raised_at"], True)

    # A phone that says nothing of its press: no press time (response times from receipt).
    plain = await officer.raise_alert(north_of(CENTRE, 100))
    view = await seen(sup, plain["result"]["alert_id"])
    assert (view["pressed_at"], view["press_clamped"]) == (None, False)


async def test_a_bad_press_time_or_offset_is_refused_and_stores_nothing(
    server: RunningServer,
) -> None:
    officer = await server.officer()
    bad: list[dict[str, Any]] = [
        {"pressed_at": "2026-11-28T20:00:00"},  # no zone
        {"pressed_at": "yesterday"},
        {"pressed_at": datetime.now(UTC).isoformat(), "clock_offset_ms": 10**13},
        {"pressed_at": datetime.now(UTC).isoformat(), "clock_offset_ms": "300000"},
        {"pressed_at": datetime.now(UTC).isoformat(), "clock_offset_ms": 1.5},
    ]
    for extra in bad:
        answer = await officer.raise_alert(CENTRE, **extra)
        assert (answer["type"], answer["code"]) == ("error", "invalid"), (extra, answer)
        assert answer["message"]
    assert await server.rows(Alert) == []

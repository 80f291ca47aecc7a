"""Bad input: malformed, forbidden, oversized or flooding messages each get an error frame
or a close code with a reason; nothing is stored; the other clients carry on."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from dispatch.storage.models import Alert
from schemas.common import CrewMode
from tests.support import CENTRE, Client, RunningServer, north_of

BAD_ALERT_ID = "bad-alert-1"
HERE = {"lat": CENTRE[0], "lon": CENTRE[1], "accuracy": 8.0}


def raise_message(**changes: Any) -> dict[str, Any]:
    """An officer's alert.raise with `changes` applied; a change to None drops the field."""
    message = {"type": "alert.raise", "id": "b1", "alert_id": BAD_ALERT_ID, "position": HERE}
    message.update(changes)
    return {k: v for k, v in message.items() if v is not None}


@dataclass
class Bystanders:
    """Well-behaved clients connected alongside the one that misbehaves."""

    officer: Client
    crew: Client
    supervisor: Client

    async def close(self) -> None:
        for client in (self.officer, self.crew, self.supervisor):
            await client.close()


async def bystanders(server: RunningServer) -> Bystanders:
    return Bystanders(
        officer=await server.officer(),
        crew=await server.crew(CrewMode.FOOT, north_of(CENTRE, 200)),
        supervisor=await server.supervisor(),
    )


async def stored_alerts(server: RunningServer) -> list[Alert]:
    return await server.rows(Alert)


def assert_error(frame: dict[str, Any], code: str, msg_id: str | None) -> None:
    assert frame["type"] == "error", frame
    assert frame["code"] == code, frame
    assert frame["id"] == msg_id, frame
    assert isinstance(frame["message"], str) and len(frame["message"].strip()) > 10, frame


async def assert_nothing_stored_and_others_carry_on(
    server: RunningServer, people: Bystanders
) -> None:
    assert await stored_alerts(server) == []
    await assert_round_trip(server, people)


async def assert_round_trip(server: RunningServer, people: Bystanders) -> None:
    """A normal alert still reaches the crew, the crew takes it, the supervisor sees it."""
    ack = await people.officer.raise_alert(CENTRE)
    assert ack["type"] == "ack", ack
    alert_id = ack["result"]["alert_id"]
    offer = await people.crew.offer()
    assert offer["alert_id"] == alert_id
    accepted = await people.crew.request("offer.accept", offer_id=offer["id"])
    assert accepted["type"] == "ack", accepted
    await people.supervisor.wait_for(
        lambda f: f["type"] == "alert" and f["alert"]["id"] == alert_id
    )
    # Events reach a client in seq order, so an alert stored by the bad message would have
    # reached the supervisor before this one: having seen this one, it saw no other.
    seen = {f["alert"]["id"] for f in people.supervisor.frames if f["type"] == "alert"}
    assert seen == {alert_id}
    assert [a.id for a in await stored_alerts(server)] == [alert_id]


BAD_MESSAGES = [
    pytest.param(
        '{"type": "alert.raise", "id": "b1", "alert_id": ', "bad_json", None, id="malformed-json"
    ),
    pytest.param(json.dumps(raise_message()).encode(), "bad_json", None, id="binary-frame"),
    pytest.param(raise_message(type="alert.launch"), "unknown_type", "b1", id="unknown-type"),
    pytest.param(
        raise_message(position={"lat": "north", "lon": "west"}, urgent="very"),
        "invalid",
        "b1",
        id="wrong-field-types",
    ),
    pytest.param(raise_message(position={**HERE, "lat": 91}), "invalid", "b1", id="latitude-91"),
    pytest.param([raise_message()], "invalid", None, id="json-array"),
    pytest.param(raise_message(id=None), "invalid", None, id="id-missing"),
    # Strict types: nothing is coerced ("lat": true would have put her at latitude 1).
    pytest.param(raise_message(position={**HERE, "lat": True}), "invalid", "b1", id="lat-true"),
    pytest.param(
        raise_message(position={**HERE, "lon": "-2.716"}), "invalid", "b1", id="lon-string"
    ),
    pytest.param(
        raise_message(position={**HERE, "at": 1700000000}), "invalid", "b1", id="at-epoch"
    ),
    pytest.param(
        raise_message(position={**HERE, "at": "0001-01-01T00:00:00+14:00"}),
        "invalid",
        "b1",
        id="at-out-of-range",
    ),
    pytest.param(
        raise_message(position={**HERE, "at": "2026-11-24T20:00:00"}),
        "invalid",
        "b1",
        id="time-without-zone",
    ),
    pytest.param(raise_message(urgent="yes"), "invalid", "b1", id="urgent-yes"),
    pytest.param(raise_message(type=5), "invalid", "b1", id="type-not-a-string-id-echoed"),
]


@pytest.mark.parametrize(("message", "code", "echoed_id"), BAD_MESSAGES)
async def test_a_bad_message_gets_an_error_and_changes_nothing(
    server: RunningServer, message: Any, code: str, echoed_id: str | None
) -> None:
    people = await bystanders(server)
    sender = await server.officer()
    start = len(sender.frames)

    await sender.ws.send(message if isinstance(message, str | bytes) else json.dumps(message))

    error = await sender.wait_for(lambda f: f["type"] == "error", start=start)
    assert_error(error, code, echoed_id)
    await sender.position(*CENTRE)  # the same socket still works: this is acked
    await assert_nothing_stored_and_others_carry_on(server, people)
    await sender.close()
    await people.close()


@pytest.mark.parametrize(
    ("role", "kind", "body"),
    [
        pytest.param(
            "crew",
            "alert.raise",
            {"alert_id": BAD_ALERT_ID, "position": HERE},
            id="crew-raises-alert",
        ),
        pytest.param(
            "supervisor",
            "alert.raise",
            {"alert_id": BAD_ALERT_ID, "position": HERE},
            id="supervisor-raises-alert",
        ),
        pytest.param(
            "crew", "alert.escalate", {"alert_id": BAD_ALERT_ID}, id="crew-escalates-alert"
        ),
    ],
)
async def test_a_message_for_another_role_is_forbidden(
    server: RunningServer, role: str, kind: str, body: dict[str, Any]
) -> None:
    people = await bystanders(server)
    if role == "crew":  # off duty, so it cannot take the bystanders' alert
        sender = await server.crew(CrewMode.CAR, CENTRE, on_duty=False)
    else:
        sender = await server.supervisor()

    refused = await sender.request(kind, **body)

    assert_error(refused, "forbidden", refused["id"])
    await assert_nothing_stored_and_others_carry_on(server, people)
    await sender.close()
    await people.close()


async def test_a_frame_over_64_kib_closes_the_socket_with_1009(server: RunningServer) -> None:
    people = await bystanders(server)
    sender = await server.officer()

    # Just under the limit the frame is read, and refused only for its long note.
    refused = await sender.request(
        "alert.raise", alert_id=BAD_ALERT_ID, position=HERE, note="x" * 60_000
    )
    assert_error(refused, "invalid", refused["id"])

    await sender.ws.send(json.dumps(raise_message(note="x" * 70_000)))

    await asyncio.wait_for(sender.reader, 5)
    assert sender.ws.close_code == 1009
    assert sender.ws.close_reason
    await assert_nothing_stored_and_others_carry_on(server, people)
    await people.close()


async def test_60_kib_of_nested_brackets_get_invalid_and_the_socket_stays(
    server: RunningServer,
) -> None:
    people = await bystanders(server)
    sender = await server.officer()
    await sender.ws.send("[" * 60_000)
    error = await sender.wait_for(lambda f: f["type"] == "error")
    assert error["code"] == "invalid" and "levels deep" in error["message"]
    await sender.ws.send(
        '{"type":"alert.raise","id":"deep","x":' + "[" * 30_000 + "]" * 30_000 + "}"
    )
    # Refused before parsing: its id cannot be read, so the error names none.
    await sender.wait_for(lambda f: len([e for e in sender.frames if e["type"] == "error"]) == 2)
    assert (await sender.request("sync", last_seq=None))["type"] == "ack"  # still open
    await assert_nothing_stored_and_others_carry_on(server, people)
    await people.close()


async def test_a_flooding_client_is_slowed_then_cut_off(server: RunningServer) -> None:
    people = await bystanders(server)
    flooder = await server.officer()
    limits = server.settings.realtime
    assert (limits.rate_per_s, limits.rate_burst, limits.flood_close_after) == (20, 40, 20)

    with contextlib.suppress(ConnectionClosed):  # the server may hang up before the last
        for i in range(200):
            await flooder.ws.send(json.dumps({"type": "position", "id": f"f{i}", "position": HERE}))

    await asyncio.wait_for(flooder.reader, 30)
    limited = [f for f in flooder.frames if f.get("code") == "rate_limited"]
    assert 0 < len(limited) < limits.flood_close_after
    # The refused message's own id comes back, so a client knows which one was dropped.
    assert_error(limited[0], "rate_limited", f"f{int(limited[0]['id'][1:])}")
    acked = [f for f in flooder.frames if f["type"] == "ack"]  # the sync's ack among them
    assert len(acked) >= limits.rate_burst  # the burst itself was served
    assert flooder.ws.close_code == 1008
    assert flooder.ws.close_reason
    await assert_nothing_stored_and_others_carry_on(server, people)
    await people.close()


async def test_binary_frames_count_against_the_rate_limit_too(server: RunningServer) -> None:
    people = await bystanders(server)
    flooder = await server.officer()
    with contextlib.suppress(ConnectionClosed):  # the server may hang up before the last
        for _ in range(200):
            await flooder.ws.send(b"\x00" * 16)

    await asyncio.wait_for(flooder.reader, 30)
    refused = [f for f in flooder.frames if f.get("code") == "bad_json"]
    limited = [f for f in flooder.frames if f.get("code") == "rate_limited"]
    assert len(refused) >= server.settings.realtime.rate_burst - 1  # the sync took one
    assert 0 < len(limited) and flooder.ws.close_code == 1008
    await assert_nothing_stored_and_others_carry_on(server, people)
    await people.close()

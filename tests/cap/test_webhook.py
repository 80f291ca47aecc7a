"""The CAP webhook against a real receiving HTTP server on loopback: every POST is signed,
messages come in order, a receiver that fails twice still gets the message, a receiver
that does not answer never holds back an alert, and a full queue drops its oldest."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from dispatch.audit.models import AuditRow
from dispatch.cap.webhook import CapWebhook
from dispatch.config import CapSettings
from dispatch.realtime.events import KIND_ALERT, KIND_CREW, StoredEvent
from tests.cap.support import RAISED, WAIT, Delivery, Receiver, cap_schema, make_view, params
from tests.support import CENTRE, RunningServer, fresh_database, settings_for, start_server

SECRET = "webhook-test-secret"


def webhook_settings(receiver: Receiver, **more: Any) -> dict[str, Any]:
    return {
        "cap.webhook_url": receiver.url,
        "cap.webhook_secret": SECRET,
        "cap.webhook_retry_base_s": 0.05,
        "cap.webhook_retry_max_s": 0.2,
        **more,
    }


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    running = await Receiver(SECRET).start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def db_path(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database("sqlite", tmp_path) as url:
        yield url


async def serve(db_url: str, receiver: Receiver, **more: Any) -> RunningServer:
    return await start_server(settings_for(db_url, **webhook_settings(receiver, **more)))


def of_alert(got: list[Delivery], alert_id: str) -> list[Delivery]:
    return [d for d in got if d.incident == alert_id]


async def test_raise_and_close_are_posted_signed_in_order_after_two_failures(
    db_path: str, receiver: Receiver
) -> None:
    receiver.fail_first = 2
    server = await serve(db_path, receiver)
    try:
        sup = await server.supervisor()
        officer = await server.officer()
        first = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
        ack = await sup.request(
            "alert.close", alert_id=first, outcome="false_alarm", reason="x", timeout=WAIT
        )
        assert ack["type"] == "ack", ack
        second = (await officer.raise_alert(CENTRE, urgent=True))["result"]["alert_id"]

        got = await receiver.wait_until(
            lambda got: any(d.incident == second for d in got), "the second alert"
        )
    finally:
        await server.stop()

    assert receiver.bad_signatures == 0
    # The first message was refused twice (503) and delivered on the third attempt.
    assert receiver.attempts[:3] == [f"alert-{first}"] * 3
    for delivery in got:
        cap_schema().validate(delivery.body.decode("utf-8"))
        assert delivery.headers["content-type"].startswith("application/cap+xml")
    firsts = of_alert(got, first)
    assert firsts[0].msg_type == "Alert" and firsts[0].identifier == f"alert-{first}"
    assert firsts[-1].msg_type == "Update"
    assert params(firsts[-1].root)["dispatchState"] == "resolved"
    assert [d.incident for d in got] == [first] * len(firsts) + [second]  # in order
    assert got[-1].msg_type == "Alert" and params(got[-1].root)["urgent"] == "true"
    disclosed = {
        r.object_id
        for r in await server.rows(AuditRow)
        if r.action == "disclosure" and r.actor == "system" and "webhook" in (r.detail or "")
    }
    assert disclosed == {first, second}


async def test_a_receiver_that_does_not_answer_never_holds_back_an_alert(
    db_path: str, receiver: Receiver
) -> None:
    receiver.hold = asyncio.Event()
    server = await serve(db_path, receiver, **{"cap.webhook_timeout_s": 120})
    try:
        officer = await server.officer()
        other = await server.officer()
        first = (await officer.raise_alert(CENTRE))["result"]["alert_id"]
        await receiver.wait_for_attempts(1)  # its POST is in, and not answered

        ack = await other.raise_alert(CENTRE)  # stored and acknowledged all the same

        assert ack["type"] == "ack", ack
        assert receiver.got == []
        receiver.hold.set()
        got = await receiver.wait_until(lambda got: len(got) >= 2)
    finally:
        await server.stop()

    assert [d.incident for d in got[:2]] == [first, ack["result"]["alert_id"]]


def alert_event(seq: int, alert_id: str) -> StoredEvent:
    view = make_view(id=alert_id, raised_at=RAISED + timedelta(seconds=seq))
    view = view.model_copy(update={"updated_at": view.raised_at})
    return StoredEvent(seq, KIND_ALERT, alert_id, view.model_dump_json(), view.officer_id, ())


async def test_a_full_queue_drops_its_oldest_message_and_says_so(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    cap = CapSettings(webhook_url=receiver.url, webhook_secret=SECRET, webhook_queue=2)
    webhook = CapWebhook(cap, db=None, clock=lambda: RAISED)
    with caplog.at_level(logging.WARNING, logger="dispatch.cap"):
        for seq, alert_id in enumerate(["one", "two", "three"], start=1):
            webhook.observe(alert_event(seq, alert_id))
        webhook.observe(StoredEvent(4, KIND_CREW, "c1", "{}", None, ()))  # not an alert
    await webhook.start()
    try:
        got = await receiver.wait_until(lambda got: len(got) >= 2)
    finally:
        await webhook.stop()

    assert [d.incident for d in got] == ["two", "three"]
    assert webhook.dropped == 1
    assert any(
        "dropped the oldest" in r.getMessage() and "one" in r.getMessage() for r in caplog.records
    )

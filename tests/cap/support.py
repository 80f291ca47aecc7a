"""Builders for the CAP tests: alert views, the OASIS schema, reading a message back, and a
receiving HTTP server on loopback that checks each POST's signature."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import uvicorn
import xmlschema

from dispatch.core.lifecycle import officer_status
from schemas.views import AlertState, AlertView

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "data" / "cap" / "CAP-v1.2.xsd"
NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
RAISED = datetime(2026, 11, 28, 20, 15, 7, 250_000, tzinfo=UTC)
WAIT = 30  # seconds: a generous bound on a busy machine, never a measured time

_schema: list[xmlschema.XMLSchema] = []


def cap_schema() -> xmlschema.XMLSchema:
    """The OASIS CAP 1.2 schema (tests/data/cap/NOTICE.md), loaded once."""
    if not _schema:
        _schema.append(xmlschema.XMLSchema(str(SCHEMA_FILE)))
    return _schema[0]


def make_view(**changes: Any) -> AlertView:
    state = AlertState(changes.pop("state", AlertState.UNASSIGNED))
    fields: dict[str, Any] = {
        "id": "a1b2c3d4e5f6",
        "officer_id": "u-officer-7",
        "state": state,
        "status": officer_status(state),
        "urgent": False,
        "crews_needed": 1,
        "category": None,
        "note": None,
        "lat": 52.0565,
        "lon": -2.716,
        "accuracy": 8.0,
        "raised_at": RAISED,
        "updated_at": RAISED,
        "crews": [],
    }
    fields.update(changes)
    return AlertView(**fields)


def text(root: ET.Element, path: str) -> str | None:
    found = root.find(path, NS)
    return None if found is None else found.text


def params(root: ET.Element) -> dict[str, str]:
    return {
        p.findtext("cap:valueName", "", NS): p.findtext("cap:value", "", NS)
        for p in root.iterfind("cap:info/cap:parameter", NS)
    }


def signed(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Delivery:
    body: bytes
    headers: dict[str, str]

    @property
    def root(self) -> ET.Element:
        return ET.fromstring(self.body)

    @property
    def identifier(self) -> str:
        return text(self.root, "cap:identifier") or ""

    @property
    def msg_type(self) -> str:
        return text(self.root, "cap:msgType") or ""

    @property
    def incident(self) -> str:
        return text(self.root, "cap:incidents") or ""


@dataclass
class Receiver:
    """An ASGI app served by uvicorn on a loopback port: a CAP webhook's receiver.

    It answers 401 to a POST whose signature is wrong, 503 to the first `fail_first`
    POSTs, 204 to the rest (kept in `got`, in order). `hold` (when set) keeps each answer
    back until the test sets it."""

    secret: str
    fail_first: int = 0
    hold: asyncio.Event | None = None
    got: list[Delivery] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)  # every POST's identifier header
    bad_signatures: int = 0
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    server: uvicorn.Server | None = None
    task: asyncio.Task[None] | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cap"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        async with self.arrived:
            self.attempts.append(headers.get("x-dispatch-cap-identifier", ""))
            self.arrived.notify_all()
        if self.hold is not None:
            await self.hold.wait()
        given = headers.get("x-dispatch-signature", "")
        if scope["method"] != "POST" or not hmac.compare_digest(given, signed(self.secret, body)):
            self.bad_signatures += 1
            status = 401
        elif self.fail_first > 0:
            self.fail_first -= 1
            status = 503
        else:
            status = 204
            async with self.arrived:
                self.got.append(Delivery(body, headers))
                self.arrived.notify_all()
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def wait_until(
        self, done: Callable[[list[Delivery]], bool], what: str = "the messages"
    ) -> list[Delivery]:
        """The deliveries so far, once `done` says they are enough."""

        async def enough() -> list[Delivery]:
            async with self.arrived:
                await self.arrived.wait_for(lambda: done(self.got))
                return list(self.got)

        try:
            return await asyncio.wait_for(enough(), WAIT)
        except TimeoutError:
            raise AssertionError(
                f"not {what} in {WAIT}s: {len(self.got)} delivered; attempts: {self.attempts}"
            ) from None

    async def wait_for_attempts(self, count: int) -> None:
        async def enough() -> None:
            async with self.arrived:
                await self.arrived.wait_for(lambda: len(self.attempts) >= count)

        await asyncio.wait_for(enough(), WAIT)

    async def start(self) -> Receiver:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self, lifespan="off", log_level="warning")
        self.server = uvicorn.Server(config)
        self.task = asyncio.create_task(self.server.serve(sockets=[sock]))
        for _ in range(500):
            if self.server.started or self.task.done():
                break
            await asyncio.sleep(0.01)
        assert self.server.started, "the receiver did not start"
        return self

    async def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            await asyncio.wait_for(self.task, 10)

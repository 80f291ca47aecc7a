"""The websocket endpoint: authenticate before accepting, admit or ask to come back
later, then read frames until it ends."""

from __future__ import annotations

import asyncio
import contextlib
import random

from fastapi import WebSocket
from fastapi.responses import JSONResponse

from dispatch.auth.sessions import COOKIE_NAME, AuthError
from dispatch.realtime.connection import Connection
from dispatch.services import Services
from dispatch.socket_api import frames
from dispatch.socket_api.protocol import handle
from schemas.common import Role
from schemas.errors import CloseCode, ErrorCode
from schemas.server import Error

BINARY_REFUSED = Error(
    code=ErrorCode.BAD_JSON, message="Send JSON as text frames."
).model_dump_json()


def slow_down(text: str) -> str:
    """The rate-limited error, naming the message's id when it has one."""
    try:
        msg_id = frames.message_id(frames.load(text))
    except frames.FrameError as exc:
        msg_id = exc.msg_id
    message = "Too many messages: slow down."
    return Error(id=msg_id, code=ErrorCode.RATE_LIMITED, message=message).model_dump_json()


def bearer_token(websocket: WebSocket) -> str | None:
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return websocket.cookies.get(COOKIE_NAME)


def retry_after_ms(backlog: int, limit: int) -> int:
    """How long a refused phone waits: longer the deeper the backlog, spread at random so
    that phones refused together do not come back together."""
    base = 300 + 700 * min(2.0, backlog / max(1, limit))
    return int(base * random.uniform(0.5, 1.5))


async def websocket_endpoint(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    d = services.dispatcher
    limits = services.settings.realtime
    try:
        viewer = await services.sessions.viewer(bearer_token(websocket), now=d.clock())
    except AuthError as exc:
        # Refused before the upgrade: HTTP 401 with the code and the reason.
        body = {"code": exc.code, "message": exc.message}
        await websocket.send_denial_response(JSONResponse(body, status_code=401))
        return
    if viewer.role == Role.AUDITOR:
        body = {
            "code": ErrorCode.FORBIDDEN,
            "message": "An auditor has no live view: use the console's Audit view.",
        }
        await websocket.send_denial_response(JSONResponse(body, status_code=403))
        return
    await websocket.accept()
    conn = Connection(websocket, viewer, limits)
    registry = services.registry
    backlog = registry.unsynced
    if viewer.role != Role.OFFICER and backlog >= limits.admit_unsynced:
        # A storm of reconnects: come back a little later, rather than wait in a queue.
        # An officer is never turned away (her alert goes before her sync).
        services.metrics.refused.inc()
        wait = retry_after_ms(backlog, limits.admit_unsynced)
        with contextlib.suppress(Exception):
            await websocket.close(CloseCode.TRY_AGAIN, f"busy: retry_after_ms={wait}")
        return
    registry.add(conn)
    if services.sessions.ended(viewer.session_hash):  # ended while the socket was accepted
        conn.close(CloseCode.SESSION_ENDED, "signed out: sign in again")
    writer = asyncio.create_task(conn.writer())
    connected = False
    try:
        if viewer.crew_id is not None and not conn.closed:
            await d.crews.connected(viewer.crew_id)
            connected = True
        max_chars = limits.max_message_bytes // 4  # below this, no frame can be too big
        while not conn.closed:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            if conn.close_code == CloseCode.SESSION_ENDED:
                break  # signed out, disabled or expired while it waited: not carried out
            text = message.get("text")
            if (
                text is not None
                and len(text) > max_chars
                and len(text.encode("utf-8")) > limits.max_message_bytes
            ):
                conn.close(CloseCode.TOO_BIG, "message too big")
                break
            if not conn.bucket.take():  # binary frames count too
                if conn.flooding(limits.flood_close_after):
                    conn.close(CloseCode.POLICY, "flooding: too many messages")
                    break
                conn.push(slow_down(text or ""))
                continue
            if text is None:
                conn.push(BINARY_REFUSED)
                continue
            await handle(d, conn, text)
            conn.send_now()  # the answer goes now (the writer was not woken for it)
    finally:
        registry.remove(conn)
        conn.close(conn.close_code or CloseCode.NORMAL, "")
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(writer, limits.close_timeout_s)  # cancelled if it times out
        conn.abandon()
        if connected and viewer.crew_id is not None:
            d.crews.disconnected(viewer.crew_id)

"""The websocket endpoint: authenticate before accepting, then read frames until it ends."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import WebSocket
from fastapi.responses import JSONResponse

from dispatch.auth.sessions import COOKIE_NAME, AuthError, authenticate
from dispatch.realtime.connection import Connection
from dispatch.realtime.protocol import handle
from dispatch.services import Services
from schemas.errors import CloseCode, ErrorCode
from schemas.server import Error


def bearer_token(websocket: WebSocket) -> str | None:
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return websocket.cookies.get(COOKIE_NAME)


async def websocket_endpoint(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    d = services.dispatcher
    try:
        viewer = await authenticate(services.db, bearer_token(websocket), now=d.clock())
    except AuthError as exc:
        # Refused before the upgrade: HTTP 401 with the code and the reason.
        body = {"code": exc.code, "message": exc.message}
        await websocket.send_denial_response(JSONResponse(body, status_code=401))
        return
    await websocket.accept()
    limits = services.settings.realtime
    conn = Connection(websocket, viewer, limits)
    services.registry.add(conn)
    writer = asyncio.create_task(conn.writer())
    expiry = asyncio.get_running_loop().call_later(
        max(0.0, (viewer.expires_at - d.clock()).total_seconds()),
        conn.close,
        CloseCode.SESSION_ENDED,
        "session expired: sign in again",
    )
    connected = False
    try:
        if viewer.crew_id is not None:
            await d.crew_connected(viewer.crew_id)
            connected = True
        while not conn.closed:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:
                conn.push(
                    Error(
                        code=ErrorCode.BAD_JSON, message="Send JSON as text frames."
                    ).model_dump_json()
                )
                continue
            if len(text.encode("utf-8")) > limits.max_message_bytes:
                conn.close(CloseCode.TOO_BIG, "message too big")
                break
            if not conn.bucket.take():
                if conn.flooding(limits.flood_close_after):
                    conn.close(CloseCode.POLICY, "flooding: too many messages")
                    break
                conn.push(
                    Error(
                        code=ErrorCode.RATE_LIMITED, message="Too many messages: slow down."
                    ).model_dump_json()
                )
                continue
            await handle(d, conn, text)
    finally:
        expiry.cancel()
        services.registry.remove(conn)
        conn.close(conn.close_code or CloseCode.NORMAL, "")
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(writer, limits.close_timeout_s)
        if connected and viewer.crew_id is not None:
            await d.crew_disconnected(viewer.crew_id)

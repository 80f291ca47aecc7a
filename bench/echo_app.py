"""A bare FastAPI websocket echo, served by uvicorn with exactly the product's settings
(`dispatch.server.uvicorn_config` over the same `Settings`): the anchor load_bench.py
compares the product's latency with. Every text frame on /ws is sent straight back.

    DISPATCH_SERVER_PORT=8123 .venv/bin/python bench/echo_app.py
"""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from dispatch.config import load_settings
from dispatch.server import uvicorn_config

app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict[str, bool]:
    return {"ok": True}


@app.websocket("/ws")
async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        return


if __name__ == "__main__":
    settings = load_settings()
    uvicorn.Server(uvicorn_config(app, settings)).run()

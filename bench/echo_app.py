"""A bare FastAPI websocket echo, served by uvicorn with exactly the product's settings
(`dispatch.server.uvicorn_config` over the same `Settings`): the anchor load_bench.py
compares the product's latency with. Every text frame on /ws is sent straight back.
/metrics gives its event-loop stalls and collector pauses, watched by the product's own
`dispatch.metrics.Metrics` (the same tick and buckets), so that a phase's stalls have an
anchor too. Its collector is left as Python sets it: the echo is bare.

    DISPATCH_SERVER_PORT=8123 .venv/bin/python bench/echo_app.py
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI, Response, WebSocket, WebSocketDisconnect
from prometheus_client import CONTENT_TYPE_LATEST

from dispatch.config import load_settings
from dispatch.metrics import Metrics
from dispatch.server import uvicorn_config

metrics = Metrics()


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    metrics.start()
    try:
        yield
    finally:
        metrics.stop()


app = FastAPI(lifespan=lifespan)


@app.get("/healthz")
async def healthz() -> dict[str, bool]:
    return {"ok": True}


@app.get("/metrics")
async def render_metrics() -> Response:
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)


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

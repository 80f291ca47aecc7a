"""uvicorn settings shared by `dispatch serve`, the tests and the benchmark."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from dispatch.config import Settings


def uvicorn_config(app: FastAPI, settings: Settings, **kwargs: object) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.server.host,
        port=settings.server.port,
        ws="websockets-sansio",
        ws_max_size=settings.realtime.max_message_bytes,
        ws_per_message_deflate=False,
        lifespan="on",
        **kwargs,  # type: ignore[arg-type]
    )

"""uvicorn settings shared by `dispatch serve`, the tests and the benchmark."""

from __future__ import annotations

import logging

import uvicorn
from fastapi import FastAPI

from dispatch.config import Settings


class _DenialIsNotAnError(logging.Filter):
    """uvicorn's sans-I/O websocket protocol logs an ERROR after every handshake refused
    with a denial response (our 401 for a bad token), although the response was sent.
    Refusals are expected traffic; this drops that one line only."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "ASGI callable returned without completing handshake."


def quiet_denials() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DenialIsNotAnError) for f in logger.filters):
        logger.addFilter(_DenialIsNotAnError())


def uvicorn_config(app: FastAPI, settings: Settings, **kwargs: object) -> uvicorn.Config:
    quiet_denials()
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

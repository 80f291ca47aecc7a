"""uvicorn settings shared by `dispatch serve`, the tests and the benchmark."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from dispatch.config import ConfigError, ServerSettings, Settings


class _DenialIsNotAnError(logging.Filter):
    """uvicorn's sans-I/O websocket protocol logs an ERROR after every handshake refused
    with a denial response (our 401 for a bad token), although the response was sent.
    Refusals are expected traffic; this drops that one line only."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "ASGI callable returned without completing handshake."


class _ConnectionChatter(logging.Filter):
    """Two lines go to uvicorn.error for every websocket opened (uvicorn's "[accepted]"
    with the client's address, and the websockets library's "connection open"): 10,000
    lines and about half a second of the event loop when 5,000 phones reconnect at once.
    `logging.connections` keeps them; /metrics shows the connections open either way."""

    LINES = frozenset({'%s - "WebSocket %s" [accepted]', "connection open"})

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg in self.LINES)


def quiet_uvicorn(*, connections: bool = False) -> None:
    """uvicorn.error's filters, for the whole process (the last server started wins)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DenialIsNotAnError) for f in logger.filters):
        logger.addFilter(_DenialIsNotAnError())
    for old in [f for f in logger.filters if isinstance(f, _ConnectionChatter)]:
        logger.removeFilter(old)
    if not connections:
        logger.addFilter(_ConnectionChatter())


def tls_options(server: ServerSettings) -> dict[str, object]:
    """uvicorn's TLS settings, once the pair is known to load (a bad file names its key)."""
    if not server.tls_cert:
        return {}
    for key, path in (("tls_cert", server.tls_cert), ("tls_key", server.tls_key)):
        if not Path(path).is_file():
            raise ConfigError(f"server.{key}: no such file: {path}")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            server.tls_cert, server.tls_key
        )
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            f"server.tls_cert / server.tls_key: not a certificate and its key ({exc})"
        ) from None
    return {"ssl_certfile": server.tls_cert, "ssl_keyfile": server.tls_key}


def proxy_options(server: ServerSettings) -> dict[str, object]:
    """X-Forwarded-For/-Proto are believed from `server.trusted_proxies` only (uvicorn on
    its own believes them from 127.0.0.1)."""
    if not server.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(server.trusted_proxies)}


def uvicorn_config(app: FastAPI, settings: Settings, **kwargs: object) -> uvicorn.Config:
    quiet_uvicorn(connections=settings.logging.connections)
    options: dict[str, object] = {
        "host": settings.server.host,
        "port": settings.server.port,
        "backlog": settings.server.backlog,
        "ws": "websockets-sansio",
        "ws_max_size": settings.realtime.max_message_bytes,
        "ws_per_message_deflate": False,
        "lifespan": "on",
        **tls_options(settings.server),
        **proxy_options(settings.server),
    }
    return uvicorn.Config(app, **{**options, **kwargs})  # type: ignore[arg-type]

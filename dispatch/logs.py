"""Log lines for `dispatch serve`: plain text, or one JSON object per line.

No line carries personal data: SQLAlchemy never logs statement parameters
(`hide_parameters`), and the server's own lines name alerts, offers and crews by id,
never an officer's name or position. A line about one alert or offer says so in
`extra={"alert_id": ..., "offer_id": ...}`, which the JSON lines carry as fields.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

from dispatch.config import LoggingSettings

FIELDS = ("alert_id", "offer_id", "crew_id", "node")
PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line)


def configure(settings: LoggingSettings) -> None:
    """One handler on the root logger; uvicorn's loggers pass their lines to it."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if settings.json_lines else logging.Formatter(PLAIN))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # At debug SQLAlchemy would log the rows it reads (positions, names), and uvicorn and
    # websockets every request header (session tokens, cookies): never.
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    quiet = max(logging.INFO, root.level)
    for name in ("uvicorn.error", "websockets"):
        logging.getLogger(name).setLevel(quiet)


def failure(exc: BaseException) -> str:
    """An exception for a log line: its type and where it was raised, never its message
    (a database error's message can quote a row: an officer's id or position)."""
    frames = traceback.extract_tb(exc.__traceback__)[-4:]
    where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
    return f"{type(exc).__module__}.{type(exc).__qualname__} at {where or 'unknown'}"

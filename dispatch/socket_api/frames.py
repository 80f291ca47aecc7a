"""A client's text frame to a message, or to the error that answers it. Pure: no I/O.

Nothing a client sends raises out of here but `FrameError`, which carries a stable
code, a sentence and the message's id when it had one. Nesting deeper than
`MAX_DEPTH` is refused before the JSON parser sees it: 60 KB of brackets would
otherwise exhaust the parser's recursion.

A valid message (nearly every frame: a position) is parsed in one pass (`parse`);
only a frame that is not one is parsed again (`load`, `validate`) to say exactly why.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ValidationError

from schemas import client as m
from schemas.errors import ErrorCode

MAX_DEPTH = 32  # no message of the protocol nests deeper than a handful of levels
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')  # strings (skipped) and brackets


class FrameError(Exception):
    def __init__(self, code: ErrorCode, message: str, msg_id: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.msg_id = code, message, msg_id


def nesting_depth(text: str) -> int:
    """How deep the brackets outside strings nest (exact; only run on suspect frames)."""
    depth = deepest = 0
    for token in _STRUCTURE.finditer(text):
        mark = token.group()
        if mark in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif mark in "]}":
            depth -= 1
    return deepest


def load(text: str) -> dict[str, Any]:
    """The frame as a JSON object with a string `type`."""
    # Counting brackets is C-speed; only a frame with many is scanned exactly.
    if text.count("[") + text.count("{") > MAX_DEPTH and nesting_depth(text) > MAX_DEPTH:
        raise FrameError(ErrorCode.INVALID, f"The message nests more than {MAX_DEPTH} levels deep.")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise FrameError(ErrorCode.BAD_JSON, "The message is not valid JSON.") from None
    raw_id = data.get("id") if isinstance(data, dict) else None
    msg_id = raw_id[:64] if isinstance(raw_id, str) else None  # echoed whenever a string
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise FrameError(
            ErrorCode.INVALID, "A message is a JSON object with a string `type`.", msg_id
        )
    return data


def parse(text: str) -> m.AnyClientMessage | None:
    """The typed message, strictly, in one pass of pydantic's parser over the text (the
    common case, a valid message); None if it is not one: `load` and `validate` then
    say exactly why."""
    if text.count("[") + text.count("{") > MAX_DEPTH:
        return None  # perhaps too deep: `load` judges it
    try:
        return m.client_message_adapter.validate_json(text, strict=True)
    except (ValueError, TypeError, OverflowError, RecursionError):  # ValidationError too
        return None


def message_id(data: dict[str, Any]) -> str | None:
    raw = data.get("id")
    return raw[:64] if isinstance(raw, str) else None


def validate(kind: str, text: str, msg_id: str | None) -> m.ClientMessage:
    """The typed message of a known `kind`, strictly: no "yes" for true, no "52.1" for a
    number, no epoch seconds for a time."""
    model = m.CLIENT_MESSAGES.get(kind)
    if model is None:
        raise FrameError(ErrorCode.UNKNOWN_TYPE, f"Unknown message type {kind[:40]!r}.", msg_id)
    try:
        return model.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise FrameError(ErrorCode.INVALID, _describe(exc), msg_id) from None
    except (ValueError, TypeError, OverflowError, RecursionError):
        raise FrameError(
            ErrorCode.INVALID, "A value is out of range or of the wrong kind.", msg_id
        ) from None


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "message"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"

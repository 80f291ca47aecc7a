"""The JSON Schema of the whole protocol, for clients written outside Python."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from schemas.api import ApiError, Me, SessionInfo, SignIn
from schemas.client import client_message_adapter
from schemas.server import server_frame_adapter


def protocol_schema() -> dict[str, Any]:
    def one(adapter: TypeAdapter[Any]) -> dict[str, Any]:
        return adapter.json_schema(ref_template="#/$defs/{model}")

    parts = {
        "ClientMessage": one(client_message_adapter),
        "ServerFrame": one(server_frame_adapter),
        "SignIn": one(TypeAdapter(SignIn)),
        "SessionInfo": one(TypeAdapter(SessionInfo)),
        "Me": one(TypeAdapter(Me)),
        "ApiError": one(TypeAdapter(ApiError)),
    }
    defs: dict[str, Any] = {}
    for name, schema in parts.items():
        defs.update(schema.pop("$defs", {}))
        defs[name] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "dispatch websocket protocol and API bodies",
        "description": "Client messages go to /ws; server frames come back. See docs/protocol.md.",
        "oneOf": [{"$ref": "#/$defs/ClientMessage"}, {"$ref": "#/$defs/ServerFrame"}],
        "$defs": defs,
    }

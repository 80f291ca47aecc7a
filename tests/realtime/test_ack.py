"""The ack every message gets is written by hand (it is on the path of every position):
it must be exactly the schema's `Ack`."""

from __future__ import annotations

from dispatch.socket_api.protocol import ack
from schemas.server import Ack


def test_the_hand_written_ack_is_the_schema_s_ack() -> None:
    for result in ({}, {"alert_id": "a1", "state": "dispatching", "created": True, "n": 3}):
        assert Ack.model_validate_json(ack('m-1"x', result)) == Ack(id='m-1"x', result=result)
